"""Leakage check for the MAFAND students: how many MAFAND-MT training sentences (target side)
also occur in MasakhaNER 2.0 test, dev or train, compared after lower-casing and removing
everything but letters and digits (so tokenisation differences do not hide a match).

A language's pairs are read from ``mafand/en-LANG`` or, for the languages MAFAND-MT pairs with
French, ``mafand/fr-LANG``; a split the folder lacks (kin, nya, sna have no train split) is
skipped and named on stderr.

With ``--write-filtered`` every pool file gets a provenance sidecar ``pool.X.provenance.json``
(:func:`silver_ner.builders.corpora.write_provenance`): the original MAFAND-MT files relative to the
data folder, the lines read and kept and the (1-based) line numbers left out of each, and the
filter, so a build that reads the pool records MAFAND-MT with its licence and citation rather than
an unknown file.

    python experiments/mafand_overlap.py --data ../shared/data --lines 6000 \
        --output experiments/results/robustness/mafand_overlap.json
    python experiments/mafand_overlap.py --data ../shared/data --lines 0 --splits train,dev,test \
        --output experiments/results/robustness/mafand_pool_overlap.json --write-filtered RUNS/mafand-pool
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

from silver_ner.builders.conll import read_conll
from silver_ner.builders.corpora import write_provenance

_NON_WORD = re.compile(r"\W+")


def key(text: str) -> str:
    return _NON_WORD.sub("", unicodedata.normalize("NFC", text).lower())


def conll_sentences(path: Path) -> list[str]:
    return [" ".join(sent.tokens) for sent in read_conll(path).sentences]


def source_side(data: Path, lang: str) -> str:
    """``en`` or ``fr``: the language MAFAND-MT pairs ``lang`` with (its folder ``mafand/<side>-<lang>``)."""
    sides = [side for side in ("en", "fr") if (data / "mafand" / f"{side}-{lang}").is_dir()]
    if len(sides) != 1:
        raise SystemExit(f"{data / 'mafand'}: no MAFAND-MT folder for {lang} (en-{lang} or fr-{lang})" if not sides
                         else f"{data / 'mafand'}: both en-{lang} and fr-{lang}; expected one")
    return sides[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--langs", default="hau,ibo,swa,yor")
    ap.add_argument("--lines", type=int, default=6000,
                    help="first N lines of each MAFAND split (as the students use); 0 = all")
    ap.add_argument("--splits", default="train", help="MAFAND splits to check, e.g. train,dev,test")
    ap.add_argument("--output")
    ap.add_argument("--write-filtered", metavar="DIR",
                    help="also write DIR/SIDE-LANG/pool.SIDE and pool.LANG (SIDE en or fr, as in the data): the "
                         "checked lines of all splits, "
                         "in order, without the pairs whose target side occurs in MasakhaNER 2.0 dev or test")
    args = ap.parse_args(argv)
    data = Path(args.data)
    report = {}
    for lang in args.langs.split(","):
        side = source_side(data, lang)
        gold = {split: {key(s) for s in conll_sentences(data / "masakhaner2" / lang / f"{split}.txt")}
                for split in ("test", "dev", "train")}
        pairs = []
        row = {}
        origins = {side: [], lang: []}  # per side: the original files with their kept and dropped lines
        for part in args.splits.split(","):
            src = data / "mafand" / f"{side}-{lang}" / f"{part}.{side}"
            tgt = src.with_suffix(f".{lang}")
            if not (src.exists() and tgt.exists()):
                print(f"{tgt}: missing, skipped", file=sys.stderr)
                continue
            with open(src, encoding="utf-8") as fe, open(tgt, encoding="utf-8") as ft:
                en, xx = fe.read().splitlines(), ft.read().splitlines()
            if len(en) != len(xx):
                raise SystemExit(f"{src}: {len(en)} lines but {tgt}: {len(xx)}")
            if args.lines:
                en, xx = en[: args.lines], xx[: args.lines]
            keys = [key(x) for x in xx]
            counts = {"mafand_lines": len(keys)}
            for split in ("test", "dev", "train"):
                counts[f"in_masakhaner2_{split}"] = sum(1 for k in keys if k and k in gold[split])
            row[part] = counts
            leaks = [bool(k and (k in gold["test"] or k in gold["dev"])) for k in keys]
            pairs += [(e, x) for e, x, leak in zip(en, xx, leaks) if not leak]
            dropped = [i for i, leak in enumerate(leaks, 1) if leak]
            for suffix, path in ((side, src), (lang, tgt)):
                origins[suffix].append({"file": path.relative_to(data).as_posix(), "lines": len(keys),
                                        "kept": len(keys) - len(dropped), "dropped_lines": dropped})
        if not row:
            raise SystemExit(f"{data / 'mafand' / f'{side}-{lang}'}: none of the splits {args.splits} exists")
        # one split asked for: the flat record of earlier runs
        single = len(args.splits.split(",")) == 1
        report[lang] = next(iter(row.values())) if single else {"pair": f"{side}-{lang}", **row, "pool_pairs": len(pairs)}
        print(lang, report[lang])
        if args.write_filtered:
            out = Path(args.write_filtered) / f"{side}-{lang}"
            out.mkdir(parents=True, exist_ok=True)
            (out / f"pool.{side}").write_text("".join(e + "\n" for e, _ in pairs), encoding="utf-8")
            (out / f"pool.{lang}").write_text("".join(x + "\n" for _, x in pairs), encoding="utf-8")
            limit = f" (the first {args.lines} lines of each)" if args.lines else ""
            what = (f"MAFAND-MT {side}-{lang} splits {','.join(row)}{limit} concatenated in order; the pairs whose "
                    f"{lang} side occurs in MasakhaNER 2.0 {lang} dev or test (compared lower-cased, letters and "
                    "digits only) left out")
            for suffix, other in ((side, lang), (lang, side)):
                write_provenance(out / f"pool.{suffix}", origins[suffix], what, tool="experiments/mafand_overlap.py",
                                 parallel_to=f"pool.{other}")
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
