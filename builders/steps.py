"""The build's steps: small callables over batches of records, each with its own counters.

A silver build is the composition

    map labels -> pre-filter -> align -> project -> conventions -> post-filter -> rows

of the steps below (with back-translation refinement, ``back-translate -> label back-translation``
come before ``align``, and the labelled back-translation is the source the target is aligned with
and projected from). Each step takes a :class:`Batch` (records plus :class:`BuildCounters`) and
returns it; no step keeps state between batches or reaches for process-wide objects, so any
engine can run them: the local engine in one process (or ``datasets``' workers), the Ray engine
as Ray Data operators, one batch at a time on any worker. The aligner is the only model a step
holds, handed in by the caller (engines build it once per worker), besides the optional model-backed
steps at the end of this module (candidate tagger, back-translator, back-translation tagger); every
other step is pure.

Counters travel with the batch and add up across batches (:meth:`BuildCounters.add`); the
manifest's statistics are their sum over every chunk.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, Protocol, Sequence

from silver_ner.projection.conventions import attach_leading_phrases
from silver_ner.projection.labels import map_type
from silver_ner.projection.protocols import Aligner, Alignment, Tagger
from silver_ner.projection.spans import Span, spans_to_tags
from silver_ner.projection.step import LabelledSource, ProjectedSentence, ProjectionItem, ProjectionStep

from .sources import SourcePair

SPLITS = ("train", "validation")


@dataclass
class BuildCounters:
    """What the steps counted in one batch (or, added up, in a whole build)."""

    sentences_in: int = 0
    sentences_out: int = 0
    source_entities: int = 0
    projected_entities: int = 0
    filters: Counter = field(default_factory=Counter)
    labels_dropped: Counter = field(default_factory=Counter)
    source_entities_per_class: Counter = field(default_factory=Counter)
    entities_per_class: Counter = field(default_factory=Counter)
    convention_attached: Counter = field(default_factory=Counter)
    num_rows: Counter = field(default_factory=Counter)
    # back-translation refinement: sentences, cut_at_max_length, empty, entities, labels_dropped, unprojected
    backtranslation: Counter = field(default_factory=Counter)

    def add(self, other: "BuildCounters") -> "BuildCounters":
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, Counter):
                for k, v in b.items():  # Counter.update would drop nothing, but keeps zero keys only if set
                    a[k] = a.get(k, 0) + v
            else:
                setattr(self, f.name, a + b)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (dict(getattr(self, f.name)) if isinstance(getattr(self, f.name), Counter) else getattr(self, f.name))
                for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "BuildCounters":
        out = cls()
        for f in fields(cls):
            if f.name in d:
                v = d[f.name]
                setattr(out, f.name, Counter(v) if isinstance(getattr(out, f.name), Counter) else v)
        return out


@dataclass
class BackTranslation:
    """A target sentence translated back into the source language, and its entity spans.

    ``labels`` says where the spans come from: ``{"by": "tagger", "tagger": identity}`` or
    ``{"by": "projection", "from": "source", "method": name, "unprojected": n}``.
    """

    text: str
    tokens: list[str]
    translator: str
    lang: str
    cut: bool = False
    spans: list[Span] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)

    def origin(self) -> dict[str, Any]:
        out = {"text": self.text, "translator": self.translator, "lang": self.lang, "labels": self.labels}
        if self.cut:
            out["cut_at_max_length"] = True
        return out


@dataclass
class Record:
    """One sentence pair on its way through the steps."""

    pair: SourcePair
    spans: list[Span] = field(default_factory=list)  # source spans after label mapping
    alignments: list[Alignment] = field(default_factory=list)  # one per source
    projected: ProjectedSentence | None = None
    target_spans: list[Span] = field(default_factory=list)
    row: dict | None = None
    backtranslation: BackTranslation | None = None  # when set, the one source aligned with and projected from

    @property
    def sources(self) -> list[LabelledSource]:
        if self.backtranslation is not None and self.backtranslation.labels:
            return [LabelledSource.of(self.backtranslation.tokens, self.backtranslation.spans)]
        first = LabelledSource.of(self.pair.source_tokens, self.spans)
        return [first, *(LabelledSource.of(s["tokens"], s["mapped_spans"]) for s in self.pair.more_sources)]


@dataclass
class Batch:
    records: list[Record]
    counters: BuildCounters = field(default_factory=BuildCounters)

    @classmethod
    def of(cls, pairs: Sequence[SourcePair]) -> "Batch":
        return cls([Record(p) for p in pairs])


class Step(Protocol):
    name: str

    def __call__(self, batch: Batch) -> Batch: ...


# -- pure steps -------------------------------------------------------------------------------


@dataclass
class MapLabels:
    """Rename source entity types (``mapping``) and keep those in ``labels``; counts the rest."""

    labels: tuple[str, ...]
    mapping: Mapping[str, str | None] = field(default_factory=dict)
    name: str = "map-labels"

    def _map(self, spans: Sequence[Span], counters: BuildCounters) -> list[Span]:
        out = []
        for sp in spans:
            label = map_type(sp.label, self.mapping, self.labels)
            if label is None:
                counters.labels_dropped[sp.label] += 1
                continue
            out.append(Span(sp.start, sp.end, label))
        return out

    def __call__(self, batch: Batch) -> Batch:
        for r in batch.records:
            r.spans = self._map(r.pair.source_spans, batch.counters)
            for extra in r.pair.more_sources:
                extra["mapped_spans"] = self._map(extra["spans"], batch.counters)
        return batch


@dataclass
class PreFilter:
    """Counts every pair in; drops (and counts) pairs with an empty side or, with
    ``max_length_ratio``, token counts too far apart; counts the kept source entities per class."""

    max_length_ratio: float | None = None
    name: str = "pre-filter"

    def __call__(self, batch: Batch) -> Batch:
        c = batch.counters
        c.filters.setdefault("empty", 0)
        if self.max_length_ratio is not None:
            c.filters.setdefault("max_length_ratio", 0)
        kept = []
        for r in batch.records:
            c.sentences_in += 1
            p = r.pair
            if not p.source_tokens or not p.target_tokens:
                c.filters["empty"] += 1
                continue
            if self.max_length_ratio is not None:
                a, b = len(p.source_tokens), len(p.target_tokens)
                if max(a / b, b / a) > self.max_length_ratio:
                    c.filters["max_length_ratio"] += 1
                    continue
            for sp in r.spans:
                c.source_entities_per_class[sp.label] += 1
            kept.append(r)
        batch.records = kept
        return batch


@dataclass
class Project:
    """Project every record's source entities onto its target (several sources are voted)."""

    projection: ProjectionStep
    name: str = "project"

    def __call__(self, batch: Batch) -> Batch:
        for r in batch.records:
            if not r.alignments:
                raise ValueError(f"{r.pair.id}: project before align")
            if any(s.spans for s in r.sources):
                item = ProjectionItem.of(r.pair.target_tokens, r.sources, r.pair.candidates)
                (r.projected,) = self.projection.project([item], [r.alignments])
                r.target_spans = list(r.projected.spans)
            else:
                r.projected, r.target_spans = None, []
        return batch


@dataclass
class Conventions:
    """Extend projected spans left over declared span-opening phrases (counted per label)."""

    conventions: Mapping[str, list[tuple[str, ...]]]
    name: str = "conventions"

    def __call__(self, batch: Batch) -> Batch:
        if not self.conventions:
            return batch
        for r in batch.records:
            if r.target_spans:
                r.target_spans, attached = attach_leading_phrases(r.pair.target_tokens, r.target_spans, self.conventions)
                for label, n in attached.items():
                    batch.counters.convention_attached[label] += n
        return batch


@dataclass
class PostFilter:
    """Counts source and projected entities; drops (and counts) sentences with an unprojected
    entity (``drop_unprojected``), a projected entity scoring below ``min_score``, or spans a
    method returned overlapping or out of range (``invalid_projection``)."""

    drop_unprojected: bool = False
    min_score: float | None = None
    name: str = "post-filter"

    def __call__(self, batch: Batch) -> Batch:
        c = batch.counters
        if self.drop_unprojected:
            c.filters.setdefault("unprojected", 0)
        if self.min_score is not None:
            c.filters.setdefault("min_score", 0)
        kept = []
        for r in batch.records:
            unprojected = r.projected.unprojected if r.projected else 0
            scores = r.projected.scores if r.projected else []
            # entities of every source the projection read (each further source's too: unprojected sums over them)
            n_from = (len(r.backtranslation.spans) if r.backtranslation is not None
                      else sum(len(src.spans) for src in r.sources))
            c.source_entities += n_from
            c.projected_entities += n_from - unprojected
            if self.drop_unprojected and unprojected:
                c.filters["unprojected"] += 1
                continue
            if self.min_score is not None and any(x < self.min_score for x in scores):
                c.filters["min_score"] += 1
                continue
            try:
                spans_to_tags(r.target_spans, len(r.pair.target_tokens))
            except ValueError:
                c.filters["invalid_projection"] += 1
                continue
            kept.append(r)
        batch.records = kept
        return batch


@dataclass
class ToRows:
    """The dataset rows, each assigned to a split by ``split_of(row_id)``."""

    lang: str
    label_names: Sequence[str]
    method: str
    split_of: Callable[[str], str]
    name: str = "rows"

    def __call__(self, batch: Batch) -> Batch:
        index_of = {n: i for i, n in enumerate(self.label_names)}
        c = batch.counters
        for r in batch.records:
            p = r.pair
            tags = spans_to_tags(r.target_spans, len(p.target_tokens))
            row_id = f"{self.lang}-{p.id}"
            split = self.split_of(row_id)
            for sp in r.target_spans:
                c.entities_per_class[sp.label] += 1
            c.sentences_out += 1
            c.num_rows[split] += 1
            al = r.alignments[0] if r.alignments else Alignment(())
            # what was projected from: the source, or its back-translation (then recorded in the origin)
            bt = r.backtranslation
            from_tokens, from_spans = (bt.tokens, bt.spans) if bt is not None else (p.source_tokens, r.spans)
            origin = p.origin_json() if bt is None else json.dumps(
                {**json.loads(p.origin_json()), "backtranslation": bt.origin()}, sort_keys=True, ensure_ascii=False)
            r.row = {
                "id": row_id,
                "tokens": list(p.target_tokens),
                "ner_tags": [index_of[t] for t in tags],
                "source_tokens": list(from_tokens),
                "source_ner_tags": [index_of[t] for t in spans_to_tags(from_spans, len(from_tokens))],
                "alignment": [[int(a), int(b)] for a, b in al.links],
                "entity_scores": [float(x) for x in r.projected.scores] if r.projected else [],
                "unprojected": r.projected.unprojected if r.projected else 0,
                "source_id": p.id,
                "source_lang": p.source_lang,
                "origin": origin,
                "method": self.method,
                "split": split,
            }
        return batch


# -- the model-backed steps ---------------------------------------------------------------------


@dataclass
class TagCandidates:
    """Candidate target spans for the ``spans-*`` methods: what ``tagger`` (anything with the
    ``Tagger`` protocol, e.g. a token-classification model) finds on each target sentence."""

    tagger: Tagger
    name: str = "tag-candidates"

    def __call__(self, batch: Batch) -> Batch:
        found = self.tagger.tag([r.pair.target_tokens for r in batch.records]) if batch.records else []
        for r, spans in zip(batch.records, found):
            r.pair.candidates = list(spans)
        return batch


@dataclass
class BackTranslate:
    """Translate every record's target sentence back into the source language (``source_lang``) with
    ``translator`` (anything with the ``Translator`` protocol; an ``HFTranslator`` answers from its
    translation cache and says which outputs ran to its ``max_length``). Counts the sentences, the
    outputs cut at the maximum length and the empty back-translations; a record whose
    back-translation is empty is dropped (``filters["empty_backtranslation"]``)."""

    translator: Any
    source_lang: str
    target_lang: str
    name: str = "back-translate"

    def __call__(self, batch: Batch) -> Batch:
        from .wordsplit import detokenize, split_elisions, tokenize

        c = batch.counters
        c.filters.setdefault("empty_backtranslation", 0)
        for key in ("sentences", "cut_at_max_length", "empty"):
            c.backtranslation.setdefault(key, 0)
        if not batch.records:
            return batch
        texts = [detokenize(r.pair.target_tokens) for r in batch.records]
        outs = self.translator.translate(texts, self.target_lang, self.source_lang)
        if len(outs) != len(texts):
            raise RuntimeError(f"translator {self.translator.identity} returned {len(outs)} outputs for {len(texts)} sentences")
        cut_of = getattr(self.translator, "at_max_length", None)
        cut = cut_of(texts, self.target_lang, self.source_lang) if cut_of is not None else [False] * len(texts)
        kept = []
        for r, text, was_cut in zip(batch.records, outs, cut):
            c.backtranslation["sentences"] += 1
            c.backtranslation["cut_at_max_length"] += int(bool(was_cut))
            tokens = tokenize(text)
            if self.source_lang == "fra":
                tokens = split_elisions(tokens)
            if not tokens:
                c.backtranslation["empty"] += 1
                c.filters["empty_backtranslation"] += 1
                continue
            r.backtranslation = BackTranslation(text, tokens, self.translator.identity, self.source_lang, bool(was_cut))
            kept.append(r)
        batch.records = kept
        return batch


@dataclass
class LabelBacktranslation:
    """Entity spans on every record's back-translation, from ``tagger`` (a source-language tagger; its
    types renamed and kept as ``map_labels`` does for the source) or, without a tagger, by projecting
    the record's source spans onto the back-translation (``aligner`` links source and back-translation,
    ``projection`` is the build's projection step, so the same method and links as for the target).
    Counts the back-translation's entities, the tagger's types outside the label set and the source
    entities that found no span on the back-translation."""

    projection: ProjectionStep
    tagger: Tagger | None = None
    aligner: Aligner | None = None
    map_labels: "MapLabels | None" = None
    name: str = "label-backtranslation"

    def __post_init__(self) -> None:
        if (self.tagger is None) == (self.aligner is None):
            raise ValueError("label the back-translation with a tagger or with an aligner (projection), not both")

    def __call__(self, batch: Batch) -> Batch:
        c = batch.counters
        todo = [r for r in batch.records if r.backtranslation is not None]
        if self.tagger is not None:
            found = self.tagger.tag([r.backtranslation.tokens for r in todo]) if todo else []
            for r, spans in zip(todo, found):
                if self.map_labels is not None:
                    scratch = BuildCounters()
                    spans = self.map_labels._map(spans, scratch)
                    c.backtranslation["labels_dropped"] += sum(scratch.labels_dropped.values())
                r.backtranslation.spans = list(spans)
                r.backtranslation.labels = {"by": "tagger", "tagger": getattr(self.tagger, "identity", type(self.tagger).__name__)}
        else:
            pairs = [(r.pair.source_tokens, r.backtranslation.tokens) for r in todo]
            links = self.projection.align(self.aligner, pairs)
            for r, al in zip(todo, links):
                res = self.projection.project_one(LabelledSource.of(r.pair.source_tokens, r.spans), r.backtranslation.tokens, al)
                r.backtranslation.spans = list(res.spans)
                r.backtranslation.labels = {"by": "projection", "from": "source", "method": self.projection.name,
                                            "unprojected": len(res.unprojected)}
                c.backtranslation["unprojected"] += len(res.unprojected)
        for r in todo:
            c.backtranslation["entities"] += len(r.backtranslation.spans)
        return batch


@dataclass
class Align:
    """Word links of every record's sources to its target, through the projection step's link
    resolution (one link set, or the weighted union of several). ``aligner`` is handed in."""

    aligner: Aligner
    projection: ProjectionStep
    name: str = "align"

    def __call__(self, batch: Batch) -> Batch:
        depth = max((len(r.sources) for r in batch.records), default=0)
        for r in batch.records:
            r.alignments = []
        for k in range(depth):
            todo = [r for r in batch.records if len(r.sources) > k]
            links = self.projection.align(self.aligner, [(r.sources[k].tokens, r.pair.target_tokens) for r in todo])
            for r, al in zip(todo, links):
                r.alignments.append(al)
        return batch


def run_steps(steps: Sequence[Step], batch: Batch) -> Batch:
    for step in steps:
        batch = step(batch)
    return batch
