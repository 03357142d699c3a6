"""What tagging long sentences in windows (instead of cutting them at a length limit) changes in F1.

For each MasakhaNER 2.0 test set and each model given, the model tags the test sentences twice with the
project's tagger (builders.tagger.HFTagger):

* ``windowed``: the model's own length limit (512 subwords for multilingual-e5-small), long sentences in
  windows; how evaluation tags today;
* ``cut_at_L``: the input cut at ``L`` subwords (default 128, the training length): the model sees only the
  words that fit, every later word is tagged ``O``, as a tagger that truncates its input at ``L`` did.

Both are scored against the gold test set on the model's types (entity F1, strict IOB2; gold types the model
lacks, e.g. DATE for a PER/ORG/LOC teacher, are left out as evaluation does). Words are NFC-normalised in
both (as the tagger does), so the cut counts differ from ``bench_tagger_windows.py``'s raw-subword counts.

    python benchmarks/bench_truncation_f1.py --model teacher=../runs/teacher [--model student=DIR]
        [--langs yor,fon] [--cut 128] [--out benchmarks/results/truncation_f1.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    from silver_ner.builders.gold import default_data_root, read_gold
    from silver_ner.builders.tagger import HFTagger
    from silver_ner.leaderboard.scoring import score_tags
    from silver_ner.projection.labels import restrict_tags
    from silver_ner.projection.spans import repair_tags

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=DIR", help="model to score (repeatable)")
    ap.add_argument("--langs", default="yor,fon,ibo", help="comma-separated MasakhaNER 2.0 languages (default yor,fon,ibo)")
    ap.add_argument("--cut", type=int, default=128, help="length limit of the cut tagger (default 128)")
    ap.add_argument("--data-root", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "truncation_f1.json")
    args = ap.parse_args(argv)
    root = args.data_root or default_data_root()
    models = dict(m.split("=", 1) for m in args.model)
    rows, started = [], time.perf_counter()
    for name, folder in models.items():
        full = HFTagger(folder, threads=args.threads)
        cut = HFTagger(folder, max_length=args.cut, threads=args.threads)
        keep = {t: t for t in sorted({tag[2:] for tag in full.labels if tag != "O"})}
        for lang in args.langs.split(","):
            path = root / "masakhaner2" / lang / "test.txt"
            if not path.is_file():
                print(f"{lang}: no test set under {root}", file=sys.stderr)
                continue
            gold = read_gold(f"masakhaner2:{lang}:test", root)
            sents = [s.tokens for s in gold.sentences]
            ref, _ = restrict_tags([s.tags for s in gold.sentences], keep)
            windowed = full.predict(sents).tags
            # a tagger that cuts its input: only the words whose subwords all fit in the first `cut` subwords are
            # seen (and tagged), every later word is O
            plans = cut.planner.plan(sents)
            fits = [sum(1 for a, b in zip(p.bounds, p.bounds[1:]) if b <= cut.planner.budget) for p in plans]
            seen = cut.predict([s[:n] for s, n in zip(sents, fits)]).tags
            cut_tags, cut_words, cut_entities = [], 0, 0
            for tags, sent, n, gold_tags in zip(seen, sents, fits, ref):
                cut_tags.append(repair_tags(list(tags) + ["O"] * (len(sent) - n))[0])
                cut_words += len(sent) - n
                cut_entities += sum(1 for g in gold_tags[n:] if g.startswith("B-"))
            f_win = score_tags(windowed, ref)["f1"]
            f_cut = score_tags(cut_tags, ref)["f1"]
            row = {"model": name, "language": lang, "sentences": len(sents), "words": sum(map(len, sents)),
                   f"words_past_{args.cut}": cut_words, f"gold_entities_past_{args.cut}": cut_entities,
                   "f1_windowed": round(100 * f_win, 2), f"f1_cut_at_{args.cut}": round(100 * f_cut, 2),
                   "gain": round(100 * (f_win - f_cut), 2)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"command": "python benchmarks/bench_truncation_f1.py " + " ".join(f"--model {n}=DIR" for n in models)
              + f" --langs {args.langs} --cut {args.cut}",
              "scored_types": "the model's types (gold types it lacks left out)",
              "rows": rows, "seconds": round(time.perf_counter() - started, 1), "machine": platform.machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
