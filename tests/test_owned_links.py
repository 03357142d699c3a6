"""``owned``: a target word counts for a source entity only when its strongest link comes from
the entity (candidate matching, projection/candidates.py)."""

import random

import pytest

from silver_ner.projection.candidates import ngram_candidates, pruned_ngram_candidates, score_candidates
from silver_ner.projection.matching import match
from silver_ner.projection.protocols import Alignment
from silver_ner.projection.spans import Span

TUNED = {"solver": "greedy", "weighted": True, "unlinked_cost": 0.0}

# a case-marked source noun: the aligner links it to the target's article as well as to its
# counterpart, and links the article more strongly to the source's own article
SRC = "Ich bitte die Kommission".split()
TGT = "I ask the Commission".split()
KOMMISSION = [Span(3, 4, "ORG")]
LINKS = Alignment(((0, 0), (1, 1), (2, 2), (3, 2), (3, 3)), (0.95, 0.9, 0.9, 0.85, 0.95))


def test_a_word_more_strongly_linked_outside_the_entity_is_not_taken():
    assert match(SRC, KOMMISSION, TGT, LINKS, **TUNED).spans == [Span(2, 4, "ORG")]  # "the Commission"
    assert match(SRC, KOMMISSION, TGT, LINKS, **TUNED, owned=True).spans == [Span(3, 4, "ORG")]


def test_every_solver_and_given_candidates_see_the_owned_links():
    for solver in ("greedy", "exact", "ilp"):
        res = match(SRC, KOMMISSION, TGT, LINKS, **{**TUNED, "solver": solver}, owned=True)
        assert res.spans == [Span(3, 4, "ORG")], solver
    res = match(SRC, KOMMISSION, TGT, LINKS, **TUNED, owned=True, candidate_spans=[(2, 4), (3, 4)])
    assert res.spans == [Span(3, 4, "ORG")]


def test_a_compound_keeps_all_the_words_it_owns():
    src = "die Mitgliedstaaten".split()
    tgt = "the Member States".split()
    links = Alignment(((0, 0), (1, 1), (1, 2)), (0.9, 0.9, 0.92))
    assert match(src, [Span(1, 2, "ORG")], tgt, links, **TUNED, owned=True).spans == [Span(1, 3, "ORG")]


def test_a_word_linked_from_two_entity_words_counts_by_its_strongest_link():
    src = "der Vertrag von Nizza".split()
    tgt = "the Treaty of Nice".split()
    # "of" linked from "von" (inside) more weakly than from "der" (outside): not owned
    links = Alignment(((0, 0), (0, 2), (1, 1), (2, 2), (3, 3)), (0.9, 0.88, 0.95, 0.8, 0.95))
    rows = pruned_ngram_candidates([Span(1, 4, "MISC")], tgt, links, weighted=True, owned=True)
    # the span still reaches "Nice" across "of", which now adds length but no links
    assert max(rows[0])[1:] == (1, 4)
    assert max(rows[0])[0] == pytest.approx(2 * 1.9 / 6)


def test_an_entity_that_owns_no_linked_word_keeps_its_links():
    src = "Rat und Rat".split()
    tgt = "Council".split()
    links = Alignment(((0, 0), (2, 0)), (0.9, 0.8))
    res = match(src, [Span(2, 3, "ORG")], tgt, links, **TUNED, owned=True)
    assert res.spans == [Span(0, 1, "ORG")] and res.unprojected == []


def test_links_without_scores_all_tie_so_nothing_changes():
    plain = Alignment(LINKS.links)
    assert match(SRC, KOMMISSION, TGT, plain, solver="greedy", owned=True).spans == \
        match(SRC, KOMMISSION, TGT, plain, solver="greedy").spans


def test_pruning_keeps_the_best_candidate_of_every_entity():
    rng = random.Random(7)
    for _ in range(200):
        n_src, n_tgt = rng.randint(2, 6), rng.randint(2, 7)
        pairs = sorted({(rng.randrange(n_src), rng.randrange(n_tgt)) for _ in range(rng.randint(1, 9))})
        links = Alignment(tuple(pairs), tuple(round(rng.uniform(0.5, 1.0), 2) for _ in pairs))
        a = rng.randrange(n_src)
        spans = [Span(a, rng.randint(a + 1, n_src), "X")]
        tgt = ["w"] * n_tgt
        for cost in (0.0, 1.0):
            params = {"weighted": True, "unlinked_cost": cost, "owned": True}
            full = score_candidates(spans, ngram_candidates(tgt), links, n_tgt, **params)
            pruned = pruned_ngram_candidates(spans, tgt, links, **params)
            assert max((s for s, _, _ in full[0]), default=0) == pytest.approx(max((s for s, _, _ in pruned[0]), default=0))
