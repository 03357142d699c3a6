"""Multi-source projection: combine the projections of one target sentence made from several
source sentences (for example the same sentence in several source languages).

Each distinct (start, end, label) proposed by at least ``min_votes`` sources is a candidate;
candidates are taken by most votes, then highest summed score, then shorter, then leftmost,
and one that overlaps an already taken span is dropped (and counted in ``dropped``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .protocols import ProjectionResult
from .spans import Span


@dataclass
class Vote:
    span: Span
    votes: int
    score: float
    sources: list[int] = field(default_factory=list)  # indices of the results that proposed it


def tally(results: Sequence[ProjectionResult]) -> list[Vote]:
    """Votes per exact span and label (a source proposing the same span twice votes once)."""
    votes: dict[Span, Vote] = {}
    for r, res in enumerate(results):
        seen: set[Span] = set()
        for i, span in enumerate(res.spans):
            score = res.scores[i] if i < len(res.scores) else 1.0
            if span in seen:
                continue
            v = votes.setdefault(span, Vote(span, 0, 0.0))
            seen.add(span)
            v.votes += 1
            v.score += score
            v.sources.append(r)
    return list(votes.values())


@dataclass
class MultiSourceResult(ProjectionResult):
    """A :class:`ProjectionResult` whose ``scores`` are vote counts; ``source_of[i]`` is the
    first result (source) that proposed ``spans[i]``; ``summed`` holds the summed scores;
    ``below_min_votes`` and ``dropped`` count the spans left out and why."""

    summed: list[float] = field(default_factory=list)
    below_min_votes: int = 0
    dropped: int = 0


def combine(results: Sequence[ProjectionResult], min_votes: int = 1) -> MultiSourceResult:
    """One projection from several; ``unprojected`` stays empty (entities differ per source)."""
    if min_votes < 1:
        raise ValueError(f"min_votes must be at least 1, got {min_votes}")
    out = MultiSourceResult()
    ranked = sorted(tally(results), key=lambda v: (-v.votes, -v.score, len(v.span), v.span.start, v.span.label))
    taken: list[Vote] = []
    for v in ranked:
        if v.votes < min_votes:
            out.below_min_votes += 1
        elif any(t.span.overlaps(v.span) for t in taken):
            out.dropped += 1
        else:
            taken.append(v)
    taken.sort(key=lambda v: v.span)
    out.spans = [v.span for v in taken]
    out.scores = [float(v.votes) for v in taken]
    out.summed = [v.score for v in taken]
    out.source_of = [v.sources[0] for v in taken]
    return out
