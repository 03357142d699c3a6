"""Solvers for candidate matching: assign at most one target candidate to each source entity
so that chosen candidates never overlap, maximising (or greedily approaching) the summed score.

A problem is given per entity as a list of ``(score, start, end)`` candidates (see
:mod:`silver_ner.projection.candidates`); a solution is a list of ``(entity, score, start,
end)`` sorted by entity. Three solvers share that shape:

``greedy``
    the method of the paper: repeatedly take the highest-scoring remaining (entity,
    candidate) pair, then drop the entity's other candidates and every candidate that
    overlaps the chosen one. Ties go to the lower entity index, then the shorter, then the
    leftmost candidate.
``exact``
    depth-first branch and bound over the entities in index order; each entity tries its
    candidates best first (score descending, then longer, then leftmost) and finally "no
    candidate". A solution replaces the incumbent only when its value is strictly higher
    (by more than ``EPS``), so among optimal solutions the first in that order wins: the
    lower-indexed entities get their preferred candidates. When every entity's preferred
    candidate is compatible with the others (the common case) that is returned at once.
``ilp``
    the integer programme solved by CBC through PuLP: binary ``x[e,t]``, maximise
    ``sum c(e,t) x[e,t]`` with ``sum_t x[e,t] <= 1`` per entity and one clique constraint
    per target word (the candidates covering it sum to at most 1). The reference for the
    other two; slow.
"""

from __future__ import annotations

from typing import Sequence
from .errors import UserError

Candidate = tuple[float, int, int]
Choice = tuple[int, float, int, int]

EPS = 1e-9


def _pref(c: Candidate) -> tuple[float, int, int]:
    """The exact solver's order of an entity's candidates: score descending, then longer, then leftmost."""
    return (-c[0], c[1] - c[2], c[1])


def solve_greedy(cands: Sequence[Sequence[Candidate]]) -> list[Choice]:
    """Greedy matching (highest score first; see the module docstring for ties)."""
    pairs = [(-sc, k, b - a, a, b) for k, row in enumerate(cands) for sc, a, b in row]
    if not pairs:
        return []
    pairs.sort()
    done: set[int] = set()
    chosen: list[tuple[int, int]] = []
    out: list[Choice] = []
    n_ent = len(cands)
    for neg, k, _, a, b in pairs:
        if k in done:
            continue
        if any(a < cb and ca < b for ca, cb in chosen):
            continue
        done.add(k)
        chosen.append((a, b))
        out.append((k, -neg, a, b))
        if len(done) == n_ent:
            break
    out.sort()
    return out


def solve_exact(cands: Sequence[Sequence[Candidate]]) -> list[Choice]:
    """Maximum-score matching without overlaps (see the module docstring for ties)."""
    ents = [k for k, row in enumerate(cands) if row]
    if not ents:
        return []
    rows = [sorted(cands[k], key=_pref) for k in ents]
    # fast path: every entity's preferred candidate, if they are pairwise disjoint
    firsts = [r[0] for r in rows]
    ok = True
    if len(firsts) > 1:
        spans = sorted((c[1], c[2]) for c in firsts)
        for (a1, b1), (a2, b2) in zip(spans, spans[1:]):
            if a2 < b1:
                ok = False
                break
    if ok:
        return [(k, c[0], c[1], c[2]) for k, c in zip(ents, firsts)]

    m = len(ents)
    bound = [0.0] * (m + 1)
    for i in range(m - 1, -1, -1):
        bound[i] = bound[i + 1] + rows[i][0][0]
    best_val = -1.0
    best: list[Candidate | None] = []
    current: list[Candidate | None] = [None] * m
    used: list[tuple[int, int]] = []

    def dfs(i: int, val: float) -> None:
        nonlocal best_val, best
        if val + bound[i] <= best_val + EPS:
            return
        if i == m:
            best_val = val
            best = list(current)
            return
        for c in rows[i]:
            a, b = c[1], c[2]
            if any(a < ub and ua < b for ua, ub in used):
                continue
            current[i] = c
            used.append((a, b))
            dfs(i + 1, val + c[0])
            used.pop()
            current[i] = None
        dfs(i + 1, val)

    dfs(0, 0.0)
    return [(k, c[0], c[1], c[2]) for k, c in zip(ents, best) if c is not None]


def solve_ilp(cands: Sequence[Sequence[Candidate]], time_limit: float | None = None) -> list[Choice]:
    """The same optimum through an integer programme solved by CBC (PuLP, messages off)."""
    import pulp

    items = [(k, sc, a, b) for k, row in enumerate(cands) for sc, a, b in row]
    if not items:
        return []
    prob = pulp.LpProblem("projection", pulp.LpMaximize)
    xs = [pulp.LpVariable(f"x{i}", cat=pulp.LpBinary) for i in range(len(items))]
    prob += pulp.lpSum(sc * x for (k, sc, a, b), x in zip(items, xs))
    by_ent: dict[int, list] = {}
    by_tok: dict[int, list] = {}
    for (k, sc, a, b), x in zip(items, xs):
        by_ent.setdefault(k, []).append(x)
        for t in range(a, b):
            by_tok.setdefault(t, []).append(x)
    for k, group in sorted(by_ent.items()):
        if len(group) > 1:
            prob += pulp.lpSum(group) <= 1, f"entity_{k}"
    for t, group in sorted(by_tok.items()):
        if len(group) > 1:
            prob += pulp.lpSum(group) <= 1, f"token_{t}"
    status = prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    if pulp.LpStatus[status] != "Optimal":
        raise RuntimeError(f"CBC did not reach an optimum: {pulp.LpStatus[status]}")
    out = [item for item, x in zip(items, xs) if (x.value() or 0) > 0.5]
    out.sort()
    return out


def solution_value(solution: Sequence[Choice]) -> float:
    return sum(c[1] for c in solution)


SOLVERS = {"greedy": solve_greedy, "exact": solve_exact, "ilp": solve_ilp}


def get_solver(name: str):
    try:
        return SOLVERS[name]
    except KeyError:
        raise UserError(f"unknown solver {name!r}; valid solvers: {', '.join(sorted(SOLVERS))}") from None
