import random

import pytest

from silver_ner.projection.candidates import ngram_candidates, pruned_ngram_candidates, score_candidates
from silver_ner.projection.protocols import Alignment
from silver_ner.projection.solvers import get_solver, solution_value, solve_exact, solve_greedy, solve_ilp
from silver_ner.projection.spans import Span


def random_problem(rng):
    n_src, n_tgt = rng.randint(3, 12), rng.randint(3, 12)
    spans, pos = [], 0
    while pos < n_src:
        length = rng.randint(1, 3)
        if rng.random() < 0.6 and pos + length <= n_src:
            spans.append(Span(pos, pos + length, rng.choice(["PER", "ORG"])))
        pos += length
    links = sorted({(rng.randrange(n_src), rng.randrange(n_tgt)) for _ in range(rng.randint(0, 2 * n_src))})
    return spans, ["w"] * n_tgt, Alignment.from_pairs(links, [rng.choice([0.5, 0.7, 0.9]) for _ in links])


def assert_valid(solution, rows):
    ents = [k for k, *_ in solution]
    assert len(ents) == len(set(ents))
    chosen = sorted((a, b) for _, _, a, b in solution)
    for (a1, b1), (a2, b2) in zip(chosen, chosen[1:]):
        assert b1 <= a2
    for k, sc, a, b in solution:
        assert (sc, a, b) in rows[k]


@pytest.mark.parametrize("params", [{}, {"weighted": True, "unlinked_cost": 0.0}, {"unlinked_cost": 0.5}])
def test_exact_equals_ilp_optimum_and_greedy_never_beats_it(params):
    rng = random.Random(7)
    solved = 0
    for _ in range(25):
        spans, tgt, links = random_problem(rng)
        full = score_candidates(spans, ngram_candidates(tgt), links, len(tgt), **params)
        pruned = pruned_ngram_candidates(spans, tgt, links, **params)
        exact = solve_exact(pruned)
        assert_valid(exact, pruned)
        greedy = solve_greedy(pruned)
        assert_valid(greedy, pruned)
        assert solution_value(greedy) <= solution_value(exact) + 1e-9
        # pruning is exact: the full candidate set has the same optimum and the same greedy choice
        assert solution_value(solve_exact(full)) == pytest.approx(solution_value(exact))
        assert solve_greedy(full) == greedy
        if sum(map(len, full)) and len(spans) > 1:
            ilp = solve_ilp(full)
            assert_valid(ilp, full)
            assert solution_value(ilp) == pytest.approx(solution_value(exact), abs=1e-6)
            solved += 1
    assert solved >= 5


def test_exact_beats_greedy_on_a_conflict():
    # entity 0 prefers [0,2) (0.9) which blocks entity 1's only candidate [1,2) (0.8);
    # the optimum gives entity 0 its second choice [0,1)
    rows = [[(0.9, 0, 2), (0.7, 0, 1)], [(0.8, 1, 2)]]
    assert solve_greedy(rows) == [(0, 0.9, 0, 2)]
    assert solve_exact(rows) == [(0, 0.7, 0, 1), (1, 0.8, 1, 2)]


def test_exact_tie_breaking_is_deterministic():
    # both solutions score 1.0: the lower entity gets its preferred (longer, then leftmost) candidate
    rows = [[(0.5, 0, 1), (0.5, 1, 2)], [(0.5, 0, 1), (0.5, 1, 2)]]
    assert solve_exact(rows) == [(0, 0.5, 0, 1), (1, 0.5, 1, 2)]
    assert solve_exact([sorted(r, reverse=True) for r in rows]) == [(0, 0.5, 0, 1), (1, 0.5, 1, 2)]
    # equal scores for one entity: exact takes the longer, greedy (the paper's) the shorter
    rows = [[(0.5, 0, 2), (0.5, 3, 4)]]
    assert solve_exact(rows) == [(0, 0.5, 0, 2)]
    assert solve_greedy(rows) == [(0, 0.5, 3, 4)]
    # ties inside the branch and bound: entity 0's longer candidate blocks entity 1 unless
    # entity 1 has an equally good alternative
    rows = [[(0.6, 0, 3), (0.6, 0, 1)], [(0.4, 2, 3), (0.4, 4, 5)]]
    assert solve_exact(rows) == [(0, 0.6, 0, 3), (1, 0.4, 4, 5)]


def test_empty_and_unknown_solver():
    assert solve_exact([[], []]) == []
    assert solve_greedy([]) == []
    assert solve_ilp([[]]) == []
    with pytest.raises(ValueError, match="valid solvers: exact, greedy, ilp"):
        get_solver("simplex")
