"""Agreement of our projected labels with T-Projection's labels on the same translations.

T-Projection's files (``tprojection_mt/<lang>.train.txt``) are CoNLL-2003 English train,
machine-translated and labelled by T-Projection. We re-pair each file with the English
gold, project the English labels with our default method (multilingual-e5-small links) and
compare, sentence by sentence, our target spans with T-Projection's: entity-level precision,
recall and F1 with exact spans, taking T-Projection's labels as the reference. This is
context, not accuracy: neither side is gold.

    python benchmarks/bench_tprojection_agreement.py                 # 6 languages, first 500 sentences each
    python benchmarks/bench_tprojection_agreement.py --langs swa --limit 0   # a whole file

Writes ``benchmarks/results/bench_tprojection_agreement.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.fspath(Path(__file__).resolve().parent))
from bench_build import DATA, RESULTS, slice_conll  # noqa: E402

LANGS = ("hau", "ibo", "nya", "sna", "swa", "yor")


def agreement(lang: str, source_gold: str, translated: str, cache_dir: str, method: str | None) -> dict:
    from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec
    from silver_ner.builders.conll import read_conll
    from silver_ner.projection.metrics import span_scores
    from silver_ner.projection.spans import tags_to_spans

    spec = BuildSpec(lang, SourceSpec("translated-conll", {"source_gold": source_gold, "translated_conll": translated}),
                     method=method)
    t0 = time.perf_counter()
    lb = LanguageBuild(spec, cache_dir=cache_dir)
    lb.run()
    seconds = time.perf_counter() - t0
    theirs_file = read_conll(translated)
    by_line = {s.line: s for s in theirs_file.sentences}
    names = spec.label_names
    ours, theirs, other_types = [], [], {}
    for _, _, row in lb.rows(range(lb.num_chunks())):
        sent = by_line[json.loads(row["origin"])["target_line"]]
        assert sent.tokens == row["tokens"], f"{lang}: tokens differ at line {sent.line}"
        ref = []
        for sp in tags_to_spans(sent.tags):
            if sp.label in spec.labels:
                ref.append(sp)
            else:
                other_types[sp.label] = other_types.get(sp.label, 0) + 1
        theirs.append(ref)
        ours.append(tags_to_spans([names[t] for t in row["ner_tags"]]))
    sc = span_scores(theirs, ours)
    stats = lb.stats()
    return {
        "sentences_translated": len(theirs_file),
        "sentences_compared": len(ours),
        "entities_ours": sc["predicted"],
        "entities_tprojection": sum(len(x) for x in theirs),
        "precision": round(sc["precision"], 4),
        "recall": round(sc["recall"], 4),
        "f1": round(sc["f1"], 4),
        "f1_per_class": {k: round(v["f1"], 4) for k, v in sc["per_class"].items()},
        "tprojection_types_ignored": other_types,
        "projection_rate": stats["projection_rate"],
        "source_dropped": stats["source_dropped"],
        "filtered": {k: v for k, v in stats["filters"].items() if v},
        "aligner": lb.aligner_identity,
        "method": spec.method_name,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--langs", nargs="+", default=list(LANGS))
    ap.add_argument("--limit", type=int, default=500, help="first N translated sentences per language (0: all)")
    ap.add_argument("--method", default=None)
    ap.add_argument("--cache-dir", default=None, help="default: a fresh temporary folder")
    args = ap.parse_args()
    import datasets

    datasets.disable_progress_bars()
    work = Path(tempfile.mkdtemp(prefix="bench_tproj_"))
    cache_dir = args.cache_dir or os.fspath(work / "cache")
    gold = DATA / "conll2003_en" / "train.txt"
    results = {}
    for lang in args.langs:
        translated = DATA / "tprojection_mt" / f"{lang}.train.txt"
        src = gold
        if args.limit:
            slice_conll(translated, work / f"{lang}.txt", args.limit)
            slice_conll(gold, work / f"eng-{lang}.txt", args.limit + 200)
            translated, src = work / f"{lang}.txt", work / f"eng-{lang}.txt"
        load = os.getloadavg()
        results[lang] = agreement(lang, os.fspath(src), os.fspath(translated), cache_dir, args.method)
        results[lang]["loadavg_before"] = [round(x, 2) for x in load]
        r = results[lang]
        print(f"{lang}: F1 {r['f1']:.3f} (P {r['precision']:.3f} R {r['recall']:.3f}) on {r['sentences_compared']} "
              f"sentences, projection rate {r['projection_rate']}, {r['seconds']}s", flush=True)
    f1s = [r["f1"] for r in results.values()]
    out = {
        "benchmark": "bench_tprojection_agreement",
        "command": " ".join(["python", "benchmarks/bench_tprojection_agreement.py", *sys.argv[1:]]),
        "limit": args.limit or "all",
        "machine": {"cpus": os.cpu_count()},
        "results": results,
        "mean_f1": round(sum(f1s) / len(f1s), 4) if f1s else None,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_tprojection_agreement.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"mean F1 {out['mean_f1']}")


if __name__ == "__main__":
    main()
