"""Target candidates for candidate matching, and their scores against source entities.

A candidate is a target token range ``(start, end)`` (end exclusive). The score of a source
entity ``e`` against a candidate ``t`` is the Dice-like overlap of the alignment::

    c(e, t) = 2 * links(e, t) / (|e| + |t|)

where ``links(e, t)`` counts the alignment links between the words of ``e`` and of ``t``
(or sums their link weights when ``weighted`` is set and the alignment carries scores).

With ``owned`` a target word counts for an entity only when its strongest link (by link
score) comes from one of the entity's words: a word the aligner also links, more strongly,
to a source word outside the entity (typically an article or preposition next to a name,
linked both to its own counterpart and to a case-marked source noun) adds no links, so a
candidate gains nothing by reaching it. An entity none of whose linked target words it owns
keeps all its links (it is still projected).

Everything here is pure: lists and alignments in, lists out.
"""

from __future__ import annotations

import unicodedata
from typing import Iterable, Sequence

from .protocols import Alignment
from .spans import Span
from .errors import UserError

SENTENCE_FINAL = frozenset({"!", "?"})


def is_punct(token: str) -> bool:
    """True for a token made only of punctuation characters (Unicode category P*)."""
    return bool(token) and all(unicodedata.category(ch).startswith("P") for ch in token)


def final_punct_positions(tokens: Sequence[str]) -> list[int]:
    """Positions of sentence-final ``!`` / ``?`` tokens (the trailing run of them)."""
    out = []
    i = len(tokens) - 1
    while i >= 0 and (tokens[i] in SENTENCE_FINAL or (tokens[i] and set(tokens[i]) <= SENTENCE_FINAL)):
        out.append(i)
        i -= 1
    return out


def candidate_limit(tgt_tokens: Sequence[str], exclude_final: bool) -> int:
    """Candidates end at or before this position (before the sentence-final marks when excluded)."""
    final = final_punct_positions(tgt_tokens) if exclude_final else []
    return min(final) if final else len(tgt_tokens)


def ngram_candidates(tgt_tokens: Sequence[str], max_len: int | None = None, exclude_final: bool = True) -> list[tuple[int, int]]:
    """All target n-grams ``(start, end)``, optionally at most ``max_len`` long.

    With ``exclude_final`` spans that contain a sentence-final ``!`` or ``?`` are left out.
    """
    limit = candidate_limit(tgt_tokens, exclude_final)
    out = []
    for a in range(limit):
        top = limit if max_len is None else min(limit, a + max_len)
        for b in range(a + 1, top + 1):
            out.append((a, b))
    return out


def link_weights(alignment: Alignment, weighted: bool = False) -> list[tuple[int, int, float]]:
    """``(source, target, weight)`` per link; weight 1 unless ``weighted`` and the alignment has scores."""
    if weighted and alignment.scores is not None:
        return [(s, t, float(w)) for (s, t), w in zip(alignment.links, alignment.scores)]
    return [(s, t, 1.0) for s, t in alignment.links]


def entity_profiles(
    src_spans: Sequence[Span], alignment: Alignment, n_tgt: int, weighted: bool = False, owned: bool = False
) -> list[list[float]]:
    """Per source entity, the (weighted) number of links to each target position.

    With ``owned`` only the target words whose strongest link comes from the entity keep
    their links (see the module docstring; links without scores all tie, so then nothing
    changes); an entity that owns none of its linked words keeps them all.
    """
    prof = [[0.0] * n_tgt for _ in src_spans]
    owners: dict[int, list[int]] = {}
    for k, span in enumerate(src_spans):
        for s in span.indices():
            owners.setdefault(s, []).append(k)
    if not owners:
        return prof
    for s, t, w in link_weights(alignment, weighted):
        if t >= n_tgt:
            raise ValueError(f"alignment links target word {t} but the target has {n_tgt} words")
        for k in owners.get(s, ()):
            prof[k][t] += w
    if owned:
        strongest = [float("-inf")] * n_tgt  # per target word: its strongest link from any source word
        from_entity = [[float("-inf")] * n_tgt for _ in src_spans]  # ... from the words of each entity
        for s, t, w in link_weights(alignment, True):
            strongest[t] = max(strongest[t], w)
            for k in owners.get(s, ()):
                from_entity[k][t] = max(from_entity[k][t], w)
        for k, row in enumerate(prof):
            keep = [t for t in range(n_tgt) if row[t] > 0 and from_entity[k][t] >= strongest[t]]
            if keep:
                kept = set(keep)
                prof[k] = [v if t in kept else 0.0 for t, v in enumerate(row)]
    return prof


def prefix_sums(values: Sequence[float]) -> list[float]:
    out = [0.0]
    acc = 0.0
    for v in values:
        acc += v
        out.append(acc)
    return out


def dice(links: float, len_e: float, len_t: float) -> float:
    """``2 * links / (len_e + len_t)``, rounded to 12 decimals so that equal scores reached by
    different sums of weights compare equal (ties are then broken as documented)."""
    return round(2.0 * links / (len_e + len_t), 12)


def word_costs(alignment: Alignment, n_tgt: int, unlinked_cost: float = 1.0) -> list[float]:
    """Prefix sums of what each target word adds to a candidate's length: 1, or
    ``unlinked_cost`` for a word that no link reaches (1 everywhere gives the plain length)."""
    if unlinked_cost == 1.0:
        return [float(i) for i in range(n_tgt + 1)]
    linked = {t for _, t in alignment.links}
    return prefix_sums([1.0 if t in linked else unlinked_cost for t in range(n_tgt)])


def score_candidates(
    src_spans: Sequence[Span],
    candidates: Iterable[tuple[int, int]],
    alignment: Alignment,
    n_tgt: int,
    threshold: float = 0.0,
    weighted: bool = False,
    unlinked_cost: float = 1.0,
    owned: bool = False,
) -> list[list[tuple[float, int, int]]]:
    """Per entity, the candidates scoring above ``threshold`` (and above 0) as ``(score, start, end)``.

    ``unlinked_cost`` is what a target word that no link reaches adds to the candidate's
    length ``|t|`` (1: the plain Dice score; less lets a candidate span unlinked words such
    as articles or prepositions inside a name more cheaply). ``owned``: see
    :func:`entity_profiles`.
    """
    cands = list(candidates)
    cost = word_costs(alignment, n_tgt, unlinked_cost)
    out = []
    for k, prof in enumerate(entity_profiles(src_spans, alignment, n_tgt, weighted, owned)):
        pre = prefix_sums(prof)
        le = len(src_spans[k])
        row = []
        for a, b in cands:
            links = pre[b] - pre[a]
            if links > 0:
                sc = dice(links, le, cost[b] - cost[a])
                if sc > threshold:
                    row.append((sc, a, b))
        out.append(row)
    return out


def pruned_ngram_candidates(
    src_spans: Sequence[Span],
    tgt_tokens: Sequence[str],
    alignment: Alignment,
    threshold: float = 0.0,
    max_len: int | None = None,
    exclude_final: bool = True,
    weighted: bool = False,
    unlinked_cost: float = 1.0,
    owned: bool = False,
) -> list[list[tuple[float, int, int]]]:
    """The n-gram candidates of each entity whose first and last word link to the entity
    (with ``owned``: keep their links to it, see :func:`entity_profiles`).

    Any other n-gram with links scores no higher than the n-gram trimmed to its outermost
    linked words (same links, no longer, and inside it, so it overlaps nothing new); the
    trimmed one is strictly better when ``unlinked_cost`` is positive, and ties when it is 0
    and only unlinked words were trimmed. Hence this pruning changes neither the optimum value
    of the matching nor the choices of the greedy solver (which prefers the shorter of equal
    scores); a chosen span always starts and ends on a word linked to its entity.
    """
    if unlinked_cost < 0:
        raise UserError(f"unlinked_cost must be 0 or more, got {unlinked_cost}")
    if not src_spans:
        return []
    limit = candidate_limit(tgt_tokens, exclude_final)
    cost = word_costs(alignment, len(tgt_tokens), unlinked_cost)
    out = []
    for k, prof in enumerate(entity_profiles(src_spans, alignment, len(tgt_tokens), weighted, owned)):
        linked = [t for t in range(limit) if prof[t] > 0]
        le = len(src_spans[k])
        row = []
        for i, a in enumerate(linked):
            acc = 0.0
            for b in linked[i:]:
                if max_len is not None and b + 1 - a > max_len:
                    break
                acc += prof[b]
                sc = dice(acc, le, cost[b + 1] - cost[a])
                if sc > threshold:
                    row.append((sc, a, b + 1))
        out.append(row)
    return out


def combine_alignments(
    alignments: Sequence[Alignment], weights: Sequence[float] | None = None, use_scores: bool = False
) -> Alignment:
    """Union of several alignments of one sentence pair; a link's score is the summed weight
    of the alignments that contain it (weights default to 1 each), each weight multiplied by
    the link's own score in that alignment when ``use_scores`` (and the alignment has scores)."""
    if weights is None:
        weights = [1.0] * len(alignments)
    if len(weights) != len(alignments):
        raise ValueError(f"{len(alignments)} alignments but {len(weights)} weights")
    acc: dict[tuple[int, int], float] = {}
    for al, w in zip(alignments, weights):
        scores = al.scores if use_scores and al.scores is not None else [1.0] * len(al.links)
        for link, sc in zip(al.links, scores):
            acc[link] = acc.get(link, 0.0) + float(w) * float(sc)
    keys = tuple(sorted(acc))
    return Alignment(keys, tuple(acc[k] for k in keys))
