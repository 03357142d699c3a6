"""NER-model candidates against n-gram candidates on Europarl, through ``silver-ner build``.

Gold English entities of Europarl are projected onto the human German and Spanish translations
by the build (``--parallel-conll``), and the rows are scored against the target gold
(``--reference``). Candidate spans come either from every target n-gram or from a
token-classification model run on the target sentences (``--candidates-from``; its classes are
ignored), optionally united with the n-grams. The model is the teacher trained on CoNLL-2003
English (PER/ORG/LOC; the CoNLL copy has no MISC), so MISC is left out on both sides, as the
paper does for its NER-model candidates: entity-level exact-span F1 over PER, ORG and LOC.

    python benchmarks/bench_candidates.py --model RUNS/teacher [--data DIR] [--langs de,es]

Results: ``benchmarks/results/bench_candidates.json`` and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from silver_ner.builders.gold import default_data_root

HERE = Path(__file__).resolve().parent

# label, method, layer, token type, method parameters, candidates from the model, union with n-grams
ROWS = [
    ("n-gram greedy (paper; layer 6)", "ngram-greedy", 6, "bpe", {}, False, False),
    ("NER-model candidates, greedy (paper; layer 6)", "spans-greedy", 6, "bpe", {}, True, False),
    ("NER-model + n-gram candidates, greedy (layer 6)", "spans-greedy", 6, "bpe", {}, True, True),
    ("tuned-greedy (default; n-grams, layer 7)", "tuned-greedy", None, None, {}, False, False),
    ("NER-model candidates, tuned scoring (layer 7)", "spans-greedy", 7, "bpe",
     {"weighted": True, "unlinked_cost": 0.0}, True, False),
    ("NER-model + n-gram candidates, tuned scoring (layer 7)", "spans-greedy", 7, "bpe",
     {"weighted": True, "unlinked_cost": 0.0}, True, True),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="token-classification model folder (the CoNLL-2003 teacher)")
    ap.add_argument("--data", default=None, help="folder with en.conll, de.conll, es.conll (default: europarl_gold in the data root)")
    ap.add_argument("--langs", default="de,es")
    ap.add_argument("--cache-dir", default=None, help="build cache (default: a temporary folder)")
    ap.add_argument("--out", default=str(HERE / "results" / "bench_candidates.json"))
    args = ap.parse_args()

    from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec
    from silver_ner.builders.corpora import portable_path

    data = Path(args.data) if args.data else default_data_root() / "europarl_gold"
    cache_dir = Path(args.cache_dir or tempfile.mkdtemp(prefix="bench_candidates_"))
    codes = {"de": "deu", "es": "spa"}
    rows = []
    for lang in args.langs.split(","):
        tgt = os.fspath(data / f"{lang}.conll")
        source = SourceSpec("parallel-conll", {"source_gold": os.fspath(data / "en.conll"), "target_conll": tgt})
        for label, method, layer, tokens, params, cands, union in ROWS:
            spec = BuildSpec(codes[lang], source, method=method, method_params=dict(params), layer=layer, token_type=tokens,
                             labels="PER,ORG,LOC", validation_fraction=0,
                             candidates_model=args.model if cands else None, candidates_union=union)
            t0 = time.perf_counter()
            lb = LanguageBuild(spec, cache_dir=cache_dir)
            score = lb.score(tgt)
            rows.append({"row": label, "lang": lang, "method": method, "layer": layer, "token_type": tokens,
                         "params": params, "candidates_from_model": cands, "union_ngrams": union,
                         "precision": score["precision"], "recall": score["recall"], "f1": score["f1"],
                         "f1_per_class": score["f1_per_class"], "seconds": round(time.perf_counter() - t0, 1)})
            print(f"{lang} {label:<58} P {score['precision']:.3f} R {score['recall']:.3f} F1 {score['f1']:.3f}", flush=True)
    report = {"data": "europarl_gold", "model": portable_path(os.path.abspath(args.model)), "labels": ["PER", "ORG", "LOC"],
              "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    langs = args.langs.split(",")
    print("\n| candidates and scoring | " + " | ".join(langs) + " |\n|---|" + "---:|" * len(langs))
    for label, *_ in ROWS:
        f1 = {r["lang"]: r["f1"] for r in rows if r["row"] == label}
        print(f"| {label} | " + " | ".join(f"{f1[x]:.3f}" for x in langs) + " |")


if __name__ == "__main__":
    main()
