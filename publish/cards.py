"""Card rendering and the local metadata checks run before anything is uploaded.

Cards are rendered with ``DatasetCard.from_template`` / ``ModelCard.from_template``: the YAML
header comes from the card data object, the body from the Jinja templates in ``cards/``.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from silver_ner.projection.errors import UserError

PAPER_CITATION = """@inproceedings{politov-etal-2025-revisiting,
  title = {Revisiting Projection-based Data Transfer for Cross-Lingual Named Entity Recognition in Low-Resource Languages},
  author = {Politov, Andrei and Shkalikov, Oleh and J{\\"a}kel, Ren{\\'e} and F{\\"a}rber, Michael},
  booktitle = {Proceedings of the Joint 25th Nordic Conference on Computational Linguistics and 11th Baltic Conference on Human Language Technologies (NoDaLiDa/Baltic-HLT 2025)},
  year = {2025},
  eprint = {2501.18750},
  archivePrefix = {arXiv}
}"""

# Hub licence ids and the restrictions they carry. "other" means custom terms, spelled out in the card.
LICENSE_FLAGS: dict[str, frozenset[str]] = {
    "cc0-1.0": frozenset(),
    "mit": frozenset(),
    "apache-2.0": frozenset(),
    "odc-by": frozenset(),
    "cc-by-4.0": frozenset(),
    "cc-by-sa-4.0": frozenset({"sa"}),
    "cc-by-nc-4.0": frozenset({"nc"}),
    "cc-by-nc-sa-4.0": frozenset({"nc", "sa"}),
    "cc-by-nc-nd-4.0": frozenset({"nc", "nd"}),
    "other": frozenset({"nc", "sa", "nd", "custom"}),
}
SIZE_CATEGORIES = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
)
CUSTOM_LICENSE_NAME = "silver-ner-inherited-terms"
# from the least to the most restrictive: of several sources that all allow what the others need,
# a derived work takes the latest in this order
RESTRICTIVENESS = ("cc0-1.0", "mit", "apache-2.0", "odc-by", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
                   "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "other")
FLAG_NAMES = {"nc": "non-commercial", "sa": "share-alike", "nd": "no-derivatives", "custom": "custom terms"}


def size_category(n: int) -> str:
    for bound, name in SIZE_CATEGORIES:
        if n < bound:
            return name
    return "1B<n<10B"


def normalise_license(text: str) -> tuple[str, frozenset[str]]:
    """A source licence as written in a build manifest → (Hub id or description, restriction flags)."""
    raw = str(text).strip()
    key = re.sub(r"[\s_]+", "-", raw.lower())
    if key in LICENSE_FLAGS and key != "other":
        return key, LICENSE_FLAGS[key]
    if "reuters" in key or "conll" in key or "research" in key:
        return raw, frozenset({"nc", "custom"})
    m = re.fullmatch(r"cc-(by(?:-nc)?(?:-sa|-nd)?)-?(\d\.\d)?", key)
    if m:
        cid = f"cc-{m.group(1)}-{m.group(2) or '4.0'}"
        if cid in LICENSE_FLAGS:
            return cid, LICENSE_FLAGS[cid]
    if key in ("public-domain", "europarl", "no-known-copyright-restrictions"):
        return raw, frozenset()
    # unknown terms: keep them, as custom terms the card spells out
    return raw, frozenset({"custom"})


def required_flags(licenses: list[str]) -> frozenset[str]:
    flags: set[str] = set()
    for lic in licenses:
        flags |= normalise_license(lic)[1]
    return frozenset(flags)


def combined_license(items: list[tuple[str, frozenset[str]]]) -> str:
    """The licence of data derived from sources ``(Hub id, restriction flags)``: the most restrictive of them.

    A source licence that already carries every restriction of the others is kept as it is (Apache-2.0
    sources stay ``apache-2.0``, CC BY-NC sources give ``cc-by-nc-4.0``); custom terms give ``other``;
    restrictions spread over several sources give the CC licence that carries them all.
    """
    need = frozenset().union(*(flags for _, flags in items)) if items else frozenset()
    if "custom" in need:
        return "other"
    covering = [lid for lid, flags in items if need <= flags and lid in RESTRICTIVENESS]
    if covering:
        return max(covering, key=RESTRICTIVENESS.index)
    for lid in ("cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0"):
        if need <= LICENSE_FLAGS[lid]:
            return lid
    return "other"


def inherited_license(licenses: list[str]) -> str:
    """The licence of data derived from sources given as licence texts (see :func:`combined_license`)."""
    items = []
    for lic in licenses:
        norm, flags = normalise_license(lic)
        items.append((norm if norm in LICENSE_FLAGS else "other", flags))
    return combined_license(items)


def source_flags(record: dict) -> frozenset[str]:
    """The restrictions of a manifest ``sources`` record's licence (``other``: its recorded restrictions)."""
    lic = record.get("license")
    if lic == "other":
        restrictions = record.get("restrictions")
        return frozenset(restrictions) if restrictions is not None else LICENSE_FLAGS["other"]
    return LICENSE_FLAGS[lic]


def _missing_flags(chosen: str, need: frozenset[str]) -> list[str]:
    if chosen not in LICENSE_FLAGS:
        return [f"license {chosen!r} is not one of {', '.join(sorted(LICENSE_FLAGS))}"]
    missing = need - LICENSE_FLAGS[chosen]
    return [", ".join(FLAG_NAMES[m] for m in sorted(missing))] if missing else []


def license_problems(chosen: str, licenses: list[str]) -> list[str]:
    """Why ``chosen`` is less restrictive than the source licences (empty when it is fine)."""
    problems = _missing_flags(chosen, required_flags(licenses))
    if problems and chosen in LICENSE_FLAGS:
        return [f"license {chosen!r} is less restrictive than the sources ({', '.join(licenses)}): it lacks {problems[0]}"]
    return problems


def source_license_problems(chosen: str, sources: list[dict]) -> list[str]:
    """Why ``chosen`` may not license data derived from ``sources`` (manifest records); empty when it may."""
    need = frozenset().union(*(source_flags(s) for s in sources)) if sources else frozenset()
    problems = _missing_flags(chosen, need)
    if problems and chosen in LICENSE_FLAGS:
        named = ", ".join(f"{s['name']} ({s['license']})" for s in sources if not source_flags(s) <= LICENSE_FLAGS[chosen])
        return [f"license {chosen!r} is less restrictive than the sources ({named}): it lacks {problems[0]}"]
    if not problems and chosen in RESTRICTIVENESS:
        # with the same restrictions, a source licence is not swapped for a laxer one (apache-2.0 → mit)
        laxer = [s for s in sources if s.get("license") in RESTRICTIVENESS
                 and RESTRICTIVENESS.index(chosen) < RESTRICTIVENESS.index(s["license"])]
        if laxer:
            named = ", ".join(f"{s['name']} ({s['license']})" for s in laxer)
            return [f"license {chosen!r} is less restrictive than the sources ({named})"]
    return problems


def template_path(name: str) -> str:
    return str(resources.files("silver_ner.cards") / name)


def check_metadata(meta: dict[str, Any], repo_type: str) -> list[str]:
    """Local checks of a card's YAML header (beyond the Hub's): required keys and their shapes."""
    problems: list[str] = []

    def need(key: str) -> Any:
        if meta.get(key) in (None, "", []):
            problems.append(f"missing {key!r}")
        return meta.get(key)

    lic = need("license")
    if lic == "other" and not meta.get("license_name"):
        problems.append("license 'other' needs 'license_name'")
    if lic is not None and lic not in LICENSE_FLAGS:
        problems.append(f"license {lic!r} is not a Hub licence id")
    langs = need("language") if repo_type == "dataset" else meta.get("language")
    for lang in langs if isinstance(langs, list) else [langs] if langs else []:
        if not (isinstance(lang, str) and re.fullmatch(r"[a-z]{2,3}", lang)):
            problems.append(f"language {lang!r} is not an ISO 639-1/639-3 code")
    if repo_type == "dataset":
        if "token-classification" not in (need("task_categories") or []):
            problems.append("task_categories must contain 'token-classification'")
        if "named-entity-recognition" not in (need("task_ids") or []):
            problems.append("task_ids must contain 'named-entity-recognition'")
        sizes = need("size_categories") or []
        for s in sizes if isinstance(sizes, list) else [sizes]:
            if s not in {name for _, name in SIZE_CATEGORIES} | {"1B<n<10B"}:
                problems.append(f"size_categories {s!r} is not a Hub size category")
        need("pretty_name")
        names = []
        for cfg in need("configs") or []:
            name = cfg.get("config_name") if isinstance(cfg, dict) else None
            files = cfg.get("data_files") if isinstance(cfg, dict) else None
            if not name or not isinstance(files, list) or not all(isinstance(f, dict) and f.get("split") and f.get("path") for f in files):
                problems.append(f"config {name or cfg!r} needs 'config_name' and 'data_files' as split/path items")
            names.append(name)
        infos = need("dataset_info") or []
        info_names = [i.get("config_name") for i in infos if isinstance(i, dict)]
        if sorted(info_names) != sorted(names):
            problems.append(f"dataset_info configs {sorted(map(str, info_names))} differ from configs {sorted(map(str, names))}")
    else:
        if meta.get("pipeline_tag") != "token-classification":
            problems.append("pipeline_tag must be 'token-classification'")
        need("base_model")
        for model in meta.get("model-index") or []:
            for res in model.get("results", []):
                if (res.get("task") or {}).get("type") != "token-classification":
                    problems.append("model-index results must have task type 'token-classification'")
                if not {"f1", "precision", "recall"} <= {m.get("type") for m in res.get("metrics", [])}:
                    problems.append("model-index results need seqeval f1, precision and recall")
    return problems


def require_valid(card, repo_type: str, what: str, licenses: list[str] | None = None, *, sources: list[dict] | None = None) -> None:
    """Raise ``ValueError`` listing every local problem of ``card`` (checked before any upload).

    ``licenses`` (licence texts) or ``sources`` (manifest records): the card's licence must be at
    least as restrictive as each of them.
    """
    meta = card.data.to_dict()
    problems = check_metadata(meta, repo_type)
    if licenses and meta.get("license"):
        problems += license_problems(meta["license"], licenses)
    if sources and meta.get("license"):
        problems += source_license_problems(meta["license"], sources)
    if problems:
        raise UserError(f"{what}: the card is invalid: " + "; ".join(problems))
