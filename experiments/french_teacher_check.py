"""How well does the teacher (multilingual-e5-small fine-tuned on English CoNLL-2003) tag French?

For the six MasakhaNER 2.0 languages that MAFAND-MT pairs with French (bam bbj ewe fon mos wol),
the silver labels come from the teacher's tags of the *French* side, and no French NER gold is at
hand. Two ways to measure it:

1. agreement with the teacher's English tags, where the same target sentence occurs in an
   ``en-LANG`` and an ``fr-LANG`` pair (compared after lower-casing and keeping only letters and
   digits, as mafand_overlap.py does). MAFAND-MT pairs each language with one side only, so there
   are none in the shared data; the script counts them first and, only when some exist, tags both
   sides and reports how often the two carry the same entities (types per sentence);
2. otherwise a reproducible sample (``--sample 50`` French lines, ``--seed``, spread over the
   languages, from the leakage-filtered pool of all_languages.sh when ``--pool`` is given, else
   from every split) tagged by the teacher, written one token a line for checking by hand:
   ``token<TAB>teacher tag<TAB>`` and an empty third column for the correct tag (left empty: the
   teacher's tag is right). ``--score FILE`` reads the checked file back and scores the teacher
   against the hand labels (entity-level, strict IOB2).

The French lines are tokenised as ``silver-ner build --source-lang fra`` does (elisions split).

    python experiments/french_teacher_check.py --data ../shared/data --teacher ../runs/teacher \\
        --pool ../runs/all/mafand-pool --output experiments/results/all_languages/french_teacher_sample.tsv
    python experiments/french_teacher_check.py --score experiments/results/all_languages/french_teacher_sample.tsv
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

FRENCH_SIDE = ("bam", "bbj", "ewe", "fon", "mos", "wol")
SPLITS = ("train", "dev", "test")
_NON_WORD = re.compile(r"\W+")


def key(text: str) -> str:
    return _NON_WORD.sub("", unicodedata.normalize("NFC", text).lower())


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def pair_lines(folder: Path, side: str, lang: str) -> list[tuple[str, str, str]]:
    """``(source line, target line, where)`` of every split the folder has."""
    out = []
    for split in SPLITS:
        src, tgt = folder / f"{split}.{side}", folder / f"{split}.{lang}"
        if src.exists() and tgt.exists():
            s, t = read_lines(src), read_lines(tgt)
            if len(s) != len(t):
                raise SystemExit(f"{src}: {len(s)} lines but {tgt}: {len(t)}")
            out += [(a, b, f"{src}:{i + 1}") for i, (a, b) in enumerate(zip(s, t))]
    return out


def en_fr_overlaps(data: Path, langs) -> list[dict]:
    """Target sentences found in both an ``en-LANG`` and an ``fr-LANG`` pair: ``{lang, en, fr, en_at, fr_at}``."""
    found = []
    for lang in langs:
        en_dir, fr_dir = data / "mafand" / f"en-{lang}", data / "mafand" / f"fr-{lang}"
        if not (en_dir.is_dir() and fr_dir.is_dir()):
            continue
        by_target = {}
        for e, t, at in pair_lines(en_dir, "en", lang):
            if key(t):
                by_target.setdefault(key(t), (e, at))
        for f, t, at in pair_lines(fr_dir, "fr", lang):
            if key(t) in by_target:
                e, en_at = by_target[key(t)]
                found.append({"lang": lang, "en": e, "fr": f, "en_at": en_at, "fr_at": at})
    return found


def french_tokens(line: str) -> list[str]:
    from silver_ner.builders.wordsplit import split_elisions, tokenize

    return split_elisions(tokenize(line))


def sample_french(data: Path, langs, n: int, seed: int, pool: Path | None = None) -> list[dict]:
    """``n`` distinct French lines, as evenly spread over ``langs`` as they allow, in a seeded order."""
    rng = random.Random(seed)
    per_lang = {}
    for lang in langs:
        if pool is not None:
            lines = read_lines(pool / f"fr-{lang}" / "pool.fr")
            where = [f"{pool / f'fr-{lang}' / 'pool.fr'}:{i + 1}" for i in range(len(lines))]
        else:
            rows = pair_lines(data / "mafand" / f"fr-{lang}", "fr", lang)
            lines, where = [r[0] for r in rows], [r[2] for r in rows]
        order = list(range(len(lines)))
        rng.shuffle(order)
        per_lang[lang] = [(lines[i], where[i]) for i in order if lines[i].strip()]
    chosen, seen = [], set()
    while len(chosen) < n and any(per_lang.values()):
        for lang in langs:
            while per_lang[lang] and len(chosen) < n:
                line, at = per_lang[lang].pop(0)
                if key(line) and key(line) not in seen:
                    seen.add(key(line))
                    chosen.append({"lang": lang, "text": line, "at": at, "tokens": french_tokens(line)})
                    break
    return chosen


def tag(tagger, sentences: list[list[str]]) -> list[list[str]]:
    from silver_ner.projection.spans import spans_to_tags

    return [spans_to_tags(spans, len(toks)) for spans, toks in zip(tagger.tag(sentences), sentences)]


def write_sample(path: Path, sample: list[dict], tags: list[list[str]], header: dict) -> None:
    lines = [f"# {json.dumps(header, ensure_ascii=False)}",
             "# one token a line: token, the teacher's tag, the correct tag (leave empty where the teacher is right)"]
    for i, (s, t) in enumerate(zip(sample, tags)):
        lines += ["", f"# {i + 1} lang={s['lang']} at={s['at']}", f"# {s['text']}"]
        lines += [f"{tok}\t{tg}\t" for tok, tg in zip(s["tokens"], t)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_checked(path: Path) -> tuple[list[list[str]], list[list[str]]]:
    """(teacher tags, hand tags) per sentence of a checked sample file; an empty third column keeps the teacher's."""
    teacher, hand, cur_t, cur_h = [], [], [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#") or not line.strip():
            if cur_t:
                teacher.append(cur_t)
                hand.append(cur_h)
                cur_t, cur_h = [], []
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise SystemExit(f"{path}:{n}: expected token<TAB>teacher tag<TAB>[correct tag]")
        cur_t.append(cols[1])
        cur_h.append(cols[2].strip() if len(cols) > 2 and cols[2].strip() else cols[1])
    if cur_t:
        teacher.append(cur_t)
        hand.append(cur_h)
    return teacher, hand


def score_checked(path: Path) -> dict:
    """The teacher's tags scored against the hand labels of a checked sample file (strict IOB2)."""
    from silver_ner.leaderboard.scoring import score_tags

    teacher, hand = read_checked(path)
    return {"sentences": len(teacher), **score_tags(teacher, hand)}


def type_agreement(en_tags: list[list[str]], fr_tags: list[list[str]]) -> dict:
    """Share of sentence pairs whose English and French sides carry the same entity types (with counts)."""
    from collections import Counter

    from silver_ner.projection.spans import tags_to_spans

    same = sum(1 for e, f in zip(en_tags, fr_tags)
               if Counter(s.label for s in tags_to_spans(e)) == Counter(s.label for s in tags_to_spans(f)))
    return {"pairs": len(en_tags), "same_entity_types": same, "share": same / len(en_tags) if en_tags else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--langs", default=",".join(FRENCH_SIDE))
    ap.add_argument("--teacher", help="the teacher model folder (tags the French and, for overlaps, English lines)")
    ap.add_argument("--pool", type=Path, help="the leakage-filtered pool folder of all_languages.sh (fr-LANG/pool.fr)")
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--output", type=Path, help="the sample file to write (default: french_teacher_sample.tsv)")
    ap.add_argument("--score", type=Path, metavar="FILE", help="score a checked sample file and stop")
    args = ap.parse_args(argv)
    if args.score:
        print(json.dumps(score_checked(args.score), indent=1, default=str))
        return 0
    data, langs = Path(args.data), args.langs.split(",")
    overlaps = en_fr_overlaps(data, langs)
    print(f"target sentences in both an en-LANG and an fr-LANG pair: {len(overlaps)}", file=sys.stderr)
    if not args.teacher:
        raise SystemExit("--teacher MODEL is needed to tag the sentences")
    from silver_ner.builders.tagger import HFTagger
    from silver_ner.builders.wordsplit import tokenize

    tagger = HFTagger(args.teacher)
    if overlaps:
        en = tag(tagger, [tokenize(o["en"]) for o in overlaps])
        fr = tag(tagger, [french_tokens(o["fr"]) for o in overlaps])
        print(json.dumps(type_agreement(en, fr), indent=1))
        return 0
    sample = sample_french(data, langs, args.sample, args.seed, args.pool)
    out = args.output or Path("french_teacher_sample.tsv")
    header = {"teacher": str(args.teacher), "seed": args.seed, "sample": len(sample), "langs": langs,
              "from": str(args.pool) if args.pool else "mafand fr-LANG, all splits", "en_fr_overlaps": 0}
    write_sample(out, sample, tag(tagger, [s["tokens"] for s in sample]), header)
    print(f"wrote {out} ({len(sample)} French sentences for checking by hand)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
