"""The projection methods by name, with their parameters.

``get_method(name)`` returns a function ``(src_tokens, src_spans, tgt_tokens, alignment,
**params) -> ProjectionResult`` with the registered parameters bound (keyword arguments
given at call time override them). ``get_spec(name)`` also tells which word links (alignment
methods, layer) the method was measured with; ``DEFAULT_METHOD`` is the best method measured
on Europarl (see ``docs/projection.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from .heuristic import elp, heuristic, naive
from .matching import match
from .errors import UserError
from .protocols import ProjectionResult


@dataclass(frozen=True)
class MethodSpec:
    name: str
    func: Callable[..., ProjectionResult]
    params: dict = field(default_factory=dict)
    description: str = ""
    links: tuple[str, ...] = ("itermax",)  # alignment methods whose links the method reads
    link_weights: tuple[float, ...] | None = None  # weights when several link sets are combined
    layer: int | None = None  # encoder layer it was measured with; None: the aligner's default
    token_type: str = "word"  # "word": compare word vectors; "bpe": compare subwords, link their words

    def bind(self, **overrides) -> Callable[..., ProjectionResult]:
        return partial(self.func, **{**self.params, **overrides})


_SPECS = [
    MethodSpec("heuristic", heuristic, {"ratio": 0.8, "max_gap": 1}, "the paper's heuristic (length-ratio filter > 0.8)"),
    MethodSpec("elp", elp, {"max_gap": 1}, "Easy-Label-Projection: largest group of aligned words"),
    MethodSpec("naive", naive, {}, "min-to-max of aligned words", links=("argmax",)),
    MethodSpec("ngram-greedy", match, {"solver": "greedy"}, "n-gram candidates, greedy matching (the paper's method)"),
    MethodSpec("ngram-exact", match, {"solver": "exact"}, "n-gram candidates, exact matching"),
    MethodSpec("ngram-ilp", match, {"solver": "ilp"}, "n-gram candidates, exact matching by CBC (slow reference)"),
    MethodSpec("spans-greedy", match, {"solver": "greedy"}, "given candidate spans, greedy matching"),
    MethodSpec("spans-exact", match, {"solver": "exact"}, "given candidate spans, exact matching"),
    MethodSpec("spans-ilp", match, {"solver": "ilp"}, "given candidate spans, exact matching by CBC"),
    # measured best on Europarl en->de and en->es (docs/projection.md): subword links of layer 7,
    # link similarities as weights, and target words no link reaches free inside a candidate
    MethodSpec(
        "tuned-greedy",
        match,
        {"solver": "greedy", "weighted": True, "unlinked_cost": 0.0},
        "n-gram greedy matching on similarity-weighted subword itermax links of layer 7, unlinked words free",
        links=("itermax",),
        layer=7,
        token_type="bpe",
    ),
    MethodSpec(
        "tuned-exact",
        match,
        {"solver": "exact", "weighted": True, "unlinked_cost": 0.0},
        "as tuned-greedy with the exact solver",
        links=("itermax",),
        layer=7,
        token_type="bpe",
    ),
]
METHODS: dict[str, MethodSpec] = {s.name: s for s in _SPECS}
NEEDS_CANDIDATES = frozenset({"spans-greedy", "spans-exact", "spans-ilp"})
DEFAULT_METHOD = "tuned-greedy"


def register(spec: MethodSpec) -> None:
    """Add (or replace) a method under ``spec.name``."""
    METHODS[spec.name] = spec


def get_spec(name: str | None) -> MethodSpec:
    name = DEFAULT_METHOD if name in (None, "default", "best") else name
    try:
        return METHODS[name]
    except KeyError:
        raise UserError(f"unknown projection method {name!r}; valid methods: {', '.join(sorted(METHODS))}") from None


def get_method(name: str | None, **overrides) -> Callable[..., ProjectionResult]:
    """The projection function registered as ``name`` (``None`` or ``"best"``: the default)."""
    return get_spec(name).bind(**overrides)
