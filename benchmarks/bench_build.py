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
    python benchmarks/bench_build.py --compare            # the build's defaults against earlier settings

``--compare`` runs, one after another in fresh processes with their own caches, the settings
``float32/e5`` (the defaults until the aligner's pass was shared: float32 encoders, re-pairing
with multilingual-e5-small's 12 layers), ``bfloat16/e5`` and ``auto/aligner`` (the defaults of
``silver-ner build``: precision picked for the machine, re-pairing with the aligner's own pass),
and compares their sentence pairs and rows (``benchmarks/results/bench_build_compare.json``).
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
from silver_ner.projection.models import cpu_has_native_bf16

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
                     method=args.method, aligner_precision=args.precision, pairing_embedder=args.pairing_embedder,
                     licenses=["research use (CoNLL-2003)", "Apache-2.0 (T-Projection)"])
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
    ap.add_argument("--precision", choices=["float32", "bfloat16", "auto"], default="auto",
                    help="encoder precision (pairing and alignment); default auto, as silver-ner build")
    ap.add_argument("--pairing-embedder", choices=["aligner", "e5"], default="aligner",
                    help="re-pairing sentence vectors; default aligner, as silver-ner build")
    ap.add_argument("--compare", action="store_true", help="run float32/e5, bfloat16/e5 and auto/aligner and compare them")
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
    if args.compare:
        return compare(args, work)
    runs = run_config(args, work)
    out = {
        "benchmark": "bench_build",
        "command": " ".join(["python", "benchmarks/bench_build.py", *sys.argv[1:]]),
        **describe(args),
        "runs": runs,
        "warm_speedup": round(runs["cold"]["process_seconds"] / runs["warm"]["process_seconds"], 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bench_build" + (f"_{args.lang}_{args.limit}" if args.limit else "") + ("_bf16" if args.precision == "bfloat16" else "")
    out["precision"] = args.precision
    out["pairing_embedder"] = args.pairing_embedder
    target = Path(args.out) if args.out else RESULTS / f"{name}.json"
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("lang", "warm_speedup")}))


def describe(args) -> dict:
    from silver_ner.builders.corpora import portable_path

    return {
        "lang": args.lang,
        "source_gold": portable_path(args.source_gold) if not args.limit else f"first {args.limit + 200} sentences",
        "translated": portable_path(args.translated) if not args.limit else f"first {args.limit} sentences",
        "machine": {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                    "python": platform.python_version(), "cpu_bf16": cpu_has_native_bf16()},
    }


def run_config(args, work: Path, tag: str = "") -> dict:
    """Cold then warm build of one setting in fresh processes on the cache ``work/cache<tag>``."""
    runs = {}
    for name in ("cold", "warm"):
        load_before = os.getloadavg()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cmd = [sys.executable, __file__, "--phase", name, "--lang", args.lang, "--source-gold", args.source_gold,
               "--translated", args.translated, "--cache-dir", os.fspath(work / f"cache{tag}"),
               "--output", os.fspath(work / f"out{tag}-{name}"), "--precision", args.precision,
               "--pairing-embedder", args.pairing_embedder] + (["--method", args.method] if args.method else []) + (
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
        print(f"{tag or 'build'} {name}: {res['seconds']} (process {wall:.1f}s, CPU {res['process_cpu_seconds']}s), peak RSS {res['peak_rss_mb']} MB, "
              f"{res['sentences_in']} -> {res['sentences_out']} sentences, load {res['loadavg_before']}", flush=True)
    assert runs["cold"]["fingerprint"] == runs["warm"]["fingerprint"]
    return runs


COMPARED = (("float32", "e5"), ("bfloat16", "e5"), ("auto", "aligner"))


def _pairs_of(cache: Path) -> set[tuple[int, int]]:
    """(source line, target line) of every sentence pair the re-pairing kept (the source stage's cache file)."""
    (path,) = sorted((cache / "pairs").glob("*.json"))
    return {(p["origin"]["source_line"], p["origin"]["target_line"]) for p in json.loads(path.read_text())["pairs"]}


def _rows_of(out: Path, lang: str) -> dict[str, tuple]:
    from datasets import load_from_disk

    dd = load_from_disk(os.fspath(out / lang))
    return {r["id"]: (tuple(r["tokens"]), tuple(r["ner_tags"])) for split in dd for r in dd[split]}


def compare(args, work: Path) -> None:
    """The settings of :data:`COMPARED` one after another; times, and agreement of pairs and rows with the first."""
    results, pairs, rows = {}, {}, {}
    for precision, embedder in COMPARED:
        args.precision, args.pairing_embedder = precision, embedder
        tag = f"-{precision}-{embedder}"
        results[tag[1:]] = run_config(args, work, tag)
        pairs[tag[1:]] = _pairs_of(work / f"cache{tag}")
        rows[tag[1:]] = _rows_of(work / f"out{tag}-cold", args.lang)
    base = next(iter(results))
    agreement = {}
    for name in results:
        same_rows = sum(rows[name].get(k) == v for k, v in rows[base].items())
        agreement[name] = {"pairs": len(pairs[name]), "pairs_shared_with_" + base: len(pairs[name] & pairs[base]),
                           "rows": len(rows[name]), "rows_identical_to_" + base: same_rows}
    out = {
        "benchmark": "bench_build --compare",
        "command": " ".join(["python", "benchmarks/bench_build.py", *sys.argv[1:]]),
        **describe(args),
        "settings": {name: {"cold_seconds": r["cold"]["process_seconds"], "warm_seconds": r["warm"]["process_seconds"],
                            "cold_stage_seconds": r["cold"]["seconds"], "cold_peak_rss_mb": r["cold"]["peak_rss_mb"],
                            "aligner": r["cold"]["aligner"], "entities_per_class": r["cold"]["entities_per_class"],
                            "num_rows": r["cold"]["num_rows"], "aligner_stats": r["cold"]["aligner_stats"],
                            "loadavg_before": r["cold"]["loadavg_before"],
                            "cold_ratio_to_" + base: round(r["cold"]["process_seconds"] / results[base]["cold"]["process_seconds"], 3),
                            **agreement[name]}
                     for name, r in results.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = Path(args.out) if args.out else RESULTS / ("bench_build_compare" + (f"_{args.lang}_{args.limit}" if args.limit else "") + ".json")
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    for name, r in out["settings"].items():
        print(name, {k: r[k] for k in ("cold_seconds", "warm_seconds", "cold_ratio_to_" + base)}, agreement[name], flush=True)


if __name__ == "__main__":
    main()
