"""Multi-source projection: combine the projections of one target sentence made from several
source sentences (for example the same sentence in several source languages).

Each distinct (start, end, label) proposed by at least ``min_votes`` sources is a candidate;
candidates are taken by most votes, then highest summed score, then shorter, then leftmost,
and one that overlaps an already taken span is dropped (and counted in ``dropped``).

:func:`combine_weighted` ranks by weighted support instead: each source has a weight (for
example its F1 measured on held-out sentences), optionally multiplied by the span's score in
that source, and spans whose support is below a threshold are left out.
:func:`narrow_to_nested` first replaces each span by the shortest span of the same label
that another source proposes strictly inside it, so that two sources differing only by an
extra article or preposition at a span's edge agree on the inner span.
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
    source_scores: list[float] = field(default_factory=list)  # the span's score in each of them


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
            v.source_scores.append(score)
    return list(votes.values())


@dataclass
class MultiSourceResult(ProjectionResult):
    """A :class:`ProjectionResult` whose ``scores`` are vote counts; ``source_of[i]`` is the
    first result (source) that proposed ``spans[i]``; ``summed`` holds the summed scores;
    ``below_min_votes`` and ``dropped`` count the spans left out and why."""

    summed: list[float] = field(default_factory=list)
    below_min_votes: int = 0
    dropped: int = 0


def narrow_to_nested(results: Sequence[ProjectionResult]) -> list[ProjectionResult]:
    """Copies of ``results`` in which every span that strictly contains a span of the same
    label from another result is replaced by the shortest such span (leftmost among equals);
    scores and ``source_of`` are kept, ``unprojected`` copied."""
    out = []
    for r, res in enumerate(results):
        others = [sp for q, other in enumerate(results) if q != r for sp in other.spans]
        spans = []
        for sp in res.spans:
            inner = [o for o in others if o.label == sp.label and sp.start <= o.start and o.end <= sp.end and o != sp]
            spans.append(min(inner, key=lambda o: (len(o), o.start)) if inner else sp)
        out.append(ProjectionResult(spans, list(res.scores), list(res.source_of), list(res.unprojected)))
    return out


def _select(votes: list[Vote], support: dict[Span, float], minimum: float) -> MultiSourceResult:
    """Take spans by support, then summed score, then shorter, then leftmost; skip overlaps."""
    out = MultiSourceResult()
    ranked = sorted(votes, key=lambda v: (-support[v.span], -v.score, len(v.span), v.span.start, v.span.label))
    taken: list[Vote] = []
    for v in ranked:
        if support[v.span] < minimum:
            out.below_min_votes += 1
        elif any(t.span.overlaps(v.span) for t in taken):
            out.dropped += 1
        else:
            taken.append(v)
    taken.sort(key=lambda v: v.span)
    out.spans = [v.span for v in taken]
    out.scores = [float(support[v.span]) for v in taken]
    out.summed = [v.score for v in taken]
    out.source_of = [v.sources[0] for v in taken]
    return out


def combine(results: Sequence[ProjectionResult], min_votes: int = 1) -> MultiSourceResult:
    """One projection from several; ``unprojected`` stays empty (entities differ per source)."""
    if min_votes < 1:
        raise ValueError(f"min_votes must be at least 1, got {min_votes}")
    votes = tally(results)
    return _select(votes, {v.span: v.votes for v in votes}, min_votes)


def combine_weighted(
    results: Sequence[ProjectionResult],
    weights: Sequence[float],
    *,
    threshold: float = 0.0,
    use_scores: bool = False,
) -> MultiSourceResult:
    """Weighted voting: a span's support is the sum of ``weights[r]`` over the sources ``r``
    proposing it (times the span's score there with ``use_scores``). Spans with support below
    ``threshold`` are left out (counted in ``below_min_votes``); the rest are taken as in
    :func:`combine` with support in place of the vote count, and ``scores`` hold the support.

    With two sources of unequal weight, a span both propose comes first, then the more
    reliable source's spans, then the other's where they overlap nothing taken.
    """
    if len(weights) != len(results):
        raise ValueError(f"{len(weights)} weights for {len(results)} sources")
    if any(w < 0 for w in weights):
        raise ValueError(f"weights must be non-negative, got {list(weights)}")
    votes = tally(results)
    support = {  # rounded so that equal supports reached by different sums compare equal
        v.span: round(sum(weights[r] * (s if use_scores else 1.0) for r, s in zip(v.sources, v.source_scores)), 12)
        for v in votes
    }
    return _select(votes, support, threshold)
