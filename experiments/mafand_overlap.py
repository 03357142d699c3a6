"""Leakage check for the MAFAND students: how many MAFAND-MT training sentences (target side)
also occur in MasakhaNER 2.0 test, dev or train, compared after lower-casing and removing
everything but letters and digits (so tokenisation differences do not hide a match).

    python experiments/mafand_overlap.py --data ../shared/data --lines 6000 \
        --output experiments/results/robustness/mafand_overlap.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

from silver_ner.builders.conll import read_conll

_NON_WORD = re.compile(r"\W+")


def key(text: str) -> str:
    return _NON_WORD.sub("", unicodedata.normalize("NFC", text).lower())


def conll_sentences(path: Path) -> list[str]:
    return [" ".join(sent.tokens) for sent in read_conll(path).sentences]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--langs", default="hau,ibo,swa,yor")
    ap.add_argument("--lines", type=int, default=6000, help="first N MAFAND training lines (as the students use)")
    ap.add_argument("--output")
    args = ap.parse_args(argv)
    data = Path(args.data)
    report = {}
    for lang in args.langs.split(","):
        mafand = data / "mafand" / f"en-{lang}" / f"train.{lang}"
        if not mafand.exists():
            print(f"{mafand}: missing, skipped", file=sys.stderr)
            continue
        with open(mafand, encoding="utf-8") as fh:
            lines = [key(x) for _, x in zip(range(args.lines), fh)]
        row = {"mafand_lines": len(lines)}
        for split in ("test", "dev", "train"):
            gold = {key(s) for s in conll_sentences(data / "masakhaner2" / lang / f"{split}.txt")}
            row[f"in_masakhaner2_{split}"] = sum(1 for x in lines if x and x in gold)
        report[lang] = row
        print(lang, row)
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
