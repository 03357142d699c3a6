"""Time a dataset release against the local Hub-compatible test server: plan, publish, load, no-op republish.

    python benchmarks/bench_publish.py [--rows 5000] [--configs 2]

Writes benchmarks/results/publish.json.  The server runs in this process (loopback,
in-memory storage), so the figures are the client-side cost of a release, not network time.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="train sentences per config (validation: a tenth)")
    parser.add_argument("--configs", type=int, default=2)
    args = parser.parse_args()

    import os

    import psutil
    from hub_server import DEFAULT_ROWS, running_hub, write_built_dataset

    rng = random.Random(0)
    pool = [s for items in DEFAULT_ROWS.values() for s in items]

    def sentences(n):
        out = []
        for _ in range(n):
            parts = [rng.choice(pool) for _ in range(5)]  # ~17 tokens
            out.append(([t for p in parts for t in p[0]], [g for p in parts for g in p[1]]))
        return out

    langs = ["swa", "yor", "hau", "ibo", "zul", "lug"][: args.configs]
    rows = {lang: {"train": sentences(args.rows), "validation": sentences(max(1, args.rows // 10))} for lang in langs}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        built = write_built_dataset(tmp / "built", langs=langs, rows=rows)
        hub_gen = running_hub(tmp / "hf-home")
        hub = next(hub_gen)
        from datasets import load_dataset

        from silver_ner.publish.dataset import plan_dataset, publish_dataset

        timings = {}
        t = time.perf_counter()
        plan = plan_dataset(built, "silver-org/bench", "1.0.0")
        timings["plan_s"] = time.perf_counter() - t
        t = time.perf_counter()
        result, _ = publish_dataset(built, "silver-org/bench", "1.0.0")
        timings["publish_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for lang in langs:
            ds = load_dataset("silver-org/bench", lang, revision="v1.0.0")
            assert ds["train"].num_rows == args.rows
        timings["load_all_configs_s"] = time.perf_counter() - t
        t = time.perf_counter()
        again, _ = publish_dataset(built, "silver-org/bench", "1.0.0")
        timings["republish_noop_s"] = time.perf_counter() - t
        assert again.status == "unchanged"
        requests = len(hub.log)
        uploaded = sum(len(b) for b in hub.lfs_store.values())
        hub_gen.close()
    sentences_total = sum(args.rows + max(1, args.rows // 10) for _ in langs)
    out = {
        "command": f"python benchmarks/bench_publish.py --rows {args.rows} --configs {args.configs}",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1m": round(os.getloadavg()[0], 2), "ram_gib": round(psutil.virtual_memory().total / 2**30, 1)},
        "configs": args.configs,
        "sentences": sentences_total,
        "parquet_bytes_uploaded": uploaded,
        "http_requests": requests,
        **{k: round(v, 2) for k, v in timings.items()},
        "publish_sentences_per_s": round(sentences_total / timings["publish_s"], 1),
        "noop_vs_publish": round(timings["republish_noop_s"] / timings["publish_s"], 3),
        "status": result.status,
        "files": plan.files,
    }
    print(json.dumps(out, indent=1))
    dest = ROOT / "benchmarks" / "results" / "publish.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
