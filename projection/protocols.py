"""The small protocols through which models enter the projection core.

Alignments are plain data: a sorted tuple of ``(source_index, target_index)`` word links,
optionally with a score per link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

from .spans import Span

Tokens = Sequence[str]


@dataclass(frozen=True)
class Alignment:
    """Word links between a source and a target sentence."""

    links: tuple[tuple[int, int], ...]
    scores: tuple[float, ...] | None = None

    @classmethod
    def from_pairs(cls, pairs, scores=None) -> "Alignment":
        if scores is None:
            return cls(tuple(sorted({(int(s), int(t)) for s, t in pairs})))
        best: dict[tuple[int, int], float] = {}
        for (s, t), sc in zip(pairs, scores):
            key = (int(s), int(t))
            best[key] = max(float(sc), best.get(key, float("-inf")))
        keys = tuple(sorted(best))
        return cls(keys, tuple(best[k] for k in keys))

    def __len__(self) -> int:
        return len(self.links)

    def source_to_target(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for s, t in self.links:
            out.setdefault(s, []).append(t)
        return out

    def target_to_source(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for s, t in self.links:
            out.setdefault(t, []).append(s)
        return out

    def inverted(self) -> "Alignment":
        return Alignment.from_pairs([(t, s) for s, t in self.links], self.scores)


@runtime_checkable
class Aligner(Protocol):
    """Word-aligns sentence pairs given as token lists."""

    @property
    def identity(self) -> str:
        """A string naming the model, layer and method, used in cache keys and provenance."""

    def align(self, pairs: Sequence[tuple[Tokens, Tokens]]) -> list[Alignment]:
        """One alignment per ``(source_tokens, target_tokens)`` pair."""

    def align_methods(self, pairs: Sequence[tuple[Tokens, Tokens]], methods: Sequence[str]) -> dict[str, list[Alignment]]:
        """For each link method named (``argmax``, ``itermax``, ``match``, ...) one alignment per
        pair; an aligner with a single kind of links answers for that one only."""


@runtime_checkable
class Translator(Protocol):
    """Translates sentences (plain strings) from one language into another."""

    @property
    def identity(self) -> str:
        """A string naming the model and decoding parameters."""

    def translate(self, sentences: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
        """Languages are ISO 639-3 codes (``eng``, ``swa``, ...)."""


@runtime_checkable
class Tagger(Protocol):
    """Finds entity spans in tokenised sentences."""

    @property
    def identity(self) -> str:
        """A string naming the model."""

    def tag(self, sentences: Sequence[Tokens]) -> list[list[Span]]:
        """One list of spans per sentence."""


@dataclass
class ProjectionResult:
    """What a projection method returns for one sentence.

    ``spans`` are the target spans; ``scores[i]`` is the score of ``spans[i]``;
    ``source_of[i]`` is the index (into the source spans) of the entity that produced
    ``spans[i]``; ``unprojected`` lists the indices of source entities that found no target.
    """

    spans: list[Span] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    source_of: list[int] = field(default_factory=list)
    unprojected: list[int] = field(default_factory=list)
