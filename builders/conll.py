"""Readers and writers for CoNLL-style NER files (one token per line, tag last, blank line between sentences).

Used for MasakhaNER 2.0, CoNLL-2003, Europarl gold, WikiANN and T-Projection files. The
reader never drops data silently: malformed lines raise :class:`ConllFormatError` naming the
file and line, and IOB2 repairs (``I-X`` with no ``B-X`` before it) are counted and located.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from silver_ner.projection.spans import Span, TagError, TagRepairs, split_tag, spans_to_tags, tags_to_spans


class ConllFormatError(ValueError):
    """A line that cannot be read, with its file and line number."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    line: int  # 1-based line of the first token in the file

    @property
    def spans(self) -> list[Span]:
        return tags_to_spans(self.tags)


@dataclass
class ConllFile:
    path: str
    sentences: list[Sentence]
    repairs: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # document markers, counted

    @property
    def labels(self) -> list[str]:
        seen = sorted({s.label for sent in self.sentences for s in sent.spans})
        return seen

    def __len__(self) -> int:
        return len(self.sentences)


def read_conll(
    path: str | os.PathLike,
    *,
    normalize: str | None = None,
    repair: bool = True,
    encoding: str = "utf-8",
) -> ConllFile:
    """Read a CoNLL file.

    Columns are split on tabs when the line has one, else on whitespace; the token is the
    first column and the tag the last. ``normalize`` (e.g. ``"NFC"``) applies Unicode
    normalisation to tokens. With ``repair`` an ``I-X`` that does not continue an ``X`` entity
    becomes ``B-X`` and is recorded in ``repairs``; without it such a tag is an error.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    out = ConllFile(path, [])
    tokens: list[str] = []
    tags: list[str] = []
    start = 0

    def flush() -> None:
        nonlocal tokens, tags
        if tokens:
            rep = TagRepairs()
            spans = tags_to_spans(tags, rep)
            for pos in rep.i_without_b:
                if not repair:
                    raise ConllFormatError(path, start + pos, f"{tags[pos]} does not continue an entity")
                out.repairs.append((start + pos, f"{tags[pos]} without B- turned into B-"))
            fixed = spans_to_tags(spans, len(tags)) if rep.count else tags
            out.sentences.append(Sentence(tokens, fixed, start))
        tokens, tags = [], []

    with open(path, encoding=encoding, newline="") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                flush()
                continue
            cols = line.split("\t") if "\t" in line else line.split()
            if cols[0].startswith("-DOCSTART-"):
                flush()
                out.skipped.append((lineno, "document marker"))
                continue
            if len(cols) < 2 or not cols[0].strip():
                raise ConllFormatError(path, lineno, f"expected 'token tag', got {line!r}")
            tag = cols[-1].strip()
            try:
                split_tag(tag)
            except TagError:
                raise ConllFormatError(path, lineno, f"not an IOB2 tag: {tag!r}") from None
            token = cols[0].strip()
            if normalize:
                token = unicodedata.normalize(normalize, token)
            if not tokens:
                start = lineno
            tokens.append(token)
            tags.append(tag)
    flush()
    return out


def write_conll(path: str | os.PathLike, sentences: Iterable[tuple[Sequence[str], Sequence[str]]], sep: str = " ") -> int:
    """Write ``(tokens, tags)`` pairs; returns the number of sentences written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for tokens, tags in sentences:
            if len(tokens) != len(tags):
                raise ValueError(f"sentence {n}: {len(tokens)} tokens but {len(tags)} tags")
            for tok, tag in zip(tokens, tags):
                fh.write(f"{tok}{sep}{tag}\n")
            fh.write("\n")
            n += 1
    return n


def read_lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """Read a line-per-sentence text file (parallel corpora); empty lines are kept as ``""``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, encoding=encoding, newline="") as fh:
        return [raw.rstrip("\r\n") for raw in fh]


def check_parallel(a: ConllFile, b: ConllFile) -> None:
    """Raise a clear error when two sentence-parallel files differ in sentence count."""
    if len(a) != len(b):
        n = min(len(a), len(b))
        where = f"the first {n} sentences pair up; " if n else ""
        longer = a if len(a) > len(b) else b
        extra = longer.sentences[n].line
        raise ConllFormatError(
            longer.path,
            extra,
            f"{len(a)} sentences in {a.path} but {len(b)} in {b.path}: {where}"
            f"sentence {n + 1} (line {extra}) of {longer.path} has no partner",
        )
