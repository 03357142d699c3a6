"""Target-language span conventions: words an annotation guideline puts inside entity spans
although the source language has nothing to project onto them.

MasakhaNER's Hausa annotation, for instance, opens a location with its classifier noun
(``jihar Kano`` "Kano State", ``kasar Ingila`` "England"), while English ``Kano State`` or
``England`` leads projection to ``Kano`` or ``Ingila`` alone. A maintainer who knows the
guideline declares such leading phrases per entity type; :func:`attach_leading_phrases`
extends each projected span left over a declared phrase right before it.

Everything here is pure: the declaration text is parsed by :func:`parse_conventions`, which
callers feed from a file and name in its errors.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Collection, Mapping, Sequence

from .errors import UserError
from .spans import Span

Phrase = tuple[str, ...]


def normalise_word(word: str) -> str:
    """The form compared against declared phrases: NFC, case-folded."""
    return unicodedata.normalize("NFC", word).casefold()


class ConventionError(UserError):
    """A malformed line in a span-convention declaration."""


def parse_conventions(text: str, source: str = "<conventions>",
                      labels: Collection[str] | None = None) -> dict[str, dict[str, list[Phrase]]]:
    """Read a declaration: one ``LANG TYPE PHRASE...`` per line, fields separated by tabs or
    spaces (the phrase is the rest of the line: ``hau LOC karamar hukumar``). Blank lines and
    ``#`` comments are skipped. Returns ``{lang: {type: [phrase, ...]}}``, phrases normalised by
    :func:`normalise_word` and listed once. With ``labels``, a type outside them is an error.
    Errors name ``source`` and the line number."""
    out: dict[str, dict[str, list[Phrase]]] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) < 3:
            raise ConventionError(f"{source}:{n}: expected 'LANG TYPE WORD...', got {raw.strip()!r}")
        lang, label, words = fields[0], fields[1], fields[2:]
        if not lang.isalpha() or not lang.islower():
            raise ConventionError(f"{source}:{n}: language code {lang!r} is not a lower-case code such as 'hau'")
        if label == "O" or not label.replace("_", "").isalnum():
            raise ConventionError(f"{source}:{n}: {label!r} is not an entity type such as LOC")
        if labels is not None and label not in labels:
            raise ConventionError(f"{source}:{n}: entity type {label!r} is not in the label set {','.join(labels)}")
        phrase = tuple(normalise_word(w) for w in words)
        phrases = out.setdefault(lang, {}).setdefault(label, [])
        if phrase not in phrases:
            phrases.append(phrase)
    return out


def attach_leading_phrases(tokens: Sequence[str], spans: Sequence[Span],
                           conventions: Mapping[str, Sequence[Phrase]]) -> tuple[list[Span], Counter]:
    """Extend every span of type ``T`` left over the longest phrase declared for ``T`` that ends
    right before it, when no other span covers those words. ``conventions`` maps a type to its
    phrases (normalised by :func:`normalise_word`). Returns the spans (same order, same number)
    and how many were extended per type."""
    covered = [False] * len(tokens)
    for sp in spans:
        for i in sp.indices():
            covered[i] = True
    norm: list[str | None] = [None] * len(tokens)
    out: list[Span] = []
    attached: Counter = Counter()
    for sp in spans:
        best = 0
        for phrase in conventions.get(sp.label, ()):
            k = len(phrase)
            if k <= best or sp.start - k < 0:
                continue
            window = range(sp.start - k, sp.start)
            if any(covered[i] for i in window):
                continue
            for i in window:
                if norm[i] is None:
                    norm[i] = normalise_word(tokens[i])
            if tuple(norm[i] for i in window) == phrase:
                best = k
        if best:
            for i in range(sp.start - best, sp.start):
                covered[i] = True
            out.append(Span(sp.start - best, sp.end, sp.label))
            attached[sp.label] += 1
        else:
            out.append(sp)
    return out, attached
