"""How many gold test words a tagger that truncates at the length limit would leave untagged, per
language, and how many the windowed tagger (builders.tagger) leaves untagged.

Tokenizer only (no model is run): every MasakhaNER 2.0 test file in the data folder is read as
evaluation reads it (``builders.gold.read_gold``), its words go through the tagger's
normaliser (NFC) and the model's tokenizer, and for each length limit L:

* ``truncated_at_L``: words whose first subword falls past L subwords (special tokens included),
  i.e. the words the old ``predict_tags`` (truncation at L) tagged ``O``;
* ``sentences_over_L``: sentences that do not fit in L subwords;
* ``untagged_windowed_L``: words the windowed tagger gives no prediction at L (words in no
  window, or without any subword at all);
* ``windows_L``: windows the windowed tagger runs at L (one per sentence that fits).

Also the subwords per word with and without NFC (the tokenizer's own normaliser in both), which
is why the tagger composes decomposed tone marks before tokenising.

    python benchmarks/bench_tagger_windows.py [--model DIR] [--max-length 128 --max-length 512]
        [--out benchmarks/results/tagger_windows.json]

``--model`` defaults to the plain offline encoder (``projection.encoder.resolve_encoder(None)``);
any folder with a fast tokenizer works (a trained student, the teacher). Default limits: 128
(the training length, ``--max-length`` of ``silver-ner train``) and the model's own limit.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from silver_ner.builders.gold import default_data_root, read_gold
from silver_ner.builders.tagger import WindowPlanner, model_length_limit

ROOT = Path(__file__).resolve().parent.parent


def truncated_words(plans, limit: int, specials: int) -> tuple[int, int]:
    """Words whose first subword lies past ``limit`` subwords, and sentences that do not fit."""
    room = limit - specials
    words = sents = 0
    for p in plans:
        if p.bounds[-1] > room:
            sents += 1
        words += sum(1 for a, b in zip(p.bounds, p.bounds[1:]) if b == a or a >= room)
    return words, sents


def untagged_windowed(plans, budget: int) -> int:
    """Words that get no prediction from the windowed tagger's plan: no subword at all, or a first
    subword outside the (at most ``budget`` subwords) content of the window the word is labelled from."""
    missing = 0
    for p in plans:
        for i, (a, b) in enumerate(zip(p.bounds, p.bounds[1:])):
            start, end = p.windows[p.owner[i]] if b > a else (0, 0)
            missing += not (start <= i < end and a - p.bounds[start] < budget)
    return missing


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="folder (or Hub id) with a fast tokenizer; default the offline encoder")
    ap.add_argument("--max-length", type=int, action="append", help="length limit(s) in subwords (repeatable)")
    ap.add_argument("--data-root", type=Path, default=None, help="data folder (default $SILVER_NER_DATA or ../shared/data)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tagger_windows.json")
    args = ap.parse_args(argv)

    from transformers import AutoConfig, AutoTokenizer

    from silver_ner.projection.encoder import resolve_encoder

    model = args.model or resolve_encoder(None)
    tok = AutoTokenizer.from_pretrained(model)
    try:
        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError):
        config = None
    own = model_length_limit(tok, config)
    limits = sorted(set(args.max_length or [128, own]))
    root = args.data_root or default_data_root()
    files = sorted(root.glob("masakhaner2/*/test.txt"))
    if not files:
        raise SystemExit(f"no masakhaner2/*/test.txt under {root}")
    planners = {L: WindowPlanner(tok, max_length=L, config=config) for L in limits}
    specials = {L: len(p.prefix) + len(p.suffix) for L, p in planners.items()}
    rows, started = [], time.perf_counter()
    for path in files:
        lang = path.parent.name
        gold = read_gold(f"masakhaner2:{lang}:test", root)  # as evaluation reads it (NFC comes from the planner)
        sents = [s.tokens for s in gold.sentences]
        row = {"language": lang, "sentences": len(sents), "words": sum(map(len, sents))}
        for L in limits:
            plans = planners[L].plan(sents)
            row[f"truncated_at_{L}"], row[f"sentences_over_{L}"] = truncated_words(plans, L, specials[L])
            row[f"untagged_windowed_{L}"] = untagged_windowed(plans, planners[L].budget)
            row[f"windows_{L}"] = sum(len(p.windows) for p in plans)
        plans = planners[limits[-1]].plan(sents)
        nfc_subwords = sum(p.bounds[-1] for p in plans)
        raw = tok(sents, is_split_into_words=True, add_special_tokens=False, verbose=False)["input_ids"]
        raw_subwords = sum(map(len, raw))
        row["subwords_per_word_nfc"] = round(nfc_subwords / row["words"], 3)
        row["subwords_per_word_raw"] = round(raw_subwords / row["words"], 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = {k: sum(r[k] for r in rows) for k in rows[0] if k not in ("language",) and not k.startswith("subwords")}
    result = {
        "command": "python benchmarks/bench_tagger_windows.py" + (f" --model {args.model}" if args.model else "")
                   + "".join(f" --max-length {L}" for L in (args.max_length or [])),
        "model": str(model) if args.model else "default encoder (resolve_encoder(None))",
        "model_length_limit": own,
        "limits": limits,
        "normaliser": "NFC per word, then the tokenizer's own normaliser",
        "rows": rows,
        "total": total,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(total))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
