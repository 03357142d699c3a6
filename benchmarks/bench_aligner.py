"""Speed and link agreement of the embedding aligner against SimAlign 0.4, on real data.

Data: the 799 parallel Europarl sentences (English with German and Spanish, gold-tokenised),
i.e. 1,598 sentence pairs. Both aligners use the same encoder (the default
multilingual-e5-small unless ``--model``) and the same layer. SimAlign runs one pair per
forward pass through all layers, so it is timed on the first ``--simalign-pairs`` pairs of
each language; the embedding aligner runs all pairs, and the same subset too, interleaved
with SimAlign block by block (``--block`` pairs) so that both meet the same load. Link
agreement is measured on the subset (links of the full run and of the subset run). The
load average at the start of each timing is recorded: the machine may be shared. Writes ``benchmarks/results/aligner.json``.

    python benchmarks/bench_aligner.py [--layer 6] [--simalign-pairs 100] [--layers 2,4,6,8,10,12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import psutil

from silver_ner.builders.conll import read_conll
from silver_ner.projection.aligner import EmbeddingAligner, link_agreement

from silver_ner.builders.gold import default_data_root  # $SILVER_NER_DATA or ../shared/data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from reference_impls import SimAlignReference  # noqa: E402  (parity reference, not part of the package)
DATA = default_data_root() / "europarl_gold"


def load_pairs(langs):
    en = [s.tokens for s in read_conll(DATA / "en.conll").sentences]
    pairs = {}
    for lang in langs:
        tgt = [s.tokens for s in read_conll(DATA / f"{lang}.conll").sentences]
        if len(tgt) != len(en):
            raise ValueError(f"{DATA}/{lang}.conll has {len(tgt)} sentences, en.conll {len(en)}")
        pairs[lang] = list(zip(en, tgt))
    return pairs


CPU = {"ours": 0.0, "simalign": 0.0}  # process CPU seconds (all threads) per timed side


def timed(fn, side=None):
    load = psutil.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if side is not None:
        CPU[side] += time.process_time() - c0
    return out, time.perf_counter() - t0, load


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="encoder (default: multilingual-e5-small)")
    ap.add_argument("--layer", type=int, default=6)
    ap.add_argument("--method", default="itermax")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--precision", default="float32", choices=("float32", "bfloat16"), help="encoder precision of the embedding aligner")
    ap.add_argument("--langs", default="de,es")
    ap.add_argument("--simalign-pairs", type=int, default=100, help="pairs per language for SimAlign (0 = all)")
    ap.add_argument("--block", type=int, default=50, help="pairs per block when interleaving SimAlign and the aligner")
    ap.add_argument("--layers", default="", help="comma-separated layers to time the embedding aligner on (the SimAlign subset)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "aligner.json"))
    args = ap.parse_args(argv)

    langs = args.langs.split(",")
    by_lang = load_pairs(langs)
    pairs = [p for lang in langs for p in by_lang[lang]]
    k = args.simalign_pairs or len(by_lang[langs[0]])
    subset = [p for lang in langs for p in by_lang[lang][:k]]
    methods = ("argmax", "itermax")

    def fresh(layer=args.layer):
        al = EmbeddingAligner(model=args.model, layer=layer, method=args.method, batch_size=args.batch_size,
                              precision=args.precision)
        (_, load_s, _) = timed(lambda: al.align([(["warm"], ["up"])]))  # loads the model
        al.stats = {key: 0 for key in al.stats}
        return al, load_s

    ours, load_ours = fresh()
    path = ours._path
    print(f"encoder {ours.identity} loaded in {load_ours:.1f}s; {len(pairs)} pairs, SimAlign subset {len(subset)}", flush=True)

    got_all, t_all, load_all = timed(lambda: ours.align_methods(pairs, methods))
    print(f"embedding aligner, all {len(pairs)} pairs: {t_all:.1f}s = {len(pairs) / t_all:.1f} pairs/s (load avg {load_all:.1f})", flush=True)
    stats_all = dict(ours.stats)

    # the same pairs through both, interleaved in blocks so that both see the same machine load
    reference = SimAlignReference(path, layer=args.layer, methods=methods)
    got_sub = {m: [] for m in methods}
    ref = {m: [] for m in methods}
    t_sub = t_ref = 0.0
    loads = []
    for b in range(0, len(subset), args.block):
        block = subset[b : b + args.block]
        r, t, load = timed(lambda: reference(block), "simalign")
        o, t2, _ = timed(lambda: ours.align_methods(block, methods), "ours")
        t_ref, t_sub = t_ref + t, t_sub + t2
        loads.append(load)
        for m in methods:
            ref[m] += r[m]
            got_sub[m] += o[m]
    load_ref = load_sub = sum(loads) / len(loads)
    print(f"embedding aligner, subset {len(subset)} pairs in blocks of {args.block}: {t_sub:.1f}s = {len(subset) / t_sub:.1f} pairs/s", flush=True)
    print(f"SimAlign 0.4, subset {len(subset)} pairs: {t_ref:.1f}s = {len(subset) / t_ref:.1f} pairs/s (load avg {load_ref:.1f})", flush=True)
    n_all = len(pairs)
    index_of = {}
    for lang in langs:  # positions of the subset inside the full run
        base = langs.index(lang) * len(by_lang[langs[0]])
        index_of[lang] = list(range(base, base + k))
    flat_idx = [i for lang in langs for i in index_of[lang]]
    agreement = {}
    for m in methods:
        agreement[m] = {
            "full_run_vs_simalign": link_agreement([got_all[m][i] for i in flat_idx], ref[m]),
            "subset_run_vs_simalign": link_agreement(got_sub[m], ref[m]),
            "by_language": {
                lang: link_agreement([got_all[m][i] for i in index_of[lang]], ref[m][j * k : (j + 1) * k])
                for j, lang in enumerate(langs)
            },
        }
        print(f"agreement {m}: {agreement[m]['full_run_vs_simalign']}", flush=True)

    per_layer = {}
    for layer in [int(x) for x in args.layers.split(",") if x.strip()]:
        al, _ = fresh(layer)
        _, t, load = timed(lambda: al.align(subset))
        per_layer[str(layer)] = {"seconds": round(t, 2), "pairs_per_s": round(len(subset) / t, 1), "load_avg": round(load, 2)}
        print(f"layer {layer}, subset: {t:.1f}s = {len(subset) / t:.1f} pairs/s", flush=True)

    result = {
        "command": "python benchmarks/bench_aligner.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "encoder": ours.identity_for(args.method).split(":layer")[0],
        "layer": args.layer,
        "method": args.method,
        "batch_size": args.batch_size,
        "precision": args.precision,
        "pairs": n_all,
        "simalign_subset_pairs": len(subset),
        "block": args.block,
        "ours_all": {"seconds": round(t_all, 2), "pairs_per_s": round(n_all / t_all, 1), "load_avg": round(load_all, 2)},
        "ours_subset": {"seconds": round(t_sub, 2), "pairs_per_s": round(len(subset) / t_sub, 1), "load_avg": round(load_sub, 2)},
        "simalign_subset": {"seconds": round(t_ref, 2), "pairs_per_s": round(len(subset) / t_ref, 1), "load_avg": round(load_ref, 2)},
        "speedup_all_vs_simalign": round((n_all / t_all) / (len(subset) / t_ref), 2),
        "speedup_same_pairs": round(t_ref / t_sub, 2),
        "cpu_seconds_same_pairs": {k: round(v, 2) for k, v in CPU.items()},
        "cpu_speedup_same_pairs": round(CPU["simalign"] / CPU["ours"], 2),
        "agreement": agreement,
        "stats_all_pairs": stats_all,
        "model_load_seconds": round(load_ours, 2),
        "per_layer": per_layer,
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": __import__("torch").get_num_threads(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("ours_all", "simalign_subset", "speedup_all_vs_simalign", "speedup_same_pairs", "cpu_speedup_same_pairs")}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
