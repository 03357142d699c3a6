"""Tokenisation of raw target text (MAFAND lines, MT output) and detokenisation of CoNLL tokens.

Signatures::

    tokenize(text) -> list[str]
    split_elisions(tokens) -> list[str]     # French source lines: l’ONU -> l’ ONU
    detokenize(tokens) -> str

The rules follow the gold test sets (checked on the MasakhaNER 2.0 files): punctuation is
split from words (``Al - Shabab``, ``27 , 000``, ``( UNHCR )``), but a token keeps

* apostrophes inside or at the end of a word (``n'ime``, ``jami'an``, ``bang'``, ``People's``)
  and at the start of a word that has no closing quote (Hausa ``‘yan``);
* a decimal point between digits (``1.99``, ``36.3``);
* a hyphen joining letters to digits (``COVID-19``);
* combining marks (decomposed Yoruba/Ewe tone marks stay on their letter).

A quoted word (``'Handshake'``) gets its quotes split off. On the MasakhaNER 2.0 test sets,
re-tokenising the space-joined gold tokens gives back the same tokens for 98.5-100% of the
sentences per language once the files' spelling of a double quote (four quote characters,
CSV-escaped) is accounted for
(see ``docs/sources.md``). ``detokenize`` is the inverse used
to give a translator plain text: no space before closing punctuation, none after opening
brackets, straight double quotes alternate opening/closing.
"""

from __future__ import annotations

import re
from typing import Sequence

_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_W = rf"[^\W_]|[{_MARKS}]"  # a letter or digit, or a combining mark
_APOS = "'\u2018\u2019\u02bc"  # ' ‘ ’ ʼ
_WORD = rf"(?:{_W})+"
_TOKEN = re.compile(
    rf"""
    \d+(?:\.\d+)+(?![{_MARKS}\w])                               # decimal number 1.99 / 22.08.1996
  | [{_APOS}]?{_WORD}(?:(?:[{_APOS}]|-(?=\d)|(?<=\d)-(?=\w)){_WORD})*[{_APOS}]?  # words with inner apostrophes, COVID-19
  | _+
  | \S                                                          # any other single character
    """,
    re.VERBOSE,
)
MASAKHANER_QUOTE = '"' * 4
_QUOTE_PAIRS = {"'": "'", "\u2018": "\u2019", "\u2019": "\u2019", '"': '"', "\u201c": "\u201d"}


def tokenize(text: str, *, quote_token: str | None = None) -> list[str]:
    """Split raw text into tokens the way the gold NER files are tokenised (see the module docstring).

    ``quote_token`` replaces every straight double quote token; the MasakhaNER 2.0 files
    spell it as four quote characters (a CSV-escaped quote), so ``quote_token=MASAKHANER_QUOTE``
    reproduces them exactly.
    """
    out: list[str] = []
    for chunk in text.split():
        pieces = _TOKEN.findall(chunk)
        # 'word' -> ' word ' : split quotes that wrap a word; a lone leading apostrophe stays.
        if len(pieces) >= 1 and len(pieces[0]) > 1 and pieces[0][0] in _APOS:
            closer = _QUOTE_PAIRS.get(pieces[0][0], pieces[0][0])
            last = pieces[-1]
            if last.endswith(closer) or last.endswith("'") or (len(pieces) > 1 and pieces[-1] in _APOS):
                pieces = [pieces[0][0], pieces[0][1:]] + pieces[1:]
        if len(pieces) >= 1 and len(pieces[-1]) > 1 and pieces[-1][-1] in _APOS and pieces[0] in _APOS:
            pieces = pieces[:-1] + [pieces[-1][:-1], pieces[-1][-1]]
        out.extend(pieces)
    if quote_token is not None:
        out = [quote_token if t == '"' else t for t in out]
    return out


_ELISION = re.compile(r"(?i)((?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)[%s])(.+)" % _APOS)


def split_elisions(tokens: Sequence[str]) -> list[str]:
    """French elided words split off the word they lean on: ``l’ONU`` -> ``l’ ONU``, ``qu'il`` -> ``qu' il``
    (as French NER corpora are tokenised); ``aujourd’hui`` and ``quelqu'un`` stay whole."""
    out: list[str] = []
    for tok in tokens:
        m = _ELISION.fullmatch(tok)
        out.extend(m.groups() if m else (tok,))
    return out


_NO_SPACE_BEFORE = set(",.;:!?)]}%") | {"'s", "n't", "...", "\u201d", "\u2019", "\u00bb"}
_NO_SPACE_AFTER = set("([{$#") | {"\u201c", "\u2018", "\u00ab"}


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens into plain text (inverse of :func:`tokenize` up to spacing choices)."""
    out: list[str] = []
    open_double = False
    glue_next = False
    for i, tok in enumerate(tokens):
        space = bool(out) and not glue_next
        glue_next = False
        if tok in ",.:" and 0 < i < len(tokens) - 1 and tokens[i - 1][-1:].isdigit() and tokens[i + 1].isdigit():
            glue_next = True  # 27 , 000 -> 27,000 ; 10 : 30 -> 10:30
        if tok in _NO_SPACE_BEFORE:
            space = False
        elif tok == '"':
            if open_double:
                space = False
            else:
                glue_next = True
            open_double = not open_double
        if tok in _NO_SPACE_AFTER:
            glue_next = True
        if space:
            out.append(" ")
        out.append(tok)
    return "".join(out)
