"""Entity-level F1 of every projection method on Europarl (gold English entities projected
onto the human German and Spanish translations), with the default encoder.

Each row is one ``silver-ner eval-projection`` configuration; alignments are cached in
--cache-dir so that rows sharing links align only once. The default method is also run once
through the command line in a fresh process, to measure the time and peak memory (RSS) of a
whole evaluation from a cold cache.

    python benchmarks/bench_projection.py [--data DIR] [--cache-dir DIR] [--layers 6,8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from silver_ner.leaderboard.projection_eval import evaluate_projection, peak_rss_mb
from silver_ner.projection.methods import DEFAULT_METHOD, get_spec

from silver_ner.builders.gold import default_data_root  # $SILVER_NER_DATA or ../shared/data

HERE = Path(__file__).resolve().parent
DATA = default_data_root()

# (method, links, layer, token type; None: the method's own), extra parameters.
# Layer 6 with subword links is how the reference figures were made (SimAlign's defaults).
ROWS = [
    ("heuristic", "itermax", 6, "bpe", {}),
    ("elp", "itermax", 6, "bpe", {}),
    ("naive", "argmax", 6, "bpe", {}),
    ("naive", "itermax", 6, "bpe", {}),
    ("ngram-greedy", "itermax", 6, "bpe", {}),
    ("ngram-exact", "itermax", 6, "bpe", {}),
    ("ngram-ilp", "itermax", 6, "bpe", {}),
    ("ngram-greedy", "itermax", 7, "bpe", {}),
    ("ngram-exact", "itermax", 6, "bpe", {"weighted": True, "unlinked_cost": 0.0}),
    ("ngram-greedy", "itermax", 6, "bpe", {"weighted": True, "unlinked_cost": 0.0}),
    ("ngram-greedy", "itermax", 7, "word", {"weighted": True, "unlinked_cost": 0.0}),
    ("tuned-exact", None, None, None, {}),
    (DEFAULT_METHOD, None, None, None, {}),
]


def warm_cache(en: str, tgt: str, cache_dir: str) -> None:
    """Align once per (layer, token type) with every link method the rows need."""
    from silver_ner.builders.conll import read_conll
    from silver_ner.leaderboard.projection_eval import make_aligner

    needs: dict[tuple, set] = {}
    for method, links, layer, tokens, _ in ROWS:
        spec = get_spec(method)
        key = (layer if layer is not None else spec.layer, tokens or spec.token_type)
        needs.setdefault(key, set()).update(links.split("+") if links else spec.links)
    a, b = read_conll(en), read_conll(tgt)
    pairs = [(x.tokens, y.tokens) for x, y in zip(a.sentences, b.sentences)]
    for (layer, tokens), methods in needs.items():
        make_aligner(None, layer, sorted(methods)[0], cache_dir, tokens).align_methods(pairs, methods=sorted(methods))


def cache_default() -> str:
    from silver_ner.projection.models import cache_root

    return os.path.join(cache_root(), "alignments")


SWEEP_LAYERS = (4, 5, 6, 7, 8, 9)
SWEEP_CONFIGS = [
    ("heuristic", "itermax", {}),
    ("elp", "itermax", {}),
    ("naive", "argmax", {}),
    ("ngram-greedy", "itermax", {}),
    ("ngram-exact", "itermax", {}),
    ("ngram-exact", "itermax", {"weighted": True}),
    ("ngram-exact", "itermax", {"weighted": True, "unlinked_cost": 0.0}),
    ("ngram-greedy", "itermax", {"weighted": True, "unlinked_cost": 0.0}),
    ("ngram-exact", "itermax+argmax", {"weighted": True, "unlinked_cost": 0.0}),
]


def sweep(data: str, langs: list[str], cache_dir: str) -> list[dict]:
    """F1 (all sentences, first half, second half) per layer, token type and configuration."""
    from silver_ner.builders.conll import read_conll
    from silver_ner.leaderboard.projection_eval import make_aligner
    from silver_ner.projection.candidates import combine_alignments
    from silver_ner.projection.methods import get_method
    from silver_ner.projection.metrics import span_scores

    en = read_conll(os.path.join(data, "en.conll"))
    out = []
    for lang in langs:
        tgt = read_conll(os.path.join(data, f"{lang}.conll"))
        pairs = [(a.tokens, b.tokens) for a, b in zip(en.sentences, tgt.sentences)]
        gold = [s.spans for s in tgt.sentences]
        half = len(gold) // 2
        for tokens in ("word", "bpe"):
            for layer in SWEEP_LAYERS:
                links = make_aligner(None, layer, "itermax", cache_dir, tokens).align_methods(pairs, ("itermax", "argmax"))
                for method, spec, params in SWEEP_CONFIGS:
                    fn = get_method(method, **params)
                    names = spec.split("+")
                    pred = []
                    for i, (a, b) in enumerate(zip(en.sentences, tgt.sentences)):
                        al = links[names[0]][i] if len(names) == 1 else combine_alignments([links[m][i] for m in names], use_scores=True)
                        pred.append(fn(a.tokens, a.spans, b.tokens, al).spans)
                    row = {
                        "lang": lang, "token_type": tokens, "layer": layer, "method": method, "links": spec, "params": params,
                        "f1": span_scores(gold, pred)["f1"],
                        "f1_first_half": span_scores(gold[:half], pred[:half])["f1"],
                        "f1_second_half": span_scores(gold[half:], pred[half:])["f1"],
                    }
                    out.append(row)
                    print(f"sweep {lang} {tokens:4s} layer {layer} {method:13s} {spec:15s} {params}  "
                          f"F1 {row['f1']:.4f} ({row['f1_first_half']:.4f}/{row['f1_second_half']:.4f})", flush=True)
    return out


def cold_runs(en: str, data: str, langs: str) -> dict:
    """The default method through the command line, in a fresh process with an empty cache."""
    cold = {}
    for lang in langs.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "silver_ner.cli", "eval-projection", "--source", en,
                   "--target", os.path.join(data, f"{lang}.conll"), "--json", "--cache-dir", tmp]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        cold[lang] = {k: r[k] for k in ("f1", "seconds", "align_seconds", "project_seconds", "peak_rss_mb")}
        print(f"cold run {lang}: {cold[lang]}", flush=True)
    return cold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA / "europarl_gold"))
    ap.add_argument("--cache-dir", default=cache_default())
    ap.add_argument("--langs", default="de,es")
    ap.add_argument("--no-cold-run", action="store_true", help="skip the fresh-process run of the default method")
    ap.add_argument("--cold-run-only", action="store_true", help="only redo the fresh-process runs, updating --out")
    ap.add_argument("--sweep", action="store_true", help="only the tuning sweep over layers 4-9, word and subword links (slow: 12 encodings per language)")
    ap.add_argument("--out", default=str(HERE / "results" / "bench_projection.json"))
    args = ap.parse_args()
    en = os.path.join(args.data, "en.conll")
    if args.sweep:
        rows = sweep(args.data, args.langs.split(","), args.cache_dir)
        out = Path(args.out).with_name("bench_projection_sweep.json")
        out.write_text(json.dumps({"rows": rows, "load_average_at_end": os.getloadavg()}, indent=2) + "\n")
        print(f"wrote {out}")
        return
    if args.cold_run_only:
        report = json.loads(Path(args.out).read_text())
        report["cold_run_default"] = cold_runs(en, args.data, args.langs)
        report["load_average_at_end_of_cold_runs"] = os.getloadavg()
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
        return
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "default_method": DEFAULT_METHOD,
        "rows": [],
    }
    for lang in args.langs.split(","):
        warm_cache(en, os.path.join(args.data, f"{lang}.conll"), args.cache_dir)
    for method, links, layer, tokens, params in ROWS:
        spec = get_spec(method)
        for lang in args.langs.split(","):
            tgt = os.path.join(args.data, f"{lang}.conll")
            r = evaluate_projection(
                [en], tgt, method, layer=layer, align_method=links, token_type=tokens, cache_dir=args.cache_dir, params=params
            )
            row = {
                "method": method,
                "lang": lang,
                "links": r["links"],
                "layer": layer if layer is not None else spec.layer,
                "token_type": r["token_type"],
                "params": r["params"],
                "precision": r["precision"],
                "recall": r["recall"],
                "f1": r["f1"],
                "per_class_f1": {k: v["f1"] for k, v in r["per_class"].items()},
                "unprojected": r["unprojected"],
                "project_seconds": r["project_seconds"],
                "aligner": r["aligner"],
            }
            report["rows"].append(row)
            print(f"{method:14s} {r['links']:8s} {r['token_type']:4s} layer {row['layer']!s:4s} {lang} {params}  P {r['precision']:.4f}  R {r['recall']:.4f}  F1 {r['f1']:.4f}", flush=True)
    if not args.no_cold_run:
        report["cold_run_default"] = cold_runs(en, args.data, args.langs)
    report["peak_rss_mb_this_process"] = peak_rss_mb()
    report["load_average_at_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
