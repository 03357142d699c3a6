"""Alignment-only projections: the paper's heuristic, the Easy-Label-Projection variant and
the naive "min-to-max of aligned words" span.

Each is a pure function ``(src_tokens, src_spans, tgt_tokens, alignment, **params) ->
ProjectionResult``; an entity whose words align to nothing (or whose projection is filtered
or lost in a collision) is listed in ``unprojected``.
"""

from __future__ import annotations

from typing import Sequence

from .candidates import is_punct
from .protocols import Alignment, ProjectionResult
from .spans import Span


def aligned_targets(span: Span, s2t: dict[int, list[int]], n_tgt: int) -> list[int]:
    """Sorted target positions linked to any word of ``span``."""
    out = sorted({t for s in span.indices() for t in s2t.get(s, ())})
    if out and out[-1] >= n_tgt:
        raise ValueError(f"alignment links target word {out[-1]} but the target has {n_tgt} words")
    return out


def contiguous_ranges(positions: Sequence[int]) -> list[list[int]]:
    """``[1, 2, 4, 7, 8]`` -> ``[[1, 2], [4], [7, 8]]`` (positions sorted, unique)."""
    groups: list[list[int]] = []
    for p in positions:
        if groups and p == groups[-1][-1] + 1:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def merge_gaps(ranges: list[list[int]], max_gap: int, fillable) -> list[tuple[int, int]]:
    """Join neighbouring ranges separated by at most ``max_gap`` words that are all ``fillable``.

    Returns ``(start, end)`` pairs, end exclusive.
    """
    out: list[tuple[int, int]] = []
    for r in ranges:
        a, b = r[0], r[-1] + 1
        if out:
            pa, pb = out[-1]
            gap = range(pb, a)
            if len(gap) <= max_gap and all(fillable(t) for t in gap):
                out[-1] = (pa, b)
                continue
        out.append((a, b))
    return out


def heuristic(
    src_tokens: Sequence[str],
    src_spans: Sequence[Span],
    tgt_tokens: Sequence[str],
    alignment: Alignment,
    *,
    ratio: float = 0.8,
    max_gap: int = 1,
) -> ProjectionResult:
    """The paper's heuristic.

    For each source entity, in order: collect the aligned target words, group them into
    contiguous ranges, join ranges separated by at most ``max_gap`` target words that align
    to nothing, and keep every range whose length divided by the entity's length is greater
    than ``ratio``; each kept range is labelled with the entity's type. Later entities
    overwrite earlier ones word by word; an entity left with no word is unprojected.
    """
    n = len(tgt_tokens)
    s2t = alignment.source_to_target()
    aligned_any = {t for _, t in alignment.links}
    owner: list[tuple[int, int] | None] = [None] * n  # (entity, range id) per target word
    for k, span in enumerate(src_spans):
        targets = aligned_targets(span, s2t, n)
        if not targets:
            continue
        ranges = merge_gaps(contiguous_ranges(targets), max_gap, lambda t: t not in aligned_any)
        for r, (a, b) in enumerate(ranges):
            if (b - a) / len(span) > ratio:
                for t in range(a, b):
                    owner[t] = (k, r)
    result = ProjectionResult()
    t = 0
    while t < n:
        own = owner[t]
        if own is None:
            t += 1
            continue
        start = t
        while t < n and owner[t] == own:
            t += 1
        k = own[0]
        result.spans.append(Span(start, t, src_spans[k].label))
        result.scores.append(1.0)
        result.source_of.append(k)
    placed = set(result.source_of)
    result.unprojected = [k for k in range(len(src_spans)) if k not in placed]
    return result


def resolve_collisions(items: Sequence[tuple[Span, float, int]], n_entities: int) -> ProjectionResult:
    """Combine one proposed span per entity, in entity order, into non-overlapping spans.

    A span overlapping a kept span of the same type is merged into it (the union range;
    the kept span's entity stays its source, the better score is kept); one overlapping a
    span of another type replaces it only when strictly longer, else it is dropped.
    """
    kept: list[list] = []  # [span, score, entity]
    for span, score, k in items:
        clash = [e for e in kept if e[0].overlaps(span)]
        if any(e[0].label != span.label and len(e[0]) >= len(span) for e in clash):
            continue
        for e in clash:
            kept.remove(e)
        same = [e for e in clash if e[0].label == span.label]
        if same:
            start = min([span.start] + [e[0].start for e in same])
            end = max([span.end] + [e[0].end for e in same])
            first = min(same, key=lambda e: e[2])
            new = [Span(start, end, span.label), max([score] + [e[1] for e in same]), first[2]]
            # the union may now reach further spans
            for e in [e for e in kept if e[0].overlaps(new[0])]:
                kept.remove(e)
                if e[0].label == span.label:
                    new[0] = Span(min(new[0].start, e[0].start), max(new[0].end, e[0].end), span.label)
            kept.append(new)
        else:
            kept.append([span, score, k])
    kept.sort(key=lambda e: e[0])
    result = ProjectionResult(
        spans=[e[0] for e in kept], scores=[e[1] for e in kept], source_of=[e[2] for e in kept]
    )
    placed = set(result.source_of)
    result.unprojected = [k for k in range(n_entities) if k not in placed]
    return result


def elp(
    src_tokens: Sequence[str],
    src_spans: Sequence[Span],
    tgt_tokens: Sequence[str],
    alignment: Alignment,
    *,
    max_gap: int = 1,
) -> ProjectionResult:
    """Easy-Label-Projection variant: the union of aligned target words without
    punctuation-only words, grouped into contiguous ranges with gaps of at most ``max_gap``
    words filled; the largest group (the first on ties) is the projection. Collisions as in
    :func:`resolve_collisions`.
    """
    n = len(tgt_tokens)
    s2t = alignment.source_to_target()
    items = []
    for k, span in enumerate(src_spans):
        targets = [t for t in aligned_targets(span, s2t, n) if not is_punct(tgt_tokens[t])]
        if not targets:
            continue
        groups = merge_gaps(contiguous_ranges(targets), max_gap, lambda t: True)
        a, b = max(groups, key=lambda g: g[1] - g[0])
        items.append((Span(a, b, span.label), 1.0, k))
    return resolve_collisions(items, len(src_spans))


def naive(
    src_tokens: Sequence[str],
    src_spans: Sequence[Span],
    tgt_tokens: Sequence[str],
    alignment: Alignment,
) -> ProjectionResult:
    """From the first to the last target word aligned to the entity (a reference baseline).
    Collisions as in :func:`resolve_collisions`."""
    n = len(tgt_tokens)
    s2t = alignment.source_to_target()
    items = []
    for k, span in enumerate(src_spans):
        targets = aligned_targets(span, s2t, n)
        if targets:
            items.append((Span(targets[0], targets[-1] + 1, span.label), 1.0, k))
    return resolve_collisions(items, len(src_spans))
