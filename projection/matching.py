"""Candidate matching: score every (source entity, target candidate) pair by the alignment and
choose non-overlapping candidates with a solver (:mod:`silver_ner.projection.solvers`).

Candidates are either all target n-grams or spans given by the caller (for example spans a
token-classification model predicted on the target; their class is ignored).
"""

from __future__ import annotations

from collections import Counter
from typing import Collection, Iterable, Sequence

from .candidates import is_punct, ngram_candidates, pruned_ngram_candidates, score_candidates
from .protocols import Alignment, ProjectionResult
from .solvers import get_solver
from .spans import Span


def match(
    src_tokens: Sequence[str],
    src_spans: Sequence[Span],
    tgt_tokens: Sequence[str],
    alignment: Alignment,
    *,
    solver: str = "exact",
    threshold: float = 0.0,
    max_len: int | None = None,
    exclude_final: bool = True,
    weighted: bool = False,
    unlinked_cost: float = 1.0,
    owned: bool = False,
    candidate_spans: Sequence[Span] | Sequence[tuple[int, int]] | None = None,
    trim_punct: bool = False,
    trim_words: Collection[str] = (),
) -> ProjectionResult:
    """Project by candidate matching.

    ``threshold``: only candidates scoring above it are considered. ``max_len`` and
    ``exclude_final`` shape the n-gram candidates; ``candidate_spans`` replaces them. With
    ``weighted`` a link counts by its alignment score (e.g. the number of aligners that agree,
    see :func:`~silver_ner.projection.candidates.combine_alignments`). ``unlinked_cost``: what a
    target word no link reaches adds to a candidate's length. ``owned``: a target word counts for
    an entity only when its strongest link comes from the entity (see
    :func:`~silver_ner.projection.candidates.entity_profiles`). ``trim_punct`` and
    ``trim_words`` apply :func:`trim_span` to each chosen span.
    """
    n = len(tgt_tokens)
    solve = get_solver(solver)
    if candidate_spans is not None:
        cands = sorted({(c.start, c.end) if isinstance(c, Span) else (int(c[0]), int(c[1])) for c in candidate_spans})
        for a, b in cands:
            if not 0 <= a < b <= n:
                raise ValueError(f"candidate span ({a}, {b}) outside a target of {n} words")
        rows = score_candidates(src_spans, cands, alignment, n, threshold, weighted, unlinked_cost, owned)
    elif solver == "ilp":
        # the reference solver sees every n-gram, not the pruned set
        rows = score_candidates(
            src_spans, ngram_candidates(tgt_tokens, max_len, exclude_final), alignment, n, threshold, weighted, unlinked_cost,
            owned,
        )
    else:
        rows = pruned_ngram_candidates(
            src_spans, tgt_tokens, alignment, threshold, max_len, exclude_final, weighted, unlinked_cost, owned
        )
    result = ProjectionResult()
    for k, score, a, b in solve(rows):
        span = trim_span(Span(a, b, src_spans[k].label), tgt_tokens, trim_punct, trim_words)
        result.spans.append(span)
        result.scores.append(score)
        result.source_of.append(k)
    placed = set(result.source_of)
    result.unprojected = [k for k in range(len(src_spans)) if k not in placed]
    order = sorted(range(len(result.spans)), key=lambda i: result.spans[i])
    result.spans = [result.spans[i] for i in order]
    result.scores = [result.scores[i] for i in order]
    result.source_of = [result.source_of[i] for i in order]
    return result


def frequent_lowercase_words(sentences: Iterable[Sequence[str]], share: float, min_lower: float = 0.9) -> list[str]:
    """The corpus's own function words: words (lower-cased) found in at least ``share`` of the sentences
    and written in lower case in at least ``min_lower`` of their occurrences past a sentence's first word
    (a word of a script without case counts as lower case). The casing condition keeps frequent names
    (*Commission*, *European*, *Comisión* in parliament proceedings) off the list; articles and
    prepositions (*the, of*; *der, die*; *la, de*) stay. Sorted; used as ``trim_words``."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    df: Counter = Counter()
    lower: Counter = Counter()
    later: Counter = Counter()
    n = 0
    for tokens in sentences:
        n += 1
        df.update({w.lower() for w in tokens})
        for w in tokens[1:]:
            key = w.lower()
            later[key] += 1
            lower[key] += w == key
    return sorted(w for w, c in df.items()
                  if c >= share * n and later[w] and lower[w] >= min_lower * later[w])


def trim_span(span: Span, tokens: Sequence[str], punct: bool = True, words: Collection[str] = ()) -> Span:
    """Drop punctuation-only words (with ``punct``) at both edges and words in ``words``
    (compared lower-cased, e.g. articles) at the left edge; never trims a span to nothing."""
    a, b = span.start, span.end
    lowered = {w.lower() for w in words}
    while b - a > 1:
        if punct and is_punct(tokens[a]):
            a += 1
        elif punct and is_punct(tokens[b - 1]):
            b -= 1
        elif lowered and tokens[a].lower() in lowered:
            a += 1
        else:
            break
    return span if (a, b) == (span.start, span.end) else Span(a, b, span.label)
