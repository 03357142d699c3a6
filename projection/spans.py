"""Entity spans and IOB2 tag sequences.

A span covers the tokens ``start`` .. ``end - 1`` (end exclusive) and carries an entity
label such as ``PER``. Everything here is pure: lists in, lists out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .errors import UserError


@dataclass(frozen=True, order=True)
class Span:
    """A labelled token range ``[start, end)``."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if self.start < 0 or self.end <= self.start:
            raise ValueError(f"invalid span [{self.start}, {self.end}) for {self.label!r}")

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end

    def indices(self) -> range:
        return range(self.start, self.end)


@dataclass
class TagRepairs:
    """What :func:`tags_to_spans` had to mend, with the token positions concerned."""

    i_without_b: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.i_without_b)


class TagError(UserError):
    """A tag that is not ``O``, ``B-X`` or ``I-X`` (in a file or a model's label set)."""


def split_tag(tag: str) -> tuple[str, str | None]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", None)``."""
    if tag == "O":
        return "O", None
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
        return tag[0], tag[2:]
    raise TagError(f"not an IOB2 tag: {tag!r}")


def tags_to_spans(tags: Sequence[str], repairs: TagRepairs | None = None) -> list[Span]:
    """Read spans from IOB2 tags.

    An ``I-X`` that does not continue an entity of type ``X`` starts a new entity (the
    usual IOB2 repair); each such position is recorded in ``repairs`` when given.
    """
    spans: list[Span] = []
    start, label = -1, None
    for i, tag in enumerate(tags):
        prefix, typ = split_tag(tag)
        if prefix == "I" and typ == label:
            continue
        if label is not None:
            spans.append(Span(start, i, label))
            start, label = -1, None
        if prefix == "O":
            continue
        if prefix == "I" and repairs is not None:
            repairs.i_without_b.append(i)
        start, label = i, typ
    if label is not None:
        spans.append(Span(start, len(tags), label))
    return spans


def spans_to_tags(spans: Iterable[Span], length: int) -> list[str]:
    """Write spans as IOB2 tags; spans must lie inside ``length`` and must not overlap."""
    tags = ["O"] * length
    for span in sorted(spans):
        if span.end > length:
            raise ValueError(f"span {span} outside a sentence of {length} tokens")
        if any(t != "O" for t in tags[span.start : span.end]):
            raise ValueError(f"span {span} overlaps another span")
        tags[span.start] = f"B-{span.label}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label}"
    return tags


def repair_tags(tags: Sequence[str]) -> tuple[list[str], int]:
    """Rewrite tags as valid IOB2; returns the tags and how many ``I-`` were turned into ``B-``."""
    repairs = TagRepairs()
    spans = tags_to_spans(tags, repairs)
    return spans_to_tags(spans, len(tags)), repairs.count


def iob2_names(labels: Iterable[str]) -> list[str]:
    """ClassLabel names for entity types: ``["O", "B-PER", "I-PER", ...]`` in the given order."""
    names = ["O"]
    for label in labels:
        names += [f"B-{label}", f"I-{label}"]
    return names


def map_labels(spans: Iterable[Span], mapping: dict[str, str | None]) -> list[Span]:
    """Rename entity types; a type mapped to ``None`` is dropped, an unknown type is an error."""
    out = []
    for span in spans:
        if span.label not in mapping:
            raise KeyError(f"no mapping for entity type {span.label!r}")
        new = mapping[span.label]
        if new is not None:
            out.append(Span(span.start, span.end, new))
    return out
