"""Full silver build benchmark: CoNLL-2003 English train re-paired with its machine translation.

Runs ``silver-ner``'s build stages twice in fresh processes on one cache folder:

1. cold: empty cache; re-pairing (sentence embeddings), word alignment (multilingual-e5-small,
   the projection method's link settings), projection, filters, the datasets builder and the
   output folder;
2. warm: the same build again; everything comes from the caches.

For each run it records the wall time of each stage, the peak resident memory of the process
(``ru_maxrss``) and the load average of the machine, and writes
``benchmarks/results/bench_build.json``.

    python benchmarks/bench_build.py                      # swa, the whole file (about 14k sentences)
    python benchmarks/bench_build.py --lang yor --limit 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from silver_ner.builders.gold import default_data_root  # $SILVER_NER_DATA or ../shared/data

ROOT = Path(__file__).resolve().parent.parent
DATA = default_data_root()
RESULTS = ROOT / "benchmarks" / "results"


def slice_conll(src: Path, dst: Path, n: int) -> None:
    """The first ``n`` sentences of a CoNLL file (for quick runs with ``--limit``)."""
    out, k = [], 0
    for line in src.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.strip():
            if out and out[-1].strip():
                k += 1
                if k >= n:
                    break
        out.append(line)
    dst.write_text("".join(out).rstrip("\n") + "\n\n", encoding="utf-8")


def phase(args) -> dict:
    """One build in this process; returns stage times, peak memory and the manifest entry."""
    import datasets

    from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec, build

    datasets.disable_progress_bars()
    spec = BuildSpec(args.lang, SourceSpec("translated-conll", {"source_gold": args.source_gold,
                                                                "translated_conll": args.translated}),
                     method=args.method, aligner_precision=args.precision, licenses=["research use (CoNLL-2003)", "Apache-2.0 (T-Projection)"])
    times, cpu = {}, {}
    t0, c0 = time.perf_counter(), time.process_time()
    t, c = t0, c0

    def lap(name):
        nonlocal t, c
        times[name], cpu[name] = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()

    lb = LanguageBuild(spec, cache_dir=args.cache_dir)
    lb.pairs()
    lap("pairs")
    lb.run(progress=args.progress)
    lap("align_project")
    res = build([spec], args.output, cache_dir=args.cache_dir, builds={args.lang: lb})
    lap("output")
    times["total"], cpu["total"] = time.perf_counter() - t0, time.process_time() - c0
    entry = res.manifest["configs"][args.lang]
    aligner = lb._aligner
    return {
        "seconds": {k: round(v, 2) for k, v in times.items()},
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},  # all threads of the process
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "aligner_stats": dict(getattr(aligner, "stats", {}) or {}),
        "sentences_in": entry["stats"]["sentences_in"],
        "sentences_out": entry["stats"]["sentences_out"],
        "projection_rate": entry["stats"]["projection_rate"],
        "entities_per_class": entry["stats"]["entities_per_class"],
        "filters": entry["stats"]["filters"],
        "num_rows": entry["num_rows"],
        "fingerprint": entry["fingerprint"],
        "aligner": entry["aligner"],
        "method": entry["method"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lang", default="swa")
    ap.add_argument("--source-gold", default=os.fspath(DATA / "conll2003_en" / "train.txt"))
    ap.add_argument("--translated", default=None, help="default: tprojection_mt/<lang>.train.txt")
    ap.add_argument("--method", default=None)
    ap.add_argument("--limit", type=int, default=None, help="only the first N translated sentences (N+200 source)")
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--precision", choices=["float32", "bfloat16"], default="float32", help="encoder precision (pairing and alignment)")
    ap.add_argument("--out", default=None, help="results file (default: benchmarks/results/bench_build[_swa_N][_bf16].json)")
    ap.add_argument("--phase", choices=["cold", "warm"], help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", help=argparse.SUPPRESS)
    ap.add_argument("--output", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.translated = args.translated or os.fspath(DATA / "tprojection_mt" / f"{args.lang}.train.txt")
    if args.phase:
        print(json.dumps(phase(args)))
        return
    work = Path(tempfile.mkdtemp(prefix="bench_build_"))
    if args.limit:
        slice_conll(Path(args.translated), work / f"{args.lang}.txt", args.limit)
        slice_conll(Path(args.source_gold), work / "eng.txt", args.limit + 200)
        args.translated, args.source_gold = os.fspath(work / f"{args.lang}.txt"), os.fspath(work / "eng.txt")
    runs = {}
    for name in ("cold", "warm"):
        load_before = os.getloadavg()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cmd = [sys.executable, __file__, "--phase", name, "--lang", args.lang, "--source-gold", args.source_gold,
               "--translated", args.translated, "--cache-dir", os.fspath(work / "cache"),
               "--output", os.fspath(work / f"out-{name}"), "--precision", args.precision] + (["--method", args.method] if args.method else []) + (
               ["--progress"] if args.progress else [])
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"{name} run failed")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        res["process_seconds"] = round(wall, 2)
        res["process_cpu_seconds"] = round(children.ru_utime + children.ru_stime - children_before.ru_utime
                                           - children_before.ru_stime, 2)
        res["loadavg_before"] = [round(x, 2) for x in load_before]
        res["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        runs[name] = res
        print(f"{name}: {res['seconds']} (process {wall:.1f}s, CPU {res['process_cpu_seconds']}s), peak RSS {res['peak_rss_mb']} MB, "
              f"{res['sentences_in']} -> {res['sentences_out']} sentences, load {res['loadavg_before']}", flush=True)
    assert runs["cold"]["fingerprint"] == runs["warm"]["fingerprint"]
    out = {
        "benchmark": "bench_build",
        "command": " ".join(["python", "benchmarks/bench_build.py", *sys.argv[1:]]),
        "lang": args.lang,
        "source_gold": args.source_gold if not args.limit else f"first {args.limit + 200} sentences",
        "translated": args.translated if not args.limit else f"first {args.limit} sentences",
        "machine": {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                    "python": platform.python_version()},
        "runs": runs,
        "warm_speedup": round(runs["cold"]["process_seconds"] / runs["warm"]["process_seconds"], 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bench_build" + (f"_{args.lang}_{args.limit}" if args.limit else "") + ("_bf16" if args.precision == "bfloat16" else "")
    out["precision"] = args.precision
    target = Path(args.out) if args.out else RESULTS / f"{name}.json"
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("lang", "warm_speedup")}))


if __name__ == "__main__":
    main()
