"""A statistical word aligner through eflomal (optional: ``pip install 'silver-ner[eflomal]'``).

eflomal (GPL-3.0) is an external package and never a required dependency: this module
imports it only when an :class:`EflomalAligner` is built. eflomal learns from the corpus it is
given, so one :meth:`EflomalAligner.align` call aligns all its pairs jointly; a few hundred
pairs or more give useful links, a handful do not.

Forward and reverse links are symmetrised here (``intersection``, ``union``, ``grow-diag``,
``grow-diag-final`` or ``grow-diag-final-and``, the usual heuristics of phrase-based MT).
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Sequence

from .protocols import Alignment
from .errors import UserError

INSTALL_HINT = "pip install 'silver-ner[eflomal]'"
SYMMETRISATIONS = ("intersection", "union", "grow-diag", "grow-diag-final", "grow-diag-final-and")
_SPACE = re.compile(r"\s+")


def require_eflomal():
    """The ``eflomal`` module, or an ``ImportError`` that says how to install it."""
    try:
        import eflomal
    except ImportError as exc:
        raise ImportError(f"the eflomal aligner needs the optional package eflomal (GPL-3.0): {INSTALL_HINT}") from exc
    return eflomal


def symmetrise(fwd: set[tuple[int, int]], rev: set[tuple[int, int]], how: str = "grow-diag-final-and") -> set[tuple[int, int]]:
    """Combine two directional link sets (both as ``(source, target)``)."""
    if how not in SYMMETRISATIONS:
        raise UserError(f"unknown symmetrisation {how!r}; choose from {', '.join(SYMMETRISATIONS)}")
    inter, union = fwd & rev, fwd | rev
    if how == "intersection":
        return inter
    if how == "union":
        return union
    links = set(inter)
    neighbours = [(-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]

    def src_free(i):
        return all(s != i for s, _ in links)

    def tgt_free(j):
        return all(t != j for _, t in links)

    grown = True
    while grown:  # grow-diag: add union links next to current links that cover a new word
        grown = False
        for s, t in sorted(links):
            for ds, dt in neighbours:
                cand = (s + ds, t + dt)
                if cand in union and cand not in links and (src_free(cand[0]) or tgt_free(cand[1])):
                    links.add(cand)
                    grown = True
    if how == "grow-diag":
        return links
    for direction in (fwd, rev):  # final(-and): add remaining directional links of unaligned words
        for s, t in sorted(direction):
            if how == "grow-diag-final-and":
                ok = src_free(s) and tgt_free(t)
            else:
                ok = src_free(s) or tgt_free(t)
            if ok:
                links.add((s, t))
    return links


def _parse_links(line: str, where: str) -> set[tuple[int, int]]:
    out = set()
    for item in line.split():
        try:
            s, t = item.split("-")
            out.add((int(s), int(t)))
        except ValueError:
            raise ValueError(f"{where}: cannot read link {item!r}") from None
    return out


class EflomalAligner:
    """Word aligner backed by eflomal; implements the ``Aligner`` protocol.

    Tokens are lowercased (``lowercase=True``) and inner whitespace becomes ``_`` so that
    token indices are preserved. ``n_iterations=None`` lets eflomal choose from the corpus size.
    """

    def __init__(self, symmetrisation: str = "grow-diag-final-and", *, model: int = 3, n_samplers: int = 3,
                 n_iterations: int | None = None, lowercase: bool = True):
        if symmetrisation not in SYMMETRISATIONS:
            raise UserError(f"unknown symmetrisation {symmetrisation!r}; choose from {', '.join(SYMMETRISATIONS)}")
        if model not in (1, 2, 3):
            raise UserError(f"eflomal model must be 1 (IBM1), 2 (+HMM) or 3 (+fertility), got {model}")
        self._eflomal = require_eflomal()
        self.symmetrisation = symmetrisation
        self.model = model
        self.n_samplers = n_samplers
        self.n_iterations = n_iterations
        self.lowercase = lowercase

    @property
    def identity(self) -> str:
        return f"eflomal:model={self.model}:samplers={self.n_samplers}:iterations={self.n_iterations or 'auto'}:{self.symmetrisation}"

    def _line(self, tokens: Sequence[str]) -> str:
        words = [_SPACE.sub("_", w.strip()) or "_" for w in tokens]
        line = " ".join(words)
        return (line.lower() if self.lowercase else line) + "\n"

    def align_methods(self, pairs: Sequence[tuple[Sequence[str], Sequence[str]]],
                      methods: Sequence[str] = ("eflomal",)) -> dict[str, list[Alignment]]:
        """eflomal gives one kind of links, answered under the name ``eflomal``; other names are absent."""
        return {"eflomal": self.align(pairs)} if "eflomal" in methods else {}

    def align(self, pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> list[Alignment]:
        pairs = list(pairs)
        for i, (src, tgt) in enumerate(pairs):
            if isinstance(src, str) or isinstance(tgt, str):
                raise ValueError(f"pair {i}: pass lists of tokens, not strings")
        todo = [i for i, (s, t) in enumerate(pairs) if s and t]
        out = [Alignment(()) for _ in pairs]  # a pair with an empty side has no links
        if not todo:
            return out
        with tempfile.TemporaryDirectory(prefix="silver-ner-eflomal-") as tmp:
            fwd_path, rev_path = os.path.join(tmp, "fwd"), os.path.join(tmp, "rev")
            aligner = self._eflomal.Aligner(model=self.model, n_samplers=self.n_samplers, n_iterations=self.n_iterations)
            aligner.align(
                [self._line(pairs[i][0]) for i in todo],
                [self._line(pairs[i][1]) for i in todo],
                links_filename_fwd=fwd_path,
                links_filename_rev=rev_path,
            )
            with open(fwd_path, encoding="utf-8") as f:
                fwd_lines = f.read().splitlines()
            with open(rev_path, encoding="utf-8") as f:
                rev_lines = f.read().splitlines()
        if len(fwd_lines) != len(todo) or len(rev_lines) != len(todo):
            raise RuntimeError(f"eflomal returned {len(fwd_lines)}/{len(rev_lines)} link lines for {len(todo)} pairs")
        for k, i in enumerate(todo):
            fwd = _parse_links(fwd_lines[k], f"eflomal forward links, pair {i}")
            rev = _parse_links(rev_lines[k], f"eflomal reverse links, pair {i}")
            out[i] = Alignment.from_pairs(symmetrise(fwd, rev, self.symmetrisation))
        return out
