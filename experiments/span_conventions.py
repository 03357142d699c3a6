"""How much of a student's error on MasakhaNER 2.0 is an annotation convention rather than a
missed entity: words that open gold spans of a type in the *target-language* annotation (e.g.
Hausa ``jihar Kano``, ``kasar Ingila``: LOC includes the classifier noun) but stay outside the
spans projected from English (``Kano State`` and ``England`` name only the place).

For each language the script

1. reads the trigger words off the MasakhaNER 2.0 **train** split: a word that precedes the
   rest of a gold span of type T at least ``--min-count`` times, inside the span in at least
   ``--min-inside`` of those cases (inside = the span starts with it; outside = it is tagged O
   right before a span of T); only lower-case words count (capitalised ones belong to names);
2. counts the same words in a silver build (inside vs outside of the projected spans);
3. scores a model on the test split as it is and with each predicted span of type T extended
   left over an immediately preceding trigger word of T.

Step 1 uses target-language gold labels, so the second score is an analysis of the convention
gap, not a zero-shot system. With ``--model`` the report also sorts every test error
(:func:`error_breakdown`): predicted spans that are right, right but with other boundaries,
right boundaries with another type, overlapping with another type, or touching no gold span
(spurious), and gold spans no prediction touches (missed); ``--baseline MODEL`` adds the same
for a second model (e.g. direct transfer). ``--conventions-out FILE`` writes the trigger words as a declaration
for ``silver-ner build --span-conventions`` (step 3 is skipped without ``--model``).

    python experiments/span_conventions.py --data ../shared/data --silver ../runs/silver-tpmt \\
        --silver ../runs/silver-mafand --model '../runs/student-all-masked-{lang}' \\
        --lang hau --lang ibo --lang swa --lang yor \\
        --output experiments/results/robustness/span_conventions.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from silver_ner.builders.conll import read_conll
from silver_ner.leaderboard.scoring import score_tags
from silver_ner.projection.labels import restrict_tags
from silver_ner.projection.spans import tags_to_spans

TYPES = ("PER", "ORG", "LOC")


def boundary_counts(sentences, tags) -> Counter:
    """``(word, type, 'inside'|'outside') -> n`` for lower-case words at the left edge of a span:
    the first word of a longer span, or the ``O`` word right before a span. Capitalised words
    are left out: they are part of names, not a convention."""
    c: Counter = Counter()
    for toks, ts in zip(sentences, tags):
        for sp in tags_to_spans(ts):
            if sp.label not in TYPES:
                continue
            if sp.end - sp.start > 1 and toks[sp.start].islower():
                c[(toks[sp.start], sp.label, "inside")] += 1
            if sp.start > 0 and ts[sp.start - 1] == "O" and toks[sp.start - 1].islower():
                c[(toks[sp.start - 1], sp.label, "outside")] += 1
    return c


def triggers(counts: Counter, min_count: int, min_inside: float) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for (word, label, side), n in counts.items():
        if side != "inside":
            continue
        outside = counts.get((word, label, "outside"), 0)
        if n >= min_count and n / (n + outside) >= min_inside:
            out.setdefault(label, []).append(word)
    return {k: sorted(v) for k, v in sorted(out.items())}


def extend_left(tokens, tags, trig: dict[str, list[str]]) -> list[str]:
    tags = list(tags)
    for sp in tags_to_spans(tags):
        words = trig.get(sp.label, ())
        if sp.start > 0 and tags[sp.start - 1] == "O" and tokens[sp.start - 1] in words:
            tags[sp.start - 1] = "B-" + sp.label
            tags[sp.start] = "I-" + sp.label
    return tags


def error_breakdown(tokens, pred_tags, gold_tags, top: int = 15) -> dict:
    """Predicted spans by kind (exact, boundary, type, type+boundary, spurious) and missed gold spans;
    the most frequent spurious span texts, and the share of spurious spans that start with a capital."""
    kinds: Counter = Counter()
    spurious_text: Counter = Counter()
    capital = 0
    for toks, p, g in zip(tokens, pred_tags, gold_tags):
        ps = [sp for sp in tags_to_spans(p) if sp.label in TYPES]
        gs = [sp for sp in tags_to_spans(g) if sp.label in TYPES]
        for sp in ps:
            over = [q for q in gs if q.start < sp.end and sp.start < q.end]
            if any(q.start == sp.start and q.end == sp.end and q.label == sp.label for q in over):
                kinds["exact"] += 1
            elif any(q.start == sp.start and q.end == sp.end for q in over):
                kinds["type"] += 1
            elif any(q.label == sp.label for q in over):
                kinds["boundary"] += 1
            elif over:
                kinds["type+boundary"] += 1
            else:
                kinds["spurious"] += 1
                spurious_text[(" ".join(toks[sp.start:sp.end]), sp.label)] += 1
                capital += toks[sp.start][:1].isupper()
        kinds["missed"] += sum(1 for q in gs if not any(sp.start < q.end and q.start < sp.end for sp in ps))
        kinds["gold"] += len(gs)
    out = dict(kinds)
    out["predicted"] = sum(kinds[k] for k in ("exact", "type", "boundary", "type+boundary", "spurious"))
    out["spurious_capitalised_share"] = round(capital / kinds["spurious"], 3) if kinds["spurious"] else None
    out["top_spurious"] = [[text, label, n] for (text, label), n in spurious_text.most_common(top)]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder holding masakhaner2/<lang>/{train,test}.txt")
    ap.add_argument("--lang", action="append", required=True)
    ap.add_argument("--model", help="model folder; {lang} is filled in (without it, no test scores)")
    ap.add_argument("--baseline", help="a second model folder ({lang} filled in) whose errors are sorted too")
    ap.add_argument("--silver", action="append", default=[], help="silver build folder (repeatable)")
    ap.add_argument("--min-count", type=int, default=20)
    ap.add_argument("--min-inside", type=float, default=0.9)
    ap.add_argument("--output", help="JSON report")
    ap.add_argument("--conventions-out", metavar="FILE", help="write the triggers as a --span-conventions file")
    args = ap.parse_args(argv)

    from silver_ner.students.predict import load_token_classifier, predict_tags
    from silver_ner.students.train import load_dataset_data

    report = {"min_count": args.min_count, "min_inside": args.min_inside, "languages": {}}
    for lang in args.lang:
        root = Path(args.data) / "masakhaner2" / lang
        train = read_conll(root / "train.txt", normalize="NFC")
        gold_counts = boundary_counts([s.tokens for s in train.sentences], [s.tags for s in train.sentences])
        trig = triggers(gold_counts, args.min_count, args.min_inside)
        silver_counts: Counter = Counter()
        for folder in args.silver:
            data = load_dataset_data(folder, [lang])
            silver_counts += boundary_counts(data.sentences, data.tags)
        words = {
            f"{label}:{w}": {
                "gold_train": [gold_counts.get((w, label, "inside"), 0), gold_counts.get((w, label, "outside"), 0)],
                "silver": [silver_counts.get((w, label, "inside"), 0), silver_counts.get((w, label, "outside"), 0)],
            }
            for label, ws in trig.items() for w in ws
        }
        report["languages"][lang] = {"triggers": trig, "inside_outside_counts": words}
        if not args.model:
            continue
        test = read_conll(root / "test.txt", normalize="NFC")
        gold, _ = restrict_tags([s.tags for s in test.sentences], {t: t for t in TYPES})
        tokens = [s.tokens for s in test.sentences]
        model = args.model.format(lang=lang)
        pred = predict_tags(load_token_classifier(model), tokens).tags
        ext = [extend_left(t, p, trig) for t, p in zip(tokens, pred)]
        as_is, extended = score_tags(pred, gold), score_tags(ext, gold)
        report["languages"][lang] |= {
            "model": model,
            "test_f1": as_is["f1"],
            "test_f1_extended": extended["f1"],
            "per_type_f1": {t: as_is["per_type"].get(t, {}).get("f1") for t in TYPES},
            "per_type_f1_extended": {t: extended["per_type"].get(t, {}).get("f1") for t in TYPES},
            "errors": error_breakdown(tokens, pred, gold),
        }
        if args.baseline:
            base = args.baseline.format(lang=lang)
            base_pred = predict_tags(load_token_classifier(base), tokens).tags
            report["languages"][lang]["baseline"] = {"model": base, "test_f1": score_tags(base_pred, gold)["f1"],
                                                     "errors": error_breakdown(tokens, base_pred, gold)}
        print(f"{lang}: triggers {trig}; test F1 {100 * as_is['f1']:.1f} -> {100 * extended['f1']:.1f} with spans extended",
              file=sys.stderr)
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.conventions_out:
        lines = ["# Span conventions read off MasakhaNER 2.0 train labels by experiments/span_conventions.py",
                 f"# (lower-case words opening a gold span at least {args.min_count} times, inside it in at least "
                 f"{args.min_inside:.0%} of those cases). Target-language annotation, so not zero-shot."]
        lines += [f"{lang}\t{label}\t{w}" for lang, r in report["languages"].items()
                  for label, ws in r["triggers"].items() for w in ws]
        Path(args.conventions_out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
