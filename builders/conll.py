"""Readers and writers for CoNLL-style NER files (one token per line, tag last, blank line between sentences).

Used for MasakhaNER 2.0, CoNLL-2003, Europarl gold, WikiANN and T-Projection files, by every
command (``build``, ``train``, ``evaluate``, ``eval-projection``). The reader never drops data
silently: malformed lines raise :class:`ConllFormatError` naming the file and line, and IOB2
repairs (``I-X`` with no ``B-X`` before it) are counted and located.

Columns are separated by ASCII spaces and tabs only, so a token keeps any other whitespace it
holds (``Berlin\u00a0Mitte``). Bytes that are not valid in the file's encoding raise
:class:`InputEncodingError` naming the file, the line and the byte; a folder where a file is
expected raises :class:`InputFileError`. All of these are :class:`UserError` s.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from silver_ner.projection.errors import UserError
from silver_ner.projection.spans import Span, TagError, TagRepairs, split_tag, spans_to_tags, tags_to_spans


class InputFileError(UserError):
    """An input file that cannot be read as expected, with its path (and line, when there is one)."""

    def __init__(self, path: str, line: int | None, message: str):
        super().__init__(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")
        self.path, self.line = path, line


class InputNotFoundError(InputFileError, FileNotFoundError):
    """A named input file that does not exist (also a :class:`FileNotFoundError`)."""


class InputEncodingError(InputFileError):
    """A byte that is not valid in the file's encoding; ``line`` is 1-based, ``byte`` its value."""

    def __init__(self, path: str, line: int, byte: int, column: int, encoding: str, reason: str):
        super().__init__(
            path, line,
            f"not valid {encoding} text: byte 0x{byte:02x} at byte {column} of the line ({reason}); "
            f"convert the file to {encoding} (e.g. iconv -f <its encoding> -t {encoding})",
        )
        self.byte, self.column, self.encoding = byte, column, encoding


class ConllFormatError(InputFileError):
    """A line that cannot be read, with its file and line number."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(path, line, message)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_COLUMN_SEP = re.compile(" +")


def check_input_file(path: str | os.PathLike, what: str = "file") -> str:
    """``path`` as a string when it names a readable file; else a one-line :class:`UserError` naming it."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise InputFileError(path, None, f"is a folder, expected a {what}")
    if not os.path.exists(path):
        raise InputNotFoundError(path, None, "no such file")
    return path


def read_text_lines(path: str | os.PathLike, encoding: str = "utf-8", what: str = "file") -> list[str]:
    """The lines of a text file, without their line breaks (``\\n``, ``\\r\\n`` or ``\\r``).

    The one place every reader decodes its input: an undecodable byte raises
    :class:`InputEncodingError` with the file, line and byte; a byte-order mark at the start is
    dropped. Other Unicode line and paragraph separators stay inside their line.
    """
    path = check_input_file(path, what)
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = len(_LINE_BREAK.findall(data[: exc.start].decode(encoding, errors="replace"))) + 1
        line_start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
        raise InputEncodingError(path, line, data[exc.start], exc.start - line_start + 1, encoding, exc.reason) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text:
        return []
    lines = _LINE_BREAK.split(text)
    if lines[-1] == "":
        lines.pop()
    return lines


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

    def repair_locations(self) -> list[str]:
        """Every IOB2 repair as ``path:line: what was repaired``."""
        return [f"{self.path}:{line}: {msg}" for line, msg in self.repairs]


def read_conll(
    path: str | os.PathLike,
    *,
    normalize: str | None = None,
    repair: bool = True,
    encoding: str = "utf-8",
) -> ConllFile:
    """Read a CoNLL file.

    Columns are split on tabs when the line has one, else on runs of ASCII spaces; the token is
    the first column and the tag the last. Other whitespace (no-break or thin spaces, ...) is
    part of its column, so ``Berlin\u00a0Mitte B-LOC`` is one token. ``normalize`` (e.g. ``"NFC"``) applies Unicode
    normalisation to tokens. With ``repair`` an ``I-X`` that does not continue an ``X`` entity
    becomes ``B-X`` and is recorded in ``repairs``; without it such a tag is an error. Bytes
    invalid in ``encoding`` raise :class:`InputEncodingError` (file, line, byte).
    """
    lines = read_text_lines(path, encoding, what="CoNLL file")
    path = os.fspath(path)
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

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            flush()
            continue
        cols = line.split("\t") if "\t" in line else _COLUMN_SEP.split(line.strip(" "))
        if cols[0].startswith("-DOCSTART-"):
            flush()
            out.skipped.append((lineno, "document marker"))
            continue
        if len(cols) < 2 or not cols[0].strip():
            other = sorted({f"U+{ord(c):04X}" for c in line.strip() if c.isspace()})
            hint = (f" (columns are separated by ASCII spaces or tabs; this line is separated only by "
                    f"{', '.join(other)})" if len(cols) < 2 and other else "")
            raise ConllFormatError(path, lineno, f"expected 'token tag', got {line!r}{hint}")
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
    """Read a line-per-sentence text file (parallel corpora); empty lines are kept as ``""``.

    Errors as in :func:`read_text_lines` (an undecodable byte names the file, line and byte).
    """
    return read_text_lines(path, encoding, what="text file (one sentence a line)")


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
