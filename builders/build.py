"""Silver builds: sources -> alignment -> projection -> span conventions -> filters -> rows -> output.

One :class:`BuildSpec` describes one target language: where its sentence pairs come from
(:class:`SourceSpec`), the aligner (model, layer, link method), the projection method and its
parameters, the label set and the quality filters. :class:`LanguageBuild` runs the stages for
one spec in *chunks* of consecutive pairs. The source pairs and every chunk's rows are cached
under keys that cover the inputs' contents, the models' identities, the parameters and
``silver_ner.__version__`` (see :mod:`silver_ner.builders.cache`); the aligner keeps every
finished alignment in its own cache (``<cache>/aligner``), keyed by its identity and the
tokens. So

* a rerun with the same inputs reads the caches and never loads a model;
* an interrupted build resumes from the chunks already done;
* changing the projection method or a filter re-aligns nothing;
* chunks can be run apart: ``run(rank=r, world_size=w)`` does every ``w``-th chunk, so a
  cluster engine (or ``datasets``' ``num_proc`` through the builder's ``gen_kwargs`` lists)
  can spread the work.

:func:`build` writes the output folder: ``OUTPUT/<lang>/`` (``DatasetDict.save_to_disk``),
optional ``OUTPUT/<lang>/parquet/{train,validation}.parquet``, and the manifest
``OUTPUT/silver_ner_build.json`` (its ``sources`` name each corpus read, with licence and citation),
and ``OUTPUT/README.md`` whose ``configs:`` make ``datasets.load_dataset(OUTPUT, lang)`` load one config
per language, as from the published repository. It writes into a temporary folder beside ``OUTPUT`` and
renames it into place at the end, so an interrupted build never leaves a dataset that loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from silver_ner import __version__
from silver_ner.projection.conventions import attach_leading_phrases, normalise_word, parse_conventions
from silver_ner.projection.protocols import Aligner, Alignment
from silver_ner.projection.spans import Span, iob2_names, spans_to_tags, tags_to_spans

from . import cache
from .conll import check_input_file, read_conll
from .sources import SourcePair, SourceReport

log = logging.getLogger(__name__)

MANIFEST_NAME = "silver_ner_build.json"
MANIFEST_FORMAT = "silver-ner-build/1"
SPLITS = ("train", "validation")

#: Named label sets. CoNLL-2003 keeps PER/ORG/LOC (MISC only when asked for with ``conll+misc``);
#: MasakhaNER adds DATE.
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "conll": ("PER", "ORG", "LOC"),
    "conll+misc": ("PER", "ORG", "LOC", "MISC"),
    "masakhaner": ("PER", "ORG", "LOC", "DATE"),
}
DEFAULT_LABELS = LABEL_SETS["conll"]

DEFAULT_LAYER = 8
GOLD_ROLES = ("source_gold", "source_labels")
SOURCE_KINDS = ("parallel", "translate", "translated-conll", "pairs")


def resolve_labels(labels: str | Sequence[str] | None) -> tuple[str, ...]:
    """A label-set name (``conll``, ``conll+misc``, ``masakhaner``), a comma list or a sequence of types."""
    if labels is None:
        return DEFAULT_LABELS
    if isinstance(labels, str):
        if labels in LABEL_SETS:
            return LABEL_SETS[labels]
        labels = [x.strip() for x in labels.split(",") if x.strip()]
    out = tuple(labels)
    if not out:
        raise ValueError("empty label set")
    if len(set(out)) != len(out):
        raise ValueError(f"label set {','.join(out)} names a type twice")
    for lab in out:
        if lab == "O" or not lab.replace("_", "").isalnum():
            raise ValueError(f"invalid entity type {lab!r} in the label set")
    return out


@dataclass
class FilterOptions:
    """Quality filters; each one counts the sentences it removes.

    ``drop_unprojected``: drop a sentence when one of its source entities found no target.
    ``min_score``: drop a sentence when a projected entity scores below this.
    ``max_length_ratio``: drop a pair whose token counts differ by more than this factor
    (``max(len(tgt)/len(src), len(src)/len(tgt))``), checked before alignment.
    """

    drop_unprojected: bool = False
    min_score: float | None = None
    max_length_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.max_length_ratio is not None and self.max_length_ratio < 1:
            raise ValueError(f"max_length_ratio must be >= 1, got {self.max_length_ratio}")

    def active(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


def load_span_conventions(path: str | os.PathLike, labels: Sequence[str] | None = None) -> dict:
    """Read a span-convention file (see :func:`~silver_ner.projection.conventions.parse_conventions`):
    ``{lang: {type: [phrase, ...]}}``; errors name the file and line."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"span-convention file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_conventions(text, str(p), labels)


def _gold_path(path: str) -> str:
    """``path`` itself, or the local file of a gold spec such as ``conll2003:train``."""
    if os.path.exists(path) or ":" not in path or os.sep in path:
        return path
    from .gold import default_data_root, resolve_gold

    return os.fspath(resolve_gold(path).local_path(default_data_root()))


@dataclass
class SourceSpec:
    """Where the labelled source sentences and their target sentences come from.

    ``kind`` is one of

    * ``parallel``: ``files`` has ``source_text`` and ``target_text`` (line-aligned), and
      either ``source_labels`` (a CoNLL file sentence-parallel to the lines) or ``model``
      (a tagger);
    * ``translate``: ``files["source_gold"]`` (CoNLL) machine-translated by ``model``;
    * ``translated-conll``: ``files["translated_conll"]`` (a translation of the gold file, in
      CoNLL format, possibly with sentences missing) re-paired with ``files["source_gold"]``;
    * ``pairs``: pairs handed over in memory (tests, notebooks); their contents are hashed.

    ``files`` values may hold ``{lang}``, filled in per target language.
    """

    kind: str
    files: dict[str, str] = field(default_factory=dict)
    language: str = "eng"
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {self.kind!r}; valid: {', '.join(SOURCE_KINDS)}")
        need = {
            "parallel": ("source_text", "target_text"),
            "translate": ("source_gold",),
            "translated-conll": ("source_gold", "translated_conll"),
            "pairs": (),
        }[self.kind]
        missing = [r for r in need if not self.files.get(r)]
        if missing:
            raise ValueError(f"source kind {self.kind!r} needs the file(s): {', '.join(missing)}")
        if self.kind == "parallel" and not (self.files.get("source_labels") or self.model):
            raise ValueError("a parallel source needs source labels (a CoNLL file) or a tagger model")
        if self.kind == "translate" and not self.model:
            raise ValueError("a translate source needs a translator model")

    def for_language(self, lang: str) -> "SourceSpec":
        """``{lang}`` filled in; gold specs (``conll2003:train``) resolved to their files in the data folder."""
        files = {k: _gold_path(str(v).replace("{lang}", lang)) if k in GOLD_ROLES else str(v).replace("{lang}", lang)
                 for k, v in self.files.items()}
        return replace(self, files=files)

    def describe(self, lang: str) -> tuple[dict, dict]:
        """``(source, target_source)`` as written in the manifest."""
        f = self.files
        if self.kind == "parallel":
            labelled = f.get("source_labels")
            src = {"kind": "conll" if labelled else "tagger", "files": [f["source_text"]] + ([labelled] if labelled else []),
                   "language": self.language}
            if not labelled:
                src["tagger"] = self.model
            tgt = {"kind": "parallel", "files": [f["target_text"]], "language": lang}
        elif self.kind == "translate":
            src = {"kind": "conll", "files": [f["source_gold"]], "language": self.language}
            tgt = {"kind": "machine-translation", "files": [], "language": lang, "model": self.model}
        elif self.kind == "translated-conll":
            src = {"kind": "conll", "files": [f["source_gold"]], "language": self.language}
            tgt = {"kind": "translated-conll", "files": [f["translated_conll"]], "language": lang}
        else:
            src = {"kind": "pairs", "files": [], "language": self.language}
            tgt = {"kind": "pairs", "files": [], "language": lang}
        if self.params:
            tgt["params"] = dict(self.params)
        return src, tgt


@dataclass
class BuildSpec:
    """Everything one target language's silver config depends on."""

    lang: str
    source: SourceSpec
    method: str | None = None  # None: the projection module's default method
    method_params: dict[str, Any] = field(default_factory=dict)
    aligner_model: str | None = None  # None: the default encoder (multilingual-e5-small)
    layer: int | None = None  # None: the layer the projection method was measured with, else 8
    align_method: str | None = None  # None: the link method the projection method reads
    token_type: str | None = None  # "word" or "bpe"; None: what the projection method was measured with
    align_batch_size: int = 32
    aligner_precision: str = "float32"  # or "bfloat16" (faster on CPUs with BF16 support)
    labels: tuple[str, ...] = DEFAULT_LABELS
    label_mapping: dict[str, str | None] = field(default_factory=dict)  # extra renames, e.g. {"PERSON": "PER"}
    filters: FilterOptions = field(default_factory=FilterOptions)
    validation_fraction: float = 0.1
    licenses: list[str] = field(default_factory=list)
    source_license: str | None = None  # Hub licence id of input files that are no known corpus (recorded in ``sources``)
    reference: str | None = None  # a labelled CoNLL file of the target side, line-parallel, to score the rows
    # target-language phrases the annotation puts at the start of a span, per entity type: {"LOC": [("jihar",)]}
    span_conventions: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = resolve_labels(self.labels)
        for label, phrases in self.span_conventions.items():
            if label not in self.labels:
                raise ValueError(f"span convention for {label!r}: not in the label set {','.join(self.labels)}")
            if not phrases or any(not p for p in phrases):
                raise ValueError(f"span convention for {label!r}: empty phrase")
        self.span_conventions = {k: [tuple(normalise_word(w) for w in p) for p in v]
                                 for k, v in sorted(self.span_conventions.items())}
        if self.reference is not None:
            self.reference = str(self.reference).replace("{lang}", self.lang)
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation fraction must be in [0, 1), got {self.validation_fraction}")
        for k, v in self.label_mapping.items():
            if v is not None and v not in self.labels:
                raise ValueError(f"label mapping {k}->{v}: {v!r} is not in the label set {','.join(self.labels)}")
        self.source = self.source.for_language(self.lang)

    @property
    def label_names(self) -> list[str]:
        return iob2_names(self.labels)

    @property
    def method_name(self) -> str:
        from silver_ner.projection.methods import get_spec

        return get_spec(self.method).name

    def link_settings(self) -> tuple[int, str, str]:
        """``(layer, link method, token type)`` for the aligner: as given, else what the projection method was
        measured with (else layer 8, word vectors)."""
        from silver_ner.projection.methods import NEEDS_CANDIDATES, get_spec

        ms = get_spec(self.method)
        if ms.name in NEEDS_CANDIDATES:
            raise ValueError(f"projection method {ms.name!r} needs candidate spans, which a silver build does not "
                             "provide; use an n-gram or heuristic method")
        if self.align_method is None and len(ms.links) != 1:
            raise ValueError(f"projection method {ms.name!r} reads several link sets ({', '.join(ms.links)}); "
                             "name one with align_method")
        layer = self.layer if self.layer is not None else (ms.layer if ms.layer is not None else DEFAULT_LAYER)
        return layer, self.align_method or ms.links[0], self.token_type or getattr(ms, "token_type", "word")


SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
DEMO_LANGS = ("swa", "deu")


def demo_source() -> SourceSpec:
    """The embedded offline sample: 30 labelled English sentences with Swahili and German translations.

    ``samples/<lang>.conll`` holds hand labels of the translations, for :meth:`LanguageBuild.score`.
    """
    return SourceSpec("parallel", {"source_text": str(SAMPLES_DIR / "eng.txt"), "target_text": str(SAMPLES_DIR / "{lang}.txt"),
                                   "source_labels": str(SAMPLES_DIR / "eng.conll")})


def split_of(row_id: str, validation_fraction: float) -> str:
    """``train`` or ``validation`` from a hash of the id: stable across runs, machines and orders."""
    h = int.from_bytes(hashlib.sha256(row_id.encode("utf-8")).digest()[:8], "big") / 2**64
    return "validation" if h < validation_fraction else "train"


# ---------------------------------------------------------------------------------------------
# sources


_EMBEDDERS: dict = {}


def _shared_embedder(precision: str = "float32"):
    """One sentence embedder per process and precision, memoised by text: a many-language build embeds the English side once."""
    if precision not in _EMBEDDERS:
        from .pairing import CachedEmbedder, default_embedder

        _EMBEDDERS[precision] = CachedEmbedder(default_embedder(precision=precision))
    return _EMBEDDERS[precision]


def _embedder_identity(precision: str = "float32") -> str:
    """What the re-pairing sentence embedder is, for cache keys: encoder folder digest and precision.

    Read from the encoder's files, so a rebuilt or replaced encoder re-pairs even when the input
    files are unchanged, without loading the model on a cache hit.
    """
    from silver_ner.projection.aligner import model_fingerprint
    from silver_ner.projection.encoder import resolve_encoder

    path = Path(resolve_encoder(None))
    return f"meanpool:{path.name}@{model_fingerprint(path)}:precision={precision}"


def load_pairs(spec: BuildSpec, *, progress: bool = False) -> tuple[list[SourcePair], SourceReport]:
    """Run the source stage of ``spec``: the labelled source sentences paired with target sentences."""
    src = spec.source
    report = SourceReport()
    if src.kind == "parallel":
        from .parallel import pairs_from_parallel

        if src.files.get("source_labels"):
            labeller = read_conll(src.files["source_labels"])
        else:
            from .tagger import HFTagger  # noqa: PLC0415

            labeller = HFTagger(src.model)
        pairs = list(pairs_from_parallel(src.files["source_text"], src.files["target_text"], spec.lang, labeller,
                                         report, source_lang=src.language,
                                         source_labels_tokens=bool(src.params.get("source_labels_tokens"))))
    elif src.kind == "translate":
        from . import translate as mt

        gold = read_conll(src.files["source_gold"])
        report.note_inputs("iob2_repairs", gold.repair_locations())
        pairs = list(mt.pairs_from_translation(gold, src.model, spec.lang, report, source_lang=src.language,
                                               **src.params))
    elif src.kind == "translated-conll":
        from . import pairing

        gold = read_conll(src.files["source_gold"])
        report.note_inputs("iob2_repairs", gold.repair_locations())
        pairs = list(pairing.pairs_from_translated_conll(gold, src.files["translated_conll"], spec.lang, report,
                                                         _shared_embedder(spec.aligner_precision), source_lang=src.language, **src.params))
    else:
        raise ValueError("a 'pairs' source has no files to read; hand the pairs to LanguageBuild")
    return pairs, report


def pair_to_json(p: SourcePair) -> dict:
    return {"id": p.id, "source_tokens": p.source_tokens, "source_spans": [[s.start, s.end, s.label] for s in p.source_spans],
            "target_tokens": p.target_tokens, "source_lang": p.source_lang, "target_lang": p.target_lang, "origin": p.origin}


def pair_from_json(d: dict) -> SourcePair:
    return SourcePair(d["id"], d["source_tokens"], [Span(*s) for s in d["source_spans"]], d["target_tokens"],
                      d["source_lang"], d["target_lang"], d["origin"])


# ---------------------------------------------------------------------------------------------
# the per-language pipeline


@dataclass
class ChunkResult:
    """Rows (already assigned to a split) and counts of one chunk."""

    rows: list[dict]
    stats: dict[str, Any]


def _empty_stats() -> dict[str, Any]:
    return {"sentences_in": 0, "sentences_out": 0, "filters": {}, "source_entities": 0, "projected_entities": 0,
            "labels_dropped": {}, "source_entities_per_class": {}, "entities_per_class": {}, "convention_attached": {},
            "num_rows": {s: 0 for s in SPLITS}}


def _add(a: dict, b: dict) -> dict:
    for k, v in b.items():
        if isinstance(v, dict):
            _add(a.setdefault(k, {}), v)
        else:
            a[k] = a.get(k, 0) + v
    return a


class LanguageBuild:
    """The stages for one :class:`BuildSpec`, chunked and cached.

    ``aligner`` defaults to :class:`~silver_ner.projection.aligner.EmbeddingAligner` built from
    the spec (created only when an alignment is not in the cache); ``pairs`` replaces the
    source stage (for ``kind="pairs"``); ``method`` replaces the projection function looked up
    by name (its name must still be given in ``spec.method`` for provenance).
    """

    def __init__(self, spec: BuildSpec, *, cache_dir: str | os.PathLike | None = None, aligner: Aligner | None = None,
                 pairs: Sequence[SourcePair] | None = None, report: SourceReport | None = None,
                 method: Callable | None = None, chunk_size: int = 512):
        self.spec = spec
        self.cache_dir = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
        self.chunk_size = int(chunk_size)
        if self.chunk_size < 1:
            raise ValueError("chunk size must be >= 1")
        self._aligner = aligner
        self._method = method
        self._pairs = list(pairs) if pairs is not None else None
        self._report = report if report is not None else (SourceReport(read=len(self._pairs), paired=len(self._pairs))
                                                          if self._pairs is not None else None)
        if spec.source.kind == "pairs" and self._pairs is None:
            raise ValueError("a 'pairs' source needs the pairs handed to LanguageBuild(pairs=...)")
        self._chunk_memo: dict[int, ChunkResult] = {}
        self._ids_checked = False
        self._source_key: str | None = None
        self._fingerprint: str | None = None

    def __getstate__(self):  # a model-holding aligner is rebuilt in worker processes from the spec
        state = dict(self.__dict__)
        state["_chunk_memo"] = {}
        if self._aligner is not None and type(self._aligner).__module__.endswith("projection.aligner"):
            state["_aligner"] = None
        return state

    # -- identities and keys ---------------------------------------------------------------

    @property
    def aligner(self) -> Aligner:
        if self._aligner is None:
            from silver_ner.projection.aligner import EmbeddingAligner

            layer, links, token_type = self.spec.link_settings()
            self._aligner = EmbeddingAligner(model=self.spec.aligner_model, layer=layer, method=links,
                                             token_type=token_type, batch_size=self.spec.align_batch_size,
                                             precision=self.spec.aligner_precision,
                                             cache_dir=os.fspath(self.cache_dir / "aligner"))
        return self._aligner

    @property
    def aligner_identity(self) -> str:
        return self.aligner.identity

    def source_key(self) -> str:
        """The cache key of the source stage: input file contents, model, options, version."""
        if self._source_key is None:
            self._source_key = self._compute_source_key()
        return self._source_key

    def _compute_source_key(self) -> str:
        src = self.spec.source
        if src.kind == "pairs":
            content = hashlib.sha256(cache.canonical([pair_to_json(p) for p in self._pairs]).encode()).hexdigest()
            return cache.make_key("source", src.kind, self.spec.lang, content)
        for path in src.files.values():
            check_input_file(path)  # a folder or a missing file: one line naming it
        files = cache.files_fingerprint({k: v for k, v in src.files.items()})
        model = src.model
        if model is not None and Path(model).expanduser().is_dir():  # a local translator/tagger: its files count
            from silver_ner.projection.aligner import model_fingerprint

            model = f"{Path(model).expanduser().resolve()}@{model_fingerprint(Path(model).expanduser())}"
        extra = [_embedder_identity(self.spec.aligner_precision)] if src.kind == "translated-conll" else []
        return cache.make_key("source", src.kind, self.spec.lang, src.language, files, model, src.params, *extra)

    def fingerprint(self) -> str:
        """The cache key of the whole config: inputs, models, parameters and the package version."""
        if self._fingerprint is None:
            s = self.spec
            extra = [{"span_conventions": s.span_conventions}] if s.span_conventions else []
            self._fingerprint = cache.make_key("build", self.source_key(), self.aligner_identity, s.method_name,
                                               s.method_params, list(s.labels), s.label_mapping, asdict(s.filters),
                                               s.validation_fraction, *extra)
        return self._fingerprint

    # -- stage 1: pairs --------------------------------------------------------------------

    def pairs(self) -> list[SourcePair]:
        if self._pairs is None:
            path = self.cache_dir / "pairs" / f"{self.source_key()}.json"
            hit = cache.read_json(path)
            if hit is not None and "inputs" in hit["report"]:  # entries without input checks are read again
                self._pairs = [pair_from_json(d) for d in hit["pairs"]]
                self._report = SourceReport(**hit["report"])
            else:
                self._pairs, self._report = load_pairs(self.spec)
                cache.write_json_atomic(path, {"pairs": [pair_to_json(p) for p in self._pairs],
                                               "report": asdict(self._report)})
        if not self._ids_checked:
            seen: set[str] = set()
            for p in self._pairs:
                if p.id in seen:
                    raise ValueError(f"source for {self.spec.lang}: pair id {p.id!r} occurs more than once")
                seen.add(p.id)
            self._ids_checked = True
        return self._pairs

    @property
    def report(self) -> SourceReport:
        self.pairs()
        return self._report

    def num_chunks(self) -> int:
        return (len(self.pairs()) + self.chunk_size - 1) // self.chunk_size

    # -- stage 2: alignment ----------------------------------------------------------------

    def align(self, pairs: Sequence[SourcePair]) -> list[Alignment]:
        """Alignments of ``pairs`` (the default aligner keeps its own cache of finished alignments)."""
        if not pairs:
            return []
        out = self.aligner.align([(p.source_tokens, p.target_tokens) for p in pairs])
        if len(out) != len(pairs):
            raise ValueError(f"aligner {self.aligner_identity} returned {len(out)} alignments for {len(pairs)} pairs")
        return out

    # -- stage 3: projection, filters, rows --------------------------------------------------

    def _projector(self) -> Callable:
        if self._method is not None:
            return self._method
        from silver_ner.projection.methods import get_method

        return get_method(self.spec.method)

    def _map_source(self, spans: Iterable[Span], stats: dict) -> list[Span]:
        s = self.spec
        out = []
        for sp in spans:
            label = s.label_mapping.get(sp.label, sp.label) if sp.label in s.label_mapping else sp.label
            if label is None or label not in s.labels:
                stats["labels_dropped"][sp.label] = stats["labels_dropped"].get(sp.label, 0) + 1
                continue
            out.append(Span(sp.start, sp.end, label))
        return out

    def process_chunk(self, index: int) -> ChunkResult:
        """Rows and counts of chunk ``index`` (cached by the fingerprint)."""
        if index in self._chunk_memo:
            return self._chunk_memo[index]
        n = self.num_chunks()
        if not 0 <= index < n:
            raise IndexError(f"chunk {index} out of range (0..{n - 1})")
        path = self.cache_dir / "rows" / self.fingerprint() / f"{self.chunk_size}-{index:05d}.json"
        hit = cache.read_json(path)
        if hit is not None:
            res = ChunkResult(hit["rows"], hit["stats"])
        else:
            res = self._compute_chunk(index)
            cache.write_json_atomic(path, {"rows": res.rows, "stats": res.stats})
        self._chunk_memo = {index: res}  # keep one: both splits read it in turn
        return res

    def _compute_chunk(self, index: int) -> ChunkResult:
        s, f = self.spec, self.spec.filters
        chunk = self.pairs()[index * self.chunk_size:(index + 1) * self.chunk_size]
        stats = _empty_stats()
        filt = stats["filters"]
        for name in ("empty", *f.active()):
            filt.setdefault(name if name != "drop_unprojected" else "unprojected", 0)
        keep: list[tuple[SourcePair, list[Span]]] = []
        for p in chunk:
            stats["sentences_in"] += 1
            if not p.source_tokens or not p.target_tokens:
                filt["empty"] += 1
                continue
            if f.max_length_ratio is not None:
                a, b = len(p.source_tokens), len(p.target_tokens)
                if max(a / b, b / a) > f.max_length_ratio:
                    filt["max_length_ratio"] += 1
                    continue
            spans = self._map_source(p.source_spans, stats)
            for sp in spans:
                stats["source_entities_per_class"][sp.label] = stats["source_entities_per_class"].get(sp.label, 0) + 1
            keep.append((p, spans))
        alignments = self.align([p for p, _ in keep])
        project = self._projector()
        names = s.label_names
        index_of = {n: i for i, n in enumerate(names)}
        method = s.method_name
        rows: list[dict] = []
        for (p, spans), al in zip(keep, alignments):
            res = project(p.source_tokens, spans, p.target_tokens, al, **s.method_params) if spans else None
            tgt_spans = list(res.spans) if res else []
            if s.span_conventions and tgt_spans:
                tgt_spans, attached = attach_leading_phrases(p.target_tokens, tgt_spans, s.span_conventions)
                for label, n in attached.items():
                    stats["convention_attached"][label] = stats["convention_attached"].get(label, 0) + n
            scores = [float(x) for x in res.scores] if res else []
            unprojected = len(res.unprojected) if res else 0
            stats["source_entities"] += len(spans)
            stats["projected_entities"] += len(spans) - unprojected
            if f.drop_unprojected and unprojected:
                filt["unprojected"] += 1
                continue
            if f.min_score is not None and any(x < f.min_score for x in scores):
                filt["min_score"] += 1
                continue
            try:
                tags = spans_to_tags(tgt_spans, len(p.target_tokens))
            except ValueError as exc:  # a method returned overlapping or out-of-range spans: counted, not hidden
                filt["invalid_projection"] = filt.get("invalid_projection", 0) + 1
                log.debug("%s: %s", p.id, exc)
                continue
            row_id = f"{s.lang}-{p.id}"
            split = split_of(row_id, s.validation_fraction)
            for sp in tgt_spans:
                stats["entities_per_class"][sp.label] = stats["entities_per_class"].get(sp.label, 0) + 1
            stats["sentences_out"] += 1
            stats["num_rows"][split] += 1
            rows.append({
                "id": row_id,
                "tokens": list(p.target_tokens),
                "ner_tags": [index_of[t] for t in tags],
                "source_tokens": list(p.source_tokens),
                "source_ner_tags": [index_of[t] for t in spans_to_tags(spans, len(p.source_tokens))],
                "alignment": [[int(a), int(b)] for a, b in al.links],
                "entity_scores": scores,
                "unprojected": unprojected,
                "source_id": p.id,
                "source_lang": p.source_lang,
                "origin": json.dumps(p.origin, sort_keys=True, ensure_ascii=False),
                "method": method,
                "split": split,
            })
        return ChunkResult(rows, stats)

    # -- running and reporting ---------------------------------------------------------------

    def run(self, *, rank: int = 0, world_size: int = 1, progress: bool = False) -> int:
        """Compute (or find in the cache) every chunk ``i`` with ``i % world_size == rank``; returns how many."""
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        todo = [i for i in range(self.num_chunks()) if i % world_size == rank]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(len(self.pairs()[i * self.chunk_size:(i + 1) * self.chunk_size]) for i in todo),
                       desc=f"{self.spec.lang}: align+project", unit="sent")
        for i in todo:
            self.process_chunk(i)
            if bar is not None:
                bar.update(min(self.chunk_size, len(self.pairs()) - i * self.chunk_size))
        if bar is not None:
            bar.close()
        return len(todo)

    def rows(self, chunks: Iterable[int], split: str | None = None) -> Iterable[tuple[int, int, dict]]:
        """``(chunk, position, row)`` of the given chunks, optionally only one split (without the ``split`` key)."""
        for c in chunks:
            for j, row in enumerate(self.process_chunk(c).rows):
                if split is None or row["split"] == split:
                    yield c, j, {k: v for k, v in row.items() if k != "split"}

    def stats(self) -> dict[str, Any]:
        """Counts over all chunks, as written in the manifest (computes missing chunks)."""
        total = _empty_stats()
        for i in range(self.num_chunks()):
            _add(total, self.process_chunk(i).stats)
        rep = self.report
        n_src = total.pop("source_entities")
        n_proj = total.pop("projected_entities")
        return {
            "sentences_in": total["sentences_in"],
            "sentences_out": total["sentences_out"],
            "entities_per_class": dict(sorted(total["entities_per_class"].items())),
            "source_entities_per_class": dict(sorted(total["source_entities_per_class"].items())),
            "projection_rate": round(n_proj / n_src, 4) if n_src else None,
            "source_entities": n_src,
            "projected_entities": n_proj,
            "filters": total["filters"],
            "labels_dropped": total["labels_dropped"],
            **({"convention_attached": dict(sorted(total["convention_attached"].items()))}
               if self.spec.span_conventions else {}),
            "source_dropped": dict(rep.dropped),
            "source_report": {"read": rep.read, "paired": rep.paired, "notes": rep.notes[:20]},
            "input_checks": dict(rep.inputs),
            "num_rows": total["num_rows"],
        }

    def score(self, reference: str | os.PathLike) -> dict[str, Any]:
        """Entity scores (exact spans) of the rows against hand labels of the target sentences.

        ``reference`` is a CoNLL file whose sentence ``i`` labels target line ``i`` (the
        ``target_line`` of each row's origin); its tokens must equal the row's tokens.
        """
        from silver_ner.projection.metrics import span_scores

        ref = read_conll(reference)
        names = self.spec.label_names
        gold, pred = [], []
        for _, _, row in self.rows(range(self.num_chunks())):
            line = json.loads(row["origin"]).get("target_line")
            if line is None or not 1 <= line <= len(ref):
                raise ValueError(f"{reference}: no sentence for target line {line} (row {row['id']})")
            sent = ref.sentences[line - 1]
            if sent.tokens != row["tokens"]:
                raise ValueError(f"{reference}:{sent.line}: tokens differ from target line {line} of the source")
            gold.append([sp for sp in sent.spans if sp.label in self.spec.labels])
            pred.append(tags_to_spans([names[t] for t in row["ner_tags"]]))
        sc = span_scores(gold, pred)
        return {"file": os.fspath(reference), "sentences": len(gold),
                **{k: round(sc[k], 4) for k in ("precision", "recall", "f1")},
                "f1_per_class": {k: round(v["f1"], 4) for k, v in sc["per_class"].items()}}

    def label_mapping(self) -> dict[str, str | None]:
        """The mapping applied to source entity types (types seen in the source; unlisted ones map to ``None``)."""
        s = self.spec
        seen = sorted({sp.label for p in self.pairs() for sp in p.source_spans} | set(s.labels))
        return {lab: (s.label_mapping[lab] if lab in s.label_mapping else (lab if lab in s.labels else None)) for lab in seen}

    def sources(self) -> list[dict[str, Any]]:
        """The corpora this config read, with licence and citation (see :mod:`silver_ner.builders.corpora`)."""
        from .corpora import sources_of

        roles = {"source_text": "source", "source_labels": "source", "source_gold": "source",
                 "target_text": "target", "translated_conll": "target"}
        files: dict[str, list[str]] = {}
        for key, path in self.spec.source.files.items():
            files.setdefault(roles.get(key, "source"), []).append(str(path))
        if self.spec.reference:
            files.setdefault("reference", []).append(str(self.spec.reference))
        return sources_of(files, self.spec.source_license)

    def config_entry(self, elapsed: float | None = None) -> dict[str, Any]:
        """This language's entry in the manifest."""
        s = self.spec
        stats = self.stats()
        source, target_source = s.source.describe(s.lang)
        entry = {
            "path": s.lang,
            "num_rows": stats.pop("num_rows"),
            "label_names": s.label_names,
            "label_mapping": self.label_mapping(),
            "stats": stats,
            "source": source,
            "target_source": target_source,
            "aligner": self.aligner_identity,
            "method": s.method_name,
            "method_params": dict(s.method_params),
            "filters": s.filters.active(),
            "validation_fraction": s.validation_fraction,
            "fingerprint": self.fingerprint(),
            "licenses": list(s.licenses),
            "sources": self.sources(),
        }
        if s.span_conventions:
            entry["span_conventions"] = {k: [" ".join(p) for p in v] for k, v in s.span_conventions.items()}
        if s.reference:
            entry["reference"] = self.score(s.reference)
        if elapsed is not None:
            entry["seconds"] = round(elapsed, 2)
        return entry


# ---------------------------------------------------------------------------------------------
# output


def _prepare_output(output_dir: Path) -> Path:
    output_dir = output_dir.resolve()
    if output_dir.exists() and any(output_dir.iterdir()) and not (output_dir / MANIFEST_NAME).exists():
        raise ValueError(f"{output_dir}: exists and is not a silver-ner build folder; choose an empty or new folder")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_dir.parent / f".{output_dir.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def _swap_into_place(tmp: Path, output_dir: Path) -> None:
    output_dir = output_dir.resolve()
    old = None
    if output_dir.exists():
        old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
        os.replace(output_dir, old)
    os.replace(tmp, output_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class BuildResult:
    output_dir: Path
    manifest: dict
    datasets: dict[str, Any]  # lang -> DatasetDict (loaded from the final folder)


def build(
    specs: Sequence[BuildSpec],
    output_dir: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
    parquet: bool = False,
    progress: bool = False,
    chunk_size: int = 512,
    builds: dict[str, LanguageBuild] | None = None,
    on_language: Callable[[str, dict], None] | None = None,
) -> BuildResult:
    """Build one silver config per spec into ``output_dir`` (see the module docstring).

    ``builds`` maps a language to a prepared :class:`LanguageBuild` (with injected aligner or
    pairs); the other specs get one made here. ``on_language(lang, entry)`` is called when a
    language is done (the command prints its summary row from it).
    """
    import datasets

    from .silver import SilverNerBuilder

    langs = [s.lang for s in specs]
    if len(set(langs)) != len(langs):
        raise ValueError(f"a language is named twice: {', '.join(langs)}")
    output_dir = Path(output_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    tmp = _prepare_output(output_dir)
    manifest = {"format": MANIFEST_FORMAT, "silver_ner_version": __version__,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "configs": {}}
    try:
        for spec in specs:
            t0 = time.perf_counter()
            lb = (builds or {}).get(spec.lang) or LanguageBuild(spec, cache_dir=cache_dir, chunk_size=chunk_size)
            if not num_proc or num_proc <= 1:
                lb.run(progress=progress)  # with num_proc, datasets' workers compute the chunks
            builder = SilverNerBuilder.from_build(lb, cache_dir=os.fspath(cache_dir / "datasets"))
            builder.download_and_prepare(num_proc=num_proc if num_proc and num_proc > 1 else None)
            dd = builder.as_dataset()
            entry = lb.config_entry()
            dd = datasets.DatasetDict({k: dd[k] for k in SPLITS if k in dd})
            for split_ds in dd.values():
                split_ds.info.description = builder.describe(entry)
            dd.save_to_disk(os.fspath(tmp / spec.lang))
            if parquet:
                (tmp / spec.lang / "parquet").mkdir()
                for k, d in dd.items():
                    d.to_parquet(os.fspath(tmp / spec.lang / "parquet" / f"{k}.parquet"))
            entry["seconds"] = round(time.perf_counter() - t0, 2)
            manifest["configs"][spec.lang] = entry
            if on_language is not None:
                on_language(spec.lang, entry)
        cache.write_json_atomic(tmp / MANIFEST_NAME, manifest)
        from .corpora import configs_readme

        (tmp / "README.md").write_text(configs_readme(manifest), encoding="utf-8")  # load_dataset(OUTPUT, lang)
        _swap_into_place(tmp, output_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    loaded = {lang: datasets.load_from_disk(os.fspath(output_dir / lang)) for lang in manifest["configs"]}
    return BuildResult(output_dir.resolve(), manifest, loaded)


def read_manifest(output_dir: str | os.PathLike) -> dict:
    """The manifest of a build folder, checked for its format."""
    path = Path(output_dir) / MANIFEST_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (not a silver-ner build folder)")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: format {data.get('format')!r}, expected {MANIFEST_FORMAT!r}")
    return data
