"""Word links from a similarity matrix: the SimAlign extraction methods as pure numpy functions.

Every function takes a ``(m, n)`` similarity matrix between ``m`` source and ``n`` target
words and returns a boolean ``(m, n)`` link matrix. Ties are broken towards the lowest index
(``numpy.argmax`` order), so results are deterministic.

Methods (names as used throughout the project, SimAlign 0.4 names in brackets):

- ``fwd`` / ``rev``: each source (target) word links to its most similar target (source) word;
- ``argmax`` (``inter``): the intersection of ``fwd`` and ``rev``;
- ``itermax`` (``itermax``): ``argmax`` plus further rounds of argmax on the words left
  unaligned, where a word pair with one side already aligned is damped by ``alpha``;
- ``match`` (``mwmf``): the maximum-weight bipartite matching (each word in at most one link).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from .errors import UserError

METHODS = ("argmax", "itermax", "match", "fwd", "rev")
SIMALIGN_NAMES = {"argmax": "inter", "itermax": "itermax", "match": "mwmf", "fwd": "fwd", "rev": "rev"}


def cosine_similarity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cosine similarity rescaled to ``[0, 1]``: ``(cos + 1) / 2``; zero vectors have cosine 0."""
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected two 2-d arrays with the same width, got shapes {x.shape} and {y.shape}")
    dtype = np.result_type(x.dtype, y.dtype, np.float32)
    xn = np.linalg.norm(x, axis=1, keepdims=True).astype(dtype)
    yn = np.linalg.norm(y, axis=1, keepdims=True).astype(dtype)
    x = x / np.where(xn == 0, 1, xn)
    y = y / np.where(yn == 0, 1, yn)
    return (x @ y.T + 1.0) / 2.0


def apply_distortion(sim: np.ndarray, ratio: float) -> np.ndarray:
    """Damp links far from the diagonal: ``sim * (1 - ratio * (i/(m-1) - j/(n-1))**2)``.

    Unchanged when ``ratio`` is 0 or either side has fewer than two words.
    """
    sim = np.asarray(sim)
    m, n = sim.shape
    if ratio == 0.0 or m < 2 or n < 2:
        return sim
    rel_i = np.arange(m, dtype=np.float64)[:, None] / (m - 1)
    rel_j = np.arange(n, dtype=np.float64)[None, :] / (n - 1)
    return sim * (1.0 - ratio * (rel_j - rel_i) ** 2)


def _check(sim) -> np.ndarray:
    sim = np.asarray(sim)
    if sim.ndim != 2:
        raise ValueError(f"expected a 2-d similarity matrix, got shape {sim.shape}")
    if np.isnan(sim).any():
        raise ValueError("similarity matrix contains NaN")
    return sim


def forward_links(sim: np.ndarray) -> np.ndarray:
    """Each row links to its highest column."""
    sim = _check(sim)
    out = np.zeros(sim.shape, dtype=bool)
    if sim.size:
        out[np.arange(sim.shape[0]), sim.argmax(axis=1)] = True
    return out


def backward_links(sim: np.ndarray) -> np.ndarray:
    """Each column links to its highest row."""
    sim = _check(sim)
    out = np.zeros(sim.shape, dtype=bool)
    if sim.size:
        out[sim.argmax(axis=0), np.arange(sim.shape[1])] = True
    return out


def argmax_links(sim: np.ndarray) -> np.ndarray:
    """Mutual best pairs: the intersection of :func:`forward_links` and :func:`backward_links`."""
    return forward_links(sim) & backward_links(sim)


def itermax_links(sim: np.ndarray, max_count: int = 2, alpha: float = 0.9) -> np.ndarray:
    """SimAlign's IterMax.

    Start from :func:`argmax_links`. Each further round (``max_count - 1`` of them, one by
    default) weights the similarities by a mask: 0 where both words are already aligned,
    ``alpha`` where one of them is, 1 (clipped) where neither is; then adds the mutual best
    pairs of the weighted matrix that are not between two aligned words. A round adds nothing
    once every source or every target word is aligned. Matrices with two or fewer words on a
    side only get :func:`argmax_links`.
    """
    sim = _check(sim)
    inter = argmax_links(sim)
    m, n = sim.shape
    if min(m, n) <= 2:
        return inter
    for _ in range(max_count - 1):
        free_row = ~inter.any(axis=1)  # (m,)
        free_col = ~inter.any(axis=0)  # (n,)
        if not free_row.any() or not free_col.any():
            break
        mask = np.clip(alpha * free_row[:, None] + alpha * free_col[None, :], 0.0, 1.0)
        allowed = free_row[:, None] | free_col[None, :]
        new = argmax_links(sim * mask) & allowed
        if not (new & ~inter).any():
            break
        inter = inter | new
    return inter


def match_links(sim: np.ndarray) -> np.ndarray:
    """Maximum-weight bipartite matching (``min(m, n)`` links), by ``linear_sum_assignment``."""
    sim = _check(sim)
    out = np.zeros(sim.shape, dtype=bool)
    if sim.size:
        rows, cols = linear_sum_assignment(sim, maximize=True)
        out[rows, cols] = True
    return out


_FUNCS = {
    "argmax": argmax_links,
    "itermax": itermax_links,
    "match": match_links,
    "fwd": forward_links,
    "rev": backward_links,
}


def check_method(method: str) -> str:
    """Return ``method`` if known, else raise a ``ValueError`` listing the known ones."""
    if method not in _FUNCS:
        raise UserError(f"unknown alignment method {method!r}; choose from {', '.join(METHODS)}")
    return method


def link_matrix(sim: np.ndarray, method: str) -> np.ndarray:
    """The boolean link matrix of ``method`` (one of :data:`METHODS`)."""
    return _FUNCS[check_method(method)](sim)


def links_of(matrix: np.ndarray) -> list[tuple[int, int]]:
    """Sorted ``(row, column)`` pairs of the true cells of a link matrix."""
    rows, cols = np.nonzero(matrix)
    return list(zip(rows.tolist(), cols.tolist()))
