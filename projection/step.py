"""The one projection step: labelled sources and their targets, an aligner and a method in,
projected target spans with per-entity scores and the unprojected entities out.

Every caller goes through :class:`ProjectionStep`: the silver build (one source per target, or
several), ``eval-projection`` (gold source entities) and the experiments. The step resolves
which word links the method reads (one link set, or several united with weights), asks the
aligner for them in one batch, projects each source onto its target and, where a target has
several sources, combines their projections by voting.

The step is pure: the aligner is handed in (anything with the
:class:`~silver_ner.projection.protocols.Aligner` protocol), no file is read, no model loaded.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Sequence

from .candidates import combine_alignments, ngram_candidates
from .errors import UserError
from .methods import NEEDS_CANDIDATES, MethodSpec, get_spec
from .multisource import combine, narrow_to_nested
from .protocols import Aligner, Alignment, ProjectionResult
from .spans import Span

COMBINE_RULES = ("vote", "nested-vote")


@dataclass(frozen=True)
class LabelledSource:
    """One source sentence with its entity spans."""

    tokens: tuple[str, ...]
    spans: tuple[Span, ...]

    @classmethod
    def of(cls, tokens: Sequence[str], spans: Sequence[Span]) -> "LabelledSource":
        return cls(tuple(tokens), tuple(spans))


@dataclass(frozen=True)
class ProjectionItem:
    """A target sentence, its labelled sources (one or several) and, for the ``spans-*``
    methods, the candidate spans on the target (their labels are ignored)."""

    target: tuple[str, ...]
    sources: tuple[LabelledSource, ...]
    candidates: tuple[Span, ...] | None = None

    @classmethod
    def of(cls, target: Sequence[str], sources: Sequence[LabelledSource],
           candidates: Sequence[Span] | None = None) -> "ProjectionItem":
        return cls(tuple(target), tuple(sources), None if candidates is None else tuple(candidates))


@dataclass
class ProjectedSentence:
    """The step's result for one item.

    ``spans`` and ``scores`` are the projection (with several sources: the voted spans, scored
    by their votes); ``per_source[k]`` and ``alignments[k]`` are source ``k``'s own projection
    and links; ``unprojected`` counts the source entities that found no target span (summed
    over sources); ``left_out_by_voting`` the spans voting did not keep.
    """

    spans: list[Span]
    scores: list[float]
    per_source: list[ProjectionResult]
    alignments: list[Alignment]
    unprojected: int
    left_out_by_voting: int = 0

    @property
    def source_entities(self) -> int:
        return sum(len(r.source_of) + len(r.unprojected) for r in self.per_source)


@dataclass
class ProjectionStep:
    """A projection method with its link settings, ready to run on items.

    ``method`` names a registered method (``None``: the default); ``params`` override its
    parameters; ``links`` overrides the link methods it reads (``("itermax",)``,
    ``("itermax", "argmax")``, ...); ``combine`` (``vote`` or ``nested-vote``) and
    ``min_votes`` govern targets with several sources; ``union_ngrams`` adds every target
    n-gram to given candidate spans.
    """

    method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    links: tuple[str, ...] | None = None
    combine: str = "vote"
    min_votes: int = 1
    union_ngrams: bool = False
    func: Callable[..., ProjectionResult] | None = None  # replaces the registered function (tests, experiments)

    def __post_init__(self) -> None:
        self.spec: MethodSpec = get_spec(self.method)
        if self.links:
            self.links = tuple(self.links)
            self.link_weights = None
        else:
            self.links = tuple(self.spec.links)
            self.link_weights = self.spec.link_weights
        if self.combine not in COMBINE_RULES:
            raise UserError(f"unknown combination rule {self.combine!r}; valid: {', '.join(COMBINE_RULES)}")
        if self.min_votes < 1:
            raise UserError(f"min_votes must be at least 1, got {self.min_votes}")
        if self.union_ngrams and not self.needs_candidates:
            raise UserError(f"method {self.spec.name!r} makes its own candidates; n-gram union applies to spans-* methods")
        if self.func is not None:  # an injected function takes what it takes
            self._project = partial(self.func, **self.params)
            return
        extra = {"candidate_spans": []} if self.needs_candidates else {}
        try:
            inspect.signature(self.spec.func).bind(None, None, None, None, **{**self.spec.params, **self.params, **extra})
        except TypeError as exc:
            raise UserError(f"method {self.spec.name!r}: bad parameters {self.params}: {exc}") from None
        self._project = self.spec.bind(**self.params)

    # -- what the method needs ----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def needs_candidates(self) -> bool:
        return self.spec.name in NEEDS_CANDIDATES

    @property
    def layer(self) -> int | None:
        return self.spec.layer

    @property
    def token_type(self) -> str:
        return self.spec.token_type

    @property
    def effective_params(self) -> dict[str, Any]:
        return {**self.spec.params, **self.params}

    def describe(self) -> dict[str, Any]:
        """Provenance: method, parameters, links and combination."""
        out: dict[str, Any] = {"method": self.name, "params": self.effective_params, "links": "+".join(self.links)}
        if self.union_ngrams:
            out["union_ngrams"] = True
        return out

    # -- running ------------------------------------------------------------------------------

    def align(self, aligner: Aligner, pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> list[Alignment]:
        """Links for every ``(source, target)`` pair: the aligner's own links when the method reads
        one link set, else the weighted union of the link sets it reads."""
        if not pairs:
            return []
        if len(self.links) == 1:
            out = aligner.align(pairs)
        else:
            per = aligner.align_methods(pairs, methods=self.links)
            missing = [m for m in self.links if m not in per]
            if missing:
                raise UserError(f"aligner {aligner.identity} gives no {', '.join(missing)} links, which "
                                f"method {self.name!r} reads")
            out = [combine_alignments([per[m][i] for m in self.links], self.link_weights) for i in range(len(pairs))]
        if len(out) != len(pairs):
            raise RuntimeError(f"aligner {aligner.identity} returned {len(out)} alignments for {len(pairs)} pairs")
        return out

    def project_one(self, source: LabelledSource, target: Sequence[str], alignment: Alignment,
                    candidates: Sequence[Span] | None = None) -> ProjectionResult:
        """One source's projection onto one target."""
        if not source.spans:
            return ProjectionResult()
        extra: dict[str, Any] = {}
        if self.needs_candidates:
            if candidates is None:
                raise UserError(f"method {self.name!r} needs candidate spans on the target")
            cands = [(c.start, c.end) for c in candidates]
            if self.union_ngrams:
                cands = sorted(set(cands) | set(ngram_candidates(target, self.effective_params.get("max_len"))))
            extra["candidate_spans"] = cands
        return self._project(source.tokens, list(source.spans), target, alignment, **extra)

    def combine_sources(self, results: Sequence[ProjectionResult]) -> tuple[list[Span], list[float], int]:
        """Spans, scores and the number of spans left out, for one target's per-source results."""
        if len(results) == 1:
            return list(results[0].spans), [float(x) for x in results[0].scores], 0
        if self.combine == "nested-vote":
            results = narrow_to_nested(results)
        voted = combine(results, min_votes=self.min_votes)
        return list(voted.spans), [float(x) for x in voted.scores], voted.below_min_votes + voted.dropped

    def project(self, items: Sequence[ProjectionItem], alignments: Sequence[Sequence[Alignment]]) -> list[ProjectedSentence]:
        """Project every item, given ``alignments[i][k]`` (source ``k`` of item ``i`` to its target)."""
        if len(alignments) != len(items):
            raise ValueError(f"{len(alignments)} alignment lists for {len(items)} items")
        out = []
        for item, als in zip(items, alignments):
            if len(als) != len(item.sources):
                raise ValueError(f"{len(als)} alignments for {len(item.sources)} sources")
            per = [self.project_one(src, item.target, al, item.candidates) for src, al in zip(item.sources, als)]
            spans, scores, left_out = self.combine_sources(per)
            out.append(ProjectedSentence(spans, scores, per, list(als), sum(len(r.unprojected) for r in per), left_out))
        return out

    def run(self, items: Sequence[ProjectionItem], aligner: Aligner) -> list[ProjectedSentence]:
        """Align every (source, target) pair of ``items``, then project. Pairs are aligned in one
        batch per source position (every item's first source, then every second source, ...)."""
        grouped: list[list[Alignment]] = [[] for _ in items]
        depth = max((len(item.sources) for item in items), default=0)
        for k in range(depth):
            idx = [i for i, item in enumerate(items) if len(item.sources) > k]
            links = self.align(aligner, [(items[i].sources[k].tokens, items[i].target) for i in idx])
            for i, al in zip(idx, links):
                grouped[i].append(al)
        return self.project(items, grouped)
