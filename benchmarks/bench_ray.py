"""Local engine against the Ray engine on one Swahili slice, cold and warm, in one run.

The slice: the first ``--limit`` (2,000) sentences of T-Projection's Swahili translation of
CoNLL-2003 train, re-paired with the English (``--limit`` + 200 source sentences). The source stage
(re-pairing) is computed once into a shared pairs cache before the timed runs, so every run
measures the same thing: alignment, projection and the output. Each configuration runs in a fresh
process on its own chunk cache:

* ``local``: the local engine (this process);
* ``ray-1``: the staged Ray Data pipeline with one aligner actor of ``--cpus`` minus the half CPU
  kept for the plain-task stages (prepare, finish);
* ``ray-2``: two aligner actors sharing those CPUs (torch threads follow the share);

each cold (empty chunk cache), then warm (the same command again: every chunk cached). The driver's
peak memory and each actor's are recorded, and Ray's fixed cost (start-up, actor start) is split
out: the time from start to the first finished chunk minus that chunk's own compute time.
Results go to ``benchmarks/results/bench_ray.json``.

    python benchmarks/bench_ray.py [--limit 2000] [--cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_build import DATA, slice_conll  # noqa: E402

RESULTS = HERE / "results"


def spec_for(args):
    from silver_ner.builders.build import BuildSpec, SourceSpec

    return BuildSpec("swa", SourceSpec("translated-conll", {"source_gold": args.source_gold, "translated_conll": args.translated}),
                     aligner_precision=args.precision, source_license="cc-by-4.0")


def run_one(args) -> dict:
    """One build in this process with ``args.engine``; times and memory."""
    import datasets

    from silver_ner.builders.build import LanguageBuild, build
    from silver_ner.builders.ray_engine import TASK_ROOM, RayOptions, build_on_ray
    from silver_ner.builders.resources import peak_rss_mb

    datasets.disable_progress_bars()
    spec = spec_for(args)
    t0 = time.perf_counter()
    out = {"engine": args.engine}
    if args.engine == "local":
        lb = LanguageBuild(spec, cache_dir=args.cache_dir, aligner_options={"num_threads": int(args.cpus)})
        res = build([spec], args.output, cache_dir=args.cache_dir, builds={"swa": lb})
    else:
        actors = int(args.engine.split("-")[1])
        import ray

        ray.init(num_cpus=int(args.cpus), include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - t0
        # the aligner actors share what the plain-task stages leave (TASK_ROOM, see plan_pools)
        per_actor = (args.cpus - TASK_ROOM) / actors
        opts = RayOptions(actors=actors, cpus_per_actor=per_actor)
        res, rep = build_on_ray([spec], args.output, opts, cache_dir=args.cache_dir)
        out.update({"ray_init_seconds": round(t_init, 2), "actors": rep.actors, "cpus_per_actor": opts.cpus_per_actor,
                    "torch_threads_per_actor": opts.threads(), "stages": rep.stages, "stage_seconds": rep.stage_seconds,
                    "chunks_computed": sum(rep.computed.values()),
                    "chunks_cached": sum(rep.cached.values()), "chunk_seconds": [round(x, 2) for x in rep.chunk_seconds],
                    "actor_processes": len(set(rep.pids)),
                    "actor_peak_rss_mb": {str(k): round(v, 1) for k, v in (rep.actor_peak_rss_mb or {}).items()},
                    "ray_pipeline_seconds": round(rep.seconds, 2)})
        ray.shutdown()
    entry = res.manifest["configs"]["swa"]
    out.update({"seconds": round(time.perf_counter() - t0, 2), "driver_peak_rss_mb": round(peak_rss_mb(), 1),
                "rows": entry["num_rows"], "fingerprint": entry["fingerprint"]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--cpus", type=float, default=2.0, help="CPUs for the engines (Ray's num_cpus; local torch threads)")
    ap.add_argument("--precision", default="float32")
    ap.add_argument("--configs", default="local,ray-1,ray-2")
    ap.add_argument("--out", default=str(RESULTS / "bench_ray.json"))
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", help=argparse.SUPPRESS)
    ap.add_argument("--output", help=argparse.SUPPRESS)
    ap.add_argument("--source-gold", help=argparse.SUPPRESS)
    ap.add_argument("--translated", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine:
        print("RESULT " + json.dumps(run_one(args)))
        return
    work = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    src, tgt = work / "eng.txt", work / "swa.txt"
    slice_conll(DATA / "tprojection_mt" / "swa.train.txt", tgt, args.limit)
    slice_conll(DATA / "conll2003_en" / "train.txt", src, args.limit + 200)
    args.source_gold, args.translated = os.fspath(src), os.fspath(tgt)
    shared = work / "pairs-cache"
    from silver_ner.builders.build import LanguageBuild

    t0 = time.perf_counter()
    lb = LanguageBuild(spec_for(args), cache_dir=shared)
    n_pairs = len(lb.pairs())  # re-pairing once; every run copies this pairs cache
    pairs_seconds = time.perf_counter() - t0
    del lb
    env = {**os.environ, "OMP_NUM_THREADS": str(int(args.cpus))}
    runs = []
    for config in args.configs.split(","):
        cache = work / f"cache-{config}"
        shutil.copytree(shared / "pairs", cache / "pairs")
        for phase in ("cold", "warm"):
            out = work / f"out-{config}-{phase}"
            cmd = [sys.executable, __file__, "--engine", config, "--cache-dir", os.fspath(cache), "--output", os.fspath(out),
                   "--source-gold", args.source_gold, "--translated", args.translated, "--cpus", str(args.cpus),
                   "--precision", args.precision]
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"{config} {phase} failed:\n{proc.stderr[-3000:]}")
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
            res = json.loads(line[len("RESULT "):])
            res.update({"config": config, "phase": phase, "process_seconds": round(time.perf_counter() - t, 2)})
            runs.append(res)
            print(json.dumps({k: v for k, v in res.items() if k != "chunk_seconds"}), flush=True)
    fingerprints = {r["fingerprint"] for r in runs}
    by = {(r["config"], r["phase"]): r for r in runs}
    ratios = {f"{c}/{p}": round(by[(c, p)]["process_seconds"] / by[("local", p)]["process_seconds"], 3)
              for c in args.configs.split(",") for p in ("cold", "warm") if ("local", p) in by and (c, p) in by}
    report = {
        "slice": {"lang": "swa", "target_sentences": args.limit, "pairs": n_pairs, "pairs_seconds": round(pairs_seconds, 1)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_end": os.getloadavg()},
        "cpus_given": args.cpus,
        "same_output": len(fingerprints) == 1,
        "runs": runs,
        "ratios_to_local": ratios,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
