"""Sentence-parallel CoNLL files as a source of pairs, and further labelled sources of the same
targets (multi-source projection).

``pairs_from_conll`` pairs sentence ``i`` of a labelled source file with sentence ``i`` of a
target file (the target's own labels, if any, are not read into the pair; score against them
with ``--reference``). ``attach_more_sources`` adds to every pair the labelled sentence of each
further source file that translates the same target sentence, found by the pair's target
sentence number, so that projection can vote among the sources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from silver_ner.projection.errors import UserError

from .conll import ConllFile, check_parallel
from .sources import SourcePair, SourceReport


def display_name(path: str) -> str:
    return Path(path).name


def pairs_from_conll(source: ConllFile, target: ConllFile, target_lang: str, report: SourceReport,
                     source_lang: str = "eng") -> Iterator[SourcePair]:
    """Pairs of sentence ``i`` of ``source`` (tokens and spans) with sentence ``i`` of ``target`` (tokens)."""
    check_parallel(source, target)
    report.read += len(source)
    report.note_inputs("iob2_repairs", source.repair_locations())
    src_name, tgt_name = display_name(source.path), display_name(target.path)
    for i, (s, t) in enumerate(zip(source.sentences, target.sentences)):
        report.paired += 1
        origin = {"source_file": src_name, "source_line": s.line, "target_file": tgt_name, "target_line": t.line,
                  "target_sentence": i + 1}
        yield SourcePair(f"{tgt_name}:{i + 1}", list(s.tokens), list(s.spans), list(t.tokens), source_lang,
                         target_lang, origin)


def target_index(pair: SourcePair) -> int:
    """The 0-based number of the pair's target sentence (CoNLL sentence, or line of a text file)."""
    o = pair.origin
    if "target_sentence" in o:
        return int(o["target_sentence"]) - 1
    if "target_line" in o and "target_file" in o:
        return int(o["target_line"]) - 1
    raise UserError(f"pair {pair.id}: its source does not number target sentences, so further sources cannot be "
                    "matched to it (use --parallel or --parallel-conll with --more-source)")


def attach_more_sources(pairs: Sequence[SourcePair], more: Sequence[tuple[ConllFile, str]], n_targets: int,
                        report: SourceReport) -> None:
    """Give every pair the sentence of each ``(file, language)`` in ``more`` for its target sentence.

    Each file must hold exactly ``n_targets`` sentences (sentence ``i`` translates target sentence ``i``).
    """
    for f, lang in more:
        if len(f) != n_targets:
            raise UserError(f"{f.path}: {len(f)} sentences, but the target has {n_targets}; a further source must "
                            "hold one labelled sentence per target sentence, in the same order")
        report.note_inputs("iob2_repairs", f.repair_locations())
    for p in pairs:
        i = target_index(p)
        for f, lang in more:
            s = f.sentences[i]
            p.more_sources.append({"tokens": list(s.tokens), "spans": list(s.spans), "lang": lang,
                                   "origin": {"source_file": display_name(f.path), "source_line": s.line}})
