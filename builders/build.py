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
optional ``OUTPUT/<lang>/parquet/<split>.parquet`` (or ``<split>-00000-of-000NN.parquet`` shards of a split
larger than ``parquet_shard_rows``), and the manifest
``OUTPUT/silver_ner_build.json`` (its ``sources`` name each corpus read, with licence and citation),
and ``OUTPUT/README.md`` whose ``configs:`` make ``datasets.load_dataset(OUTPUT, lang)`` load one config
per language, as from the published repository. It writes into a temporary folder beside ``OUTPUT`` and
renames it into place at the end, so an interrupted build never leaves a dataset that loads. The cache
folder and ``OUTPUT`` may be fsspec URLs (:mod:`silver_ner.builders.storage`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from silver_ner import __version__
from silver_ner.projection.errors import UserError
from silver_ner.projection.labels import DEFAULT_LABELS, map_type, resolve_labels, span_mapping
from silver_ner.projection.conventions import normalise_word, parse_conventions
from silver_ner.projection.protocols import Aligner
from silver_ner.projection.spans import iob2_names, tags_to_spans
from silver_ner.projection.step import ProjectionStep

from . import cache, storage
from .manifest import MANIFEST_FORMAT, MANIFEST_NAME, ConfigEntry, Manifest, write_manifest  # noqa: F401 (re-exported)
from .manifest import read_manifest as read_build_manifest
from .output import (BuildInterrupted, _hide, _prepare_output, _swap_into_place, _unhide,  # noqa: F401 (re-exported)
                     check_interrupted, finish_output, interrupt_guard)
from .steps import (Align, BackTranslate, Batch, BuildCounters, Conventions, LabelBacktranslation, MapLabels,
                    PostFilter, PreFilter, Project, Step, TagCandidates, ToRows, run_steps)
from .conll import check_input_file, read_conll, read_text_lines
from .sources import MAX_LOCATIONS, SourcePair, SourceReport

log = logging.getLogger(__name__)

SPLITS = ("train", "validation")

DEFAULT_LAYER = 8
GOLD_ROLES = ("source_gold", "source_labels")
SOURCE_KINDS = ("parallel", "parallel-conll", "translate", "translated-conll", "pairs")
MORE_SOURCE_PREFIX = "more_source:"  # files key of a further labelled source: more_source:<lang>
BACKTRANSLATE_LABELS = ("project", "tagger")  # how a back-translation gets its labels
BACKTRANSLATE_OPTIONS = ("batch_size", "num_beams", "max_length", "long_input")  # HFTranslator options
# the build's steps in stages, in order (LanguageBuild.stage_steps): an engine may run each on other workers
STEP_STAGES = ("prepare", "candidates", "backtranslate", "align", "finish")


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
            raise UserError(f"max_length_ratio must be >= 1, got {self.max_length_ratio}")

    def active(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


def load_span_conventions(path: str | os.PathLike, labels: Sequence[str] | None = None) -> dict:
    """Read a span-convention file (see :func:`~silver_ner.projection.conventions.parse_conventions`):
    ``{lang: {type: [phrase, ...]}}``; errors name the file and line."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"span-convention file not found: {p}")
    text = "\n".join(read_text_lines(p, what="span-convention file"))  # a folder, a bad byte: file, line, byte
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
    * ``parallel-conll``: ``files["source_gold"]`` and ``files["target_conll"]``, sentence-parallel
      CoNLL files (the target's tokens are used, its labels are not);
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
            raise UserError(f"unknown source kind {self.kind!r}; valid: {', '.join(SOURCE_KINDS)}")
        need = {
            "parallel": ("source_text", "target_text"),
            "translate": ("source_gold",),
            "translated-conll": ("source_gold", "translated_conll"),
            "parallel-conll": ("source_gold", "target_conll"),
            "pairs": (),
        }[self.kind]
        missing = [r for r in need if not self.files.get(r)]
        if missing:
            raise UserError(f"source kind {self.kind!r} needs the file(s): {', '.join(missing)}")
        if self.kind == "parallel" and not (self.files.get("source_labels") or self.model):
            raise UserError("a parallel source needs source labels (a CoNLL file) or a tagger model")
        if self.kind == "translate" and not self.model:
            raise UserError("a translate source needs a translator model")
        if self.more_sources() and self.kind not in ("parallel", "parallel-conll"):
            raise UserError("further labelled sources (--more-source) need a source that numbers its target "
                            "sentences: --parallel or --parallel-conll")

    def more_sources(self) -> list[tuple[str, str]]:
        """``(language, file)`` of every further labelled source of the same targets."""
        return [(k[len(MORE_SOURCE_PREFIX):], v) for k, v in self.files.items() if k.startswith(MORE_SOURCE_PREFIX)]

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
        elif self.kind == "parallel-conll":
            src = {"kind": "conll", "files": [f["source_gold"]], "language": self.language}
            tgt = {"kind": "parallel-conll", "files": [f["target_conll"]], "language": lang}
        else:
            src = {"kind": "pairs", "files": [], "language": self.language}
            tgt = {"kind": "pairs", "files": [], "language": lang}
        if self.more_sources():
            src["more_sources"] = [{"language": code, "files": [path]} for code, path in self.more_sources()]
        if self.params:
            tgt["params"] = dict(self.params)
        return src, tgt


PAIRING_EMBEDDERS = ("aligner", "e5")


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
    aligner_precision: str = "float32"  # or "bfloat16" (faster on CPUs with BF16 support), "auto": resolved here (models.pick_precision)
    # re-pairing of a translated corpus: "aligner" embeds each sentence with the word aligner's own pass (encoded
    # once, the vectors reused for alignment); "e5": multilingual-e5-small, 12 layers, "query: " prefix (a second pass)
    pairing_embedder: str = "aligner"
    labels: tuple[str, ...] = DEFAULT_LABELS
    label_mapping: dict[str, str | None] = field(default_factory=dict)  # extra renames, e.g. {"PERSON": "PER"}
    filters: FilterOptions = field(default_factory=FilterOptions)
    validation_fraction: float = 0.1
    licenses: list[str] = field(default_factory=list)
    source_license: str | None = None  # Hub licence id of input files that are no known corpus (recorded in ``sources``)
    reference: str | None = None  # a labelled CoNLL file of the target side, line-parallel, to score the rows
    # target-language phrases the annotation puts at the start of a span, per entity type: {"LOC": [("jihar",)]}
    span_conventions: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    # cut, at a projected span's left edge, the target corpus's own frequent lower-case words (those in at least
    # this share of its sentences: articles, prepositions); None: off
    trim_frequent: float | None = None
    combine: str = "vote"  # how the projections of several sources of one target are combined
    min_votes: int = 1
    candidates_model: str | None = None  # a token-classification model whose target spans are the candidates
    candidates_union: bool = False  # candidates: the model's spans and every target n-gram
    # back-translation refinement: each target translated back into the source language by this model, labelled
    # ("tagger": by backtranslate_tagger; "project", the default: the source's spans projected onto it), and
    # projected onto the target instead of the source
    backtranslate_model: str | None = None
    backtranslate_labels: str | None = None  # "project" (default) or "tagger"
    backtranslate_tagger: str | None = None
    backtranslate_params: dict[str, Any] = field(default_factory=dict)  # translator options (num_beams, max_length, ...)

    def __post_init__(self) -> None:
        from silver_ner.projection.models import pick_precision

        self.aligner_precision = pick_precision(self.aligner_precision)  # never "auto" in a cache key or manifest
        if self.pairing_embedder not in PAIRING_EMBEDDERS:
            raise UserError(f"pairing embedder must be one of {', '.join(PAIRING_EMBEDDERS)}, got {self.pairing_embedder!r}")
        self.labels = resolve_labels(self.labels)
        for label, phrases in self.span_conventions.items():
            if label not in self.labels:
                raise UserError(f"span convention for {label!r}: not in the label set {','.join(self.labels)}")
            if not phrases or any(not p for p in phrases):
                raise UserError(f"span convention for {label!r}: empty phrase")
        self.span_conventions = {k: [tuple(normalise_word(w) for w in p) for p in v]
                                 for k, v in sorted(self.span_conventions.items())}
        if self.reference is not None:
            self.reference = str(self.reference).replace("{lang}", self.lang)
        if self.trim_frequent is not None:
            if not 0 < self.trim_frequent <= 1:
                raise UserError(f"--trim-frequent {self.trim_frequent}: expected a share of the sentences in (0, 1], e.g. 0.2")
            if "trim_words" in self.method_params:
                raise UserError("--trim-frequent computes trim_words from the target corpus: do not give both")
            import inspect

            from silver_ner.projection.methods import get_spec

            ms = get_spec(self.method)
            if "trim_words" not in inspect.signature(ms.func).parameters:
                raise UserError(f"--trim-frequent: projection method {ms.name!r} does not trim spans; use a matching "
                                "method (tuned-greedy, the default, ngram-*, spans-*)")
        if not 0 <= self.validation_fraction < 1:
            raise UserError(f"validation fraction must be in [0, 1), got {self.validation_fraction}")
        self.label_mapping = {k: (v.strip().upper() or None) if isinstance(v, str) else v
                              for k, v in self.label_mapping.items()}
        for k, v in self.label_mapping.items():
            if v is not None and v not in self.labels:
                raise UserError(f"label mapping {k}->{v}: {v!r} is not in the label set {','.join(self.labels)}")
        self.source = self.source.for_language(self.lang)
        if self.source.kind == "translate":  # the translator needs a model code for both: checked before it loads
            from .langcodes import check_translatable

            check_translatable(self.lang, "target language")
            check_translatable(self.source.language, "source language")
        self._check_backtranslation()

    def _check_backtranslation(self) -> None:
        """:class:`UserError` for back-translation options that do not go together (before any model loads)."""
        if not self.backtranslate_model:
            given = [flag for flag, on in (("--backtranslate-labels", self.backtranslate_labels),
                                           ("--backtranslate-tagger", self.backtranslate_tagger),
                                           ("--backtranslate-param", self.backtranslate_params)) if on]
            if given:
                raise UserError(f"{', '.join(given)} go(es) with --backtranslate MODEL (the translator into the source "
                                "language)")
            return
        mode = self.backtranslate_labels or "project"
        if mode not in BACKTRANSLATE_LABELS:
            raise UserError(f"--backtranslate-labels {mode!r}: expected one of {', '.join(BACKTRANSLATE_LABELS)}")
        if mode == "tagger" and not self.backtranslate_tagger:
            raise UserError("--backtranslate-labels tagger needs a source-language NER model to tag the back-translations: "
                            "--backtranslate-tagger MODEL (or --tagger MODEL)")
        if mode == "project" and self.backtranslate_tagger:
            raise UserError("--backtranslate-tagger goes with --backtranslate-labels tagger (with 'project' the "
                            "source's labels are projected onto the back-translation)")
        unknown = sorted(set(self.backtranslate_params) - set(BACKTRANSLATE_OPTIONS))
        if unknown:
            raise UserError(f"--backtranslate-param {', '.join(unknown)}: unknown translator option(s); valid: "
                            f"{', '.join(BACKTRANSLATE_OPTIONS)}")
        if self.source.more_sources():
            raise UserError("--backtranslate and --more-source do not go together: the back-translation is the one "
                            "source projected from")
        from silver_ner.projection.methods import NEEDS_CANDIDATES, get_spec

        if mode == "project" and get_spec(self.method).name in NEEDS_CANDIDATES:
            raise UserError(f"--backtranslate-labels project: method {get_spec(self.method).name!r} matches candidate "
                            "spans, which the back-translation has none of; use --backtranslate-labels tagger")
        from .langcodes import check_translatable

        check_translatable(self.lang, "target language")
        check_translatable(self.source.language, "source language")
        self.backtranslate_labels = mode

    def backtranslation_options(self) -> dict[str, Any]:
        """The translator's options for back-translation: long sentences are split, never an error."""
        return {"long_input": "split", **self.backtranslate_params}

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
        if ms.name in NEEDS_CANDIDATES and not self.candidates_model:
            raise UserError(f"projection method {ms.name!r} matches candidate spans: name the model that predicts "
                            "them on the target with --candidates-from MODEL")
        if self.candidates_model and ms.name not in NEEDS_CANDIDATES:
            raise UserError(f"--candidates-from needs a method that matches given spans "
                            f"({', '.join(sorted(NEEDS_CANDIDATES))}), not {ms.name!r}")
        return link_settings(ms.name, self.layer, self.link_methods(), self.token_type)

    def link_methods(self) -> tuple[str, ...] | None:
        """The link methods named by ``align_method`` (several joined by ``+``), else ``None``: the method's own."""
        return tuple(self.align_method.split("+")) if self.align_method else None


def link_settings(method: str | None, layer: int | None = None, links: Sequence[str] | None = None,
                  token_type: str | None = None) -> tuple[int, str, str]:
    """``(layer, link method, token type)`` of the aligner for projection ``method``: what is given, else what
    the method was measured with (else layer 8, word vectors)."""
    from silver_ner.projection.methods import get_spec

    ms = get_spec(method)
    layer = layer if layer is not None else (ms.layer if ms.layer is not None else DEFAULT_LAYER)
    links = tuple(links or ()) or ms.links
    return layer, links[0], token_type or getattr(ms, "token_type", "word")


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
    from silver_ner.projection.encoder import resolve_encoder
    from silver_ner.projection.models import fingerprint

    path = Path(resolve_encoder(None))
    return f"meanpool:{path.name}@{fingerprint(path)}:precision={precision}"


SOURCE_WORK = ("translate", "tag")  # the model work a source stage may hold (source_work)


def source_work(spec: BuildSpec) -> str | None:
    """The model work of ``spec``'s source stage: ``"translate"`` (a translate source: the labelled sentences
    machine-translated), ``"tag"`` (a parallel source without source labels: its source side tagged by a
    token-classification model), else ``None`` (the re-pairing of a translated corpus stays with the reading)."""
    src = spec.source
    if src.kind == "translate":
        return "translate"
    if src.kind == "parallel" and not src.files.get("source_labels"):
        return "tag"
    return None


@dataclass
class SourceRead:
    """A source stage with its files read: what is left is the model work ``work`` (:func:`source_work`) over
    ``batches`` (the model's inputs, one list per batch, in line order; ``lines`` holds each batch's line numbers),
    which :func:`run_source_batch` does wherever the model is loaded, and :meth:`assemble`.

    Both engines go through it: :func:`load_pairs` runs the batches in this process, the Ray engine on actors;
    either way :meth:`assemble` makes the same pairs and report from the outputs."""

    work: str | None
    batches: list[list]
    lines: list[list[int]]
    report: SourceReport
    finish: Callable[[str | None, list], list[SourcePair]]  # (model identity, outputs in line order) -> pairs

    def assemble(self, results: Sequence[tuple[str, list]]) -> tuple[list[SourcePair], SourceReport]:
        """The pairs and report from ``results``: ``(model identity, outputs)`` of every batch, in batch order."""
        if len(results) != len(self.batches):
            raise ValueError(f"{len(results)} results for {len(self.batches)} source batches")
        identity = results[0][0] if results else None
        return self.finish(identity, [out for _, outputs in results for out in outputs]), self.report


def read_source(spec: BuildSpec, *, embedder=None) -> SourceRead:
    """The read part of ``spec``'s source stage (every kind: a source without model work is done here, with
    ``embedder`` re-pairing a translated corpus, default the process's multilingual-e5-small embedder)."""
    src = spec.source
    report = SourceReport()
    target = None
    work, batches, lines = source_work(spec), [], []
    if src.kind == "parallel":
        from . import parallel

        gold = read_conll(src.files["source_labels"]) if src.files.get("source_labels") else None
        read = parallel.read_parallel(src.files["source_text"], src.files["target_text"], spec.lang, report, gold=gold,
                                      source_lang=src.language,
                                      source_labels_tokens=bool(src.params.get("source_labels_tokens")))
        if gold is None:
            batches, lines = read.batches(), read.batch_lines()

        def made(identity, spans):
            return list(read.pairs(read.gold_spans() if gold is not None else spans, report, identity))
    elif src.kind == "translate":
        from . import translate as mt

        gold = read_conll(src.files["source_gold"])
        report.note_inputs("iob2_repairs", gold.repair_locations())
        chunk, _ = mt.translation_options(src.params)
        batches, lines = mt.translation_batches(gold, chunk), mt.translation_batch_lines(gold, chunk)

        def made(identity, translations):
            return list(mt.translated_pairs(gold, translations, identity, spec.lang, report, source_lang=src.language))
    else:
        if src.kind == "translated-conll":
            from . import pairing

            gold = read_conll(src.files["source_gold"])
            report.note_inputs("iob2_repairs", gold.repair_locations())
            done = list(pairing.pairs_from_translated_conll(gold, src.files["translated_conll"], spec.lang, report,
                                                            embedder or _shared_embedder(spec.aligner_precision),
                                                            source_lang=src.language, **src.params))
        elif src.kind == "parallel-conll":
            from .conll_pairs import pairs_from_conll

            target = read_conll(src.files["target_conll"])
            done = list(pairs_from_conll(read_conll(src.files["source_gold"]), target, spec.lang, report,
                                         source_lang=src.language))
        else:
            raise ValueError("a 'pairs' source has no files to read; hand the pairs to LanguageBuild")

        def made(identity, outputs):
            return done

    def finish(identity, outputs):
        pairs = made(identity, outputs)
        if src.more_sources():
            from .conll_pairs import attach_more_sources

            n_targets = (len(target) if src.kind == "parallel-conll"
                         else len(read_text_lines(src.files["target_text"], what="target text")))
            attach_more_sources(pairs, [(read_conll(path), code) for code, path in src.more_sources()], n_targets,
                                report)
        return pairs

    return SourceRead(work, batches, lines, report, finish)


def load_source_model(spec: BuildSpec):
    """The model of ``spec``'s source stage, as both engines load it: a translate source's translator
    (:class:`~silver_ner.builders.translate.HFTranslator` with the source's options; its translations cached in the
    node-local ``translations.sqlite``), a parallel source's tagger (:class:`~silver_ner.builders.tagger.HFTagger`)."""
    work = source_work(spec)
    if work == "translate":
        from . import translate as mt

        _, options = mt.translation_options(spec.source.params)
        return mt.HFTranslator(spec.source.model, **options)
    if work == "tag":
        from . import tagger

        return tagger.HFTagger(spec.source.model)
    raise ValueError(f"a {spec.source.kind!r} source has no model work")


def run_source_batch(spec: BuildSpec, model, inputs: Sequence) -> tuple[str, list]:
    """The model part of ``spec``'s source stage on one batch of :attr:`SourceRead.batches`, with the model of
    :func:`load_source_model`: ``(model identity, outputs)`` (translations, or each sentence's spans)."""
    if source_work(spec) == "translate":
        from .translate import translate_batch

        return model.identity, translate_batch(model, inputs, spec.source.language, spec.lang)
    from .parallel import tag_batch

    return model.identity, tag_batch(model, inputs)


def load_pairs(spec: BuildSpec, *, progress: bool = False, embedder=None) -> tuple[list[SourcePair], SourceReport]:
    """Run the source stage of ``spec`` in this process: the labelled source sentences paired with target sentences.

    ``embedder`` re-pairs a translated corpus (default: the process's multilingual-e5-small embedder). The
    files are read (:func:`read_source`), the model work runs batch by batch here, and the pairs are assembled.
    """
    read = read_source(spec, embedder=embedder)
    results = []
    if read.work is not None:
        model = load_source_model(spec)
        results = [run_source_batch(spec, model, batch) for batch in read.batches]
    return read.assemble(results)


def pair_to_json(p: SourcePair) -> dict:
    return p.to_json()


def pair_from_json(d: dict) -> SourcePair:
    return SourcePair.from_json(d)


# ---------------------------------------------------------------------------------------------
# the per-language pipeline


@dataclass
class ChunkResult:
    """Rows (already assigned to a split) and counts of one chunk."""

    rows: list[dict]
    stats: dict[str, Any]


def _provenance_fingerprint(files: dict[str, Any]) -> dict[str, str]:
    """``{role: sha256}`` of the provenance sidecars of a source's files (see
    :func:`silver_ner.builders.corpora.read_provenance`), each checked first: a malformed sidecar is
    one error before any work, and a changed sidecar changes the source key."""
    from .corpora import provenance_path, read_provenance

    out = {}
    for role, path in sorted(files.items()):
        if path is not None and read_provenance(path) is not None:
            out[role] = cache.file_digest(provenance_path(path))
    return out


class LanguageBuild:
    """The stages for one :class:`BuildSpec`, chunked and cached.

    ``aligner`` defaults to :class:`~silver_ner.projection.aligner.EmbeddingAligner` built from
    the spec (created only when an alignment is not in the cache); ``pairs`` replaces the
    source stage (for ``kind="pairs"``); ``method`` replaces the projection function looked up
    by name (its name must still be given in ``spec.method`` for provenance).
    """

    def __init__(self, spec: BuildSpec, *, cache_dir: str | os.PathLike | None = None, aligner: Aligner | None = None,
                 pairs: Sequence[SourcePair] | None = None, report: SourceReport | None = None,
                 method: Callable | None = None, chunk_size: int = 512, aligner_options: dict | None = None):
        self.spec = spec
        # the chunk and pairs cache: a local folder (Path) or an fsspec URL (see builders/storage.py); the SQLite
        # caches need a local filesystem: this folder when it is local, else the node-local cache folder
        self.cache_dir = storage.location(cache_dir) if cache_dir is not None else cache.default_cache_dir()
        self.local_cache_dir = storage.local_home(self.cache_dir)
        self.chunk_size = int(chunk_size)
        if self.chunk_size < 1:
            raise UserError("chunk size must be >= 1")
        self._aligner = aligner
        self._method = method
        self._pairs = list(pairs) if pairs is not None else None
        self._report = report if report is not None else (SourceReport(read=len(self._pairs), paired=len(self._pairs))
                                                          if self._pairs is not None else None)
        if spec.source.kind == "pairs" and self._pairs is None:
            raise ValueError("a 'pairs' source needs the pairs handed to LanguageBuild(pairs=...)")
        self._chunk_memo: dict[int, ChunkResult] = {}
        self._candidate_tagger = None
        self._frequent_words: list[str] | None = None
        self._backtranslator = None
        self._backtranslation_tagger = None
        # options of the default aligner, e.g. {"num_threads": 1, "cache_dir": None} in an engine's worker
        self.aligner_options = dict(aligner_options or {})
        self._ids_checked = False
        self._labels_checked = False
        self._source_key: str | None = None
        self._fingerprint: str | None = None

    def __getstate__(self):  # a model-holding aligner is rebuilt in worker processes from the spec
        state = dict(self.__dict__)
        state["_chunk_memo"] = {}
        state["_candidate_tagger"] = None
        state["_backtranslator"] = state["_backtranslation_tagger"] = None
        if self._aligner is not None and type(self._aligner).__module__.endswith("projection.aligner"):
            state["_aligner"] = None
        return state

    # -- identities and keys ---------------------------------------------------------------

    @property
    def aligner(self) -> Aligner:
        if self._aligner is None:
            from silver_ner.projection.aligner import EmbeddingAligner

            layer, links, token_type = self.spec.link_settings()
            options = {"cache_dir": os.fspath(self.local_cache_dir / "aligner"), **self.aligner_options}
            self._aligner = EmbeddingAligner(model=self.spec.aligner_model, layer=layer, method=links,
                                             token_type=token_type, batch_size=self.spec.align_batch_size,
                                             precision=self.spec.aligner_precision, **options)
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
        # a parallel source's model tags the unlabelled source side; a translate source's model translates
        model = self._tagger_identity(src.model) if src.kind == "parallel" else self._model_identity(src.model)
        extra = [self._pairing_identity()] if src.kind == "translated-conll" else []
        sidecars = _provenance_fingerprint(src.files)
        if sidecars:  # only keyed when present: builds of files without a sidecar keep their keys
            extra.append({"provenance": sidecars})
        return cache.make_key("source", src.kind, self.spec.lang, src.language, files, model, src.params, *extra)

    def _pairing_embedder(self):
        """The re-pairing embedder of a translated corpus: the aligner's pass (default) or multilingual-e5-small."""
        if self.spec.pairing_embedder == "e5":
            return _shared_embedder(self.spec.aligner_precision)
        from .pairing import AlignerPassEmbedder

        return AlignerPassEmbedder(self.aligner)

    def _source_embedder(self):
        """The re-pairing embedder when the source is a translated corpus, else ``None``."""
        return self._pairing_embedder() if self.spec.source.kind == "translated-conll" else None

    def _pairing_identity(self) -> str:
        if self.spec.pairing_embedder == "e5":
            return _embedder_identity(self.spec.aligner_precision)
        return self._pairing_embedder().identity

    @staticmethod
    def _model_identity(model: str | None) -> str | None:
        """A model's content identity (:func:`silver_ner.projection.models.model_identity`: folder name or Hub
        id, with the digest of its files)."""
        if model is None:
            return None
        from silver_ner.projection.models import model_identity

        return model_identity(model)

    @classmethod
    def _tagger_identity(cls, model: str | None) -> str | None:
        """A tagging model's identity with the tagger's version: the same model may tag differently after the
        tagger changes (windows, normalisation), so cached tags and builds made with it are not reused."""
        if model is None:
            return None
        from .tagger import TAGGER_VERSION

        return f"{cls._model_identity(model)}#tagger-{TAGGER_VERSION}"

    def fingerprint(self) -> str:
        """The cache key of the whole config: inputs, models, parameters and the package version."""
        if self._fingerprint is None:
            s = self.spec
            extra = [{"span_conventions": s.span_conventions}] if s.span_conventions else []
            if s.trim_frequent is not None:
                extra.append({"trim_frequent": s.trim_frequent})
            if (s.combine, s.min_votes) != ("vote", 1):
                extra.append({"combine": s.combine, "min_votes": s.min_votes})
            if s.candidates_model:
                extra.append({"candidates": self._tagger_identity(s.candidates_model), "union": s.candidates_union})
            if s.backtranslate_model:
                extra.append({"backtranslation": self.backtranslation_identity()})
            self._fingerprint = cache.make_key("build", self.source_key(), self.aligner_identity, s.method_name,
                                               s.method_params, list(s.labels), s.label_mapping, asdict(s.filters),
                                               s.validation_fraction, *extra)
        return self._fingerprint

    # -- stage 1: pairs --------------------------------------------------------------------

    def _pairs_path(self) -> storage.Location:
        return storage.join(self.cache_dir, "pairs", f"{self.source_key()}.json")

    def pairs_cached(self) -> bool:
        """Whether the source stage's pairs are at hand (given, already read, or in the pairs cache, which this
        reads)."""
        if self._pairs is None:
            hit = storage.read_json(self._pairs_path())
            if hit is not None and "inputs" in hit["report"]:  # entries without input checks are read again
                self._pairs = [pair_from_json(d) for d in hit["pairs"]]
                self._report = SourceReport(**hit["report"])
        return self._pairs is not None

    def read_source(self) -> SourceRead:
        """The read part of the source stage (:func:`read_source`), for an engine that runs its model work
        elsewhere and hands the assembled pairs to :meth:`set_pairs`."""
        return read_source(self.spec, embedder=self._source_embedder())

    def set_pairs(self, pairs: list[SourcePair], report: SourceReport) -> None:
        """The source stage's result: kept, and written to the pairs cache."""
        self._pairs, self._report = list(pairs), report
        storage.write_json_atomic(self._pairs_path(), {"pairs": [pair_to_json(p) for p in self._pairs],
                                                       "report": asdict(self._report)})

    def pairs(self) -> list[SourcePair]:
        if not self.pairs_cached():
            self.set_pairs(*load_pairs(self.spec, embedder=self._source_embedder()))
        if not self._ids_checked:
            seen: set[str] = set()
            for p in self._pairs:
                if p.id in seen:
                    raise UserError(f"source for {self.spec.lang}: pair id {p.id!r} occurs more than once")
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

    # -- the steps ---------------------------------------------------------------------------

    def projection(self) -> ProjectionStep:
        """The projection step of this spec (the injected ``method`` function, if any)."""
        s = self.spec
        params = dict(s.method_params)
        if s.trim_frequent is not None:
            params["trim_words"] = self.frequent_target_words()
        return ProjectionStep(s.method, params=params, links=s.link_methods(), func=self._method,
                              combine=s.combine, min_votes=s.min_votes, union_ngrams=s.candidates_union)

    def frequent_target_words(self) -> list[str]:
        """With ``trim_frequent``: the target corpus's frequent lower-case words (over every pair of the
        source stage, so the same list in every chunk and on every worker; computed once)."""
        if self._frequent_words is None:
            from silver_ner.projection.matching import frequent_lowercase_words

            self._frequent_words = frequent_lowercase_words((p.target_tokens for p in self.pairs()), self.spec.trim_frequent)
        return self._frequent_words

    def candidate_tagger(self):
        """The model that predicts candidate spans on the target sentences (loaded once)."""
        if self._candidate_tagger is None:
            from .tagger import HFTagger

            self._candidate_tagger = HFTagger(self.spec.candidates_model)
        return self._candidate_tagger

    def backtranslation_identity(self) -> dict[str, Any]:
        """What the back-translation refinement depends on (in the fingerprint and the manifest): the translator
        (a local folder by the digest of its files), its options, the source language and how the
        back-translations are labelled (a tagger by its identity)."""
        s = self.spec
        out = {"model": self._model_identity(s.backtranslate_model), "options": s.backtranslation_options(),
               "lang": s.source.language, "labels": s.backtranslate_labels}
        if s.backtranslate_tagger:
            out["tagger"] = self._tagger_identity(s.backtranslate_tagger)
        return out

    def backtranslator(self):
        """The translator from the target language back into the source language (loaded once); its
        translations are cached in ``translations.sqlite`` of the local cache folder (``<cache>`` when it is local)."""
        if self._backtranslator is None:
            from .translate import HFTranslator

            self._backtranslator = HFTranslator(self.spec.backtranslate_model, **self.spec.backtranslation_options(),
                                                cache_path=self.local_cache_dir / "translations.sqlite")
        return self._backtranslator

    def backtranslation_tagger(self):
        """The source-language tagger of the back-translations (loaded once)."""
        if self._backtranslation_tagger is None:
            from .tagger import HFTagger

            self._backtranslation_tagger = HFTagger(self.spec.backtranslate_tagger)
        return self._backtranslation_tagger

    def stage_steps(self, stage: str, aligner: Aligner | None = None) -> list[Step]:
        """The steps of one of :data:`STEP_STAGES` (``[]`` when the spec has none there); only that stage's
        models load. ``prepare``: map labels, pre-filter; ``candidates``: tag candidates; ``backtranslate``:
        back-translate (and label the back-translations with the tagger); ``align``: (label the
        back-translations by projection,) align, with ``aligner`` (default this build's); ``finish``:
        project, conventions, post-filter, rows."""
        s, f = self.spec, self.spec.filters
        if stage == "prepare":
            return [MapLabels(s.labels, s.label_mapping), PreFilter(f.max_length_ratio)]
        if stage == "candidates":
            return [TagCandidates(self.candidate_tagger())] if s.candidates_model else []
        if stage == "backtranslate":
            if not s.backtranslate_model:
                return []
            steps: list[Step] = [BackTranslate(self.backtranslator(), s.source.language, s.lang)]
            if s.backtranslate_labels == "tagger":
                steps.append(LabelBacktranslation(self.projection(), tagger=self.backtranslation_tagger(),
                                                  map_labels=MapLabels(s.labels, s.label_mapping)))
            return steps
        if stage == "align":
            aligner = aligner if aligner is not None else self.aligner
            proj = self.projection()
            label = ([LabelBacktranslation(proj, aligner=aligner)]
                     if s.backtranslate_model and s.backtranslate_labels != "tagger" else [])
            return [*label, Align(aligner, proj)]
        if stage == "finish":
            return [Project(self.projection()), Conventions(s.span_conventions), PostFilter(f.drop_unprojected, f.min_score),
                    ToRows(s.lang, s.label_names, s.method_name,
                           functools.partial(split_of, validation_fraction=s.validation_fraction))]
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STEP_STAGES)}")

    def steps(self, aligner: Aligner | None = None) -> list[Step]:
        """The build's steps for one batch, every stage of :data:`STEP_STAGES` in turn: map labels, pre-filter,
        [tag candidates], [back-translate, label back-translation], align (with ``aligner``, default this
        build's), project, conventions, post-filter, rows. See :mod:`silver_ner.builders.steps`."""
        return [step for stage in STEP_STAGES for step in self.stage_steps(stage, aligner)]

    def _chunk_name(self, index: int) -> str:
        return f"{self.chunk_size}-{index:05d}.json"

    def _chunk_path(self, index: int) -> storage.Location:
        return storage.join(self.cache_dir, "rows", self.fingerprint(), self._chunk_name(index))

    def cached_chunks(self) -> set[int]:
        """The chunks whose rows are in the chunk cache (one listing of the build's folder, not one request per
        chunk on an object store)."""
        have = storage.names(storage.join(self.cache_dir, "rows", self.fingerprint()))
        return {i for i in range(self.num_chunks()) if self._chunk_name(i) in have}

    def process_chunk(self, index: int) -> ChunkResult:
        """Rows and counts of chunk ``index`` (cached by the fingerprint)."""
        if index in self._chunk_memo:
            return self._chunk_memo[index]
        n = self.num_chunks()
        if not 0 <= index < n:
            raise IndexError(f"chunk {index} out of range (0..{n - 1})")
        path = self._chunk_path(index)
        hit = storage.read_json(path)
        if hit is not None:
            res = ChunkResult(hit["rows"], hit["stats"])
        else:
            res = self._compute_chunk(index)
            storage.write_json_atomic(path, {"rows": res.rows, "stats": res.stats})
        self._chunk_memo = {index: res}  # keep one: both splits read it in turn
        return res

    def _compute_chunk(self, index: int) -> ChunkResult:
        chunk = self.pairs()[index * self.chunk_size:(index + 1) * self.chunk_size]
        batch = run_steps(self.steps(), Batch.of(chunk))
        return ChunkResult([r.row for r in batch.records], batch.counters.to_dict())

    # -- running and reporting ---------------------------------------------------------------

    def source_types(self) -> list[str]:
        """The entity types of the labelled source sentences (the labels file itself when there is one, so a
        translating or re-pairing source is checked before it runs)."""
        src = self.spec.source
        path = src.files.get("source_gold") or src.files.get("source_labels")
        if self._pairs is None and path and src.kind != "pairs":
            return sorted(set(read_conll(path).labels))
        return sorted({sp.label for p in self.pairs() for sp in p.source_spans})

    def check_labels(self) -> None:
        """:class:`UserError` when a type of the label set, or a ``label_mapping`` source type, occurs
        nowhere in the source (a typo would otherwise give a config without that type)."""
        if self._labels_checked:
            return
        s = self.spec
        seen = self.source_types()
        have = ", ".join(seen) or "none"
        unknown = [k for k in s.label_mapping if k not in seen]
        if unknown:
            raise UserError(f"{s.lang}: label mapping of {', '.join(unknown)}: the type(s) occur nowhere in the source "
                            f"(source types: {have})")
        produced = {map_type(t, s.label_mapping) for t in seen}
        missing = [lab for lab in s.labels if lab not in produced]
        if missing:
            hints = [f"--label-map {t}={lab}" for lab in missing for t in seen
                     if t.upper() == lab and t not in s.label_mapping]
            raise UserError(f"{s.lang}: entity type(s) {', '.join(missing)} of the label set {','.join(s.labels)} occur "
                            f"nowhere in the source (source types: {have}); "
                            + (f"the source spells them otherwise: {', '.join(hints)}" if hints else
                               "leave them out of --labels or map a source type onto them with --label-map"))
        self._labels_checked = True

    def split_names(self) -> list[str]:
        """The splits that have rows, in :data:`SPLITS` order (``[]`` when no row survives).

        Exact when every chunk is computed or cached; otherwise (``datasets``' workers compute
        the chunks) the splits that some pair's id hashes into, which a filter may still empty.
        """
        cached = self.cached_chunks()
        if all(i in self._chunk_memo or i in cached for i in range(self.num_chunks())):
            counts = self.stats()["num_rows"]
            return [k for k in SPLITS if counts.get(k)]
        frac = self.spec.validation_fraction
        hashed = {split_of(f"{self.spec.lang}-{p.id}", frac) for p in self.pairs()}
        return [k for k in SPLITS if k in hashed]

    def run(self, *, rank: int = 0, world_size: int = 1, progress: bool = False) -> int:
        """Compute (or find in the cache) every chunk ``i`` with ``i % world_size == rank``; returns how many."""
        if not 0 <= rank < world_size:
            raise UserError(f"rank {rank} outside world size {world_size}")
        self.check_labels()
        todo = [i for i in range(self.num_chunks()) if i % world_size == rank]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(len(self.pairs()[i * self.chunk_size:(i + 1) * self.chunk_size]) for i in todo),
                       desc=f"{self.spec.lang}: align+project", unit="sent")
        for i in todo:
            check_interrupted()
            self.process_chunk(i)
            if bar is not None:
                bar.update(min(self.chunk_size, len(self.pairs()) - i * self.chunk_size))
        if bar is not None:
            bar.close()
        if self._aligner is not None and hasattr(self._aligner, "forget"):
            self._aligner.forget()  # sentences the re-pairing encoded and no chunk of this rank aligned
        return len(todo)

    def rows(self, chunks: Iterable[int], split: str | None = None) -> Iterable[tuple[int, int, dict]]:
        """``(chunk, position, row)`` of the given chunks, optionally only one split (without the ``split`` key)."""
        for c in chunks:
            for j, row in enumerate(self.process_chunk(c).rows):
                if split is None or row["split"] == split:
                    yield c, j, {k: v for k, v in row.items() if k != "split"}

    def stats(self) -> dict[str, Any]:
        """Counts over all chunks, as written in the manifest (computes missing chunks)."""
        total = BuildCounters(num_rows=Counter({k: 0 for k in SPLITS}))
        for i in range(self.num_chunks()):
            total.add(BuildCounters.from_dict(self.process_chunk(i).stats))
        rep = self.report
        n_src, n_proj = total.source_entities, total.projected_entities
        return {
            "sentences_in": total.sentences_in,
            "sentences_out": total.sentences_out,
            "entities_per_class": dict(sorted(total.entities_per_class.items())),
            "source_entities_per_class": dict(sorted(total.source_entities_per_class.items())),
            "projection_rate": round(n_proj / n_src, 4) if n_src else None,
            "source_entities": n_src,
            "projected_entities": n_proj,
            "filters": dict(total.filters),
            "labels_dropped": dict(total.labels_dropped),
            **({"convention_attached": dict(sorted(total.convention_attached.items()))}
               if self.spec.span_conventions else {}),
            **({"backtranslation": {k: total.backtranslation.get(k, 0) for k in
                                    ("sentences", "cut_at_max_length", "empty", "entities", "labels_dropped",
                                     "unprojected")}} if self.spec.backtranslate_model else {}),
            "source_dropped": dict(rep.dropped),
            "source_report": {"read": rep.read, "paired": rep.paired, "notes": rep.notes[:20]},
            "input_checks": dict(rep.inputs),
            "num_rows": dict(total.num_rows),
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
            origin = json.loads(row["origin"])
            line = origin.get("target_sentence", origin.get("target_line"))  # sentence number of a CoNLL target
            if line is None or not 1 <= line <= len(ref):
                raise UserError(f"{reference}: no sentence for target line {line} (row {row['id']})")
            sent = ref.sentences[line - 1]
            if sent.tokens != row["tokens"]:
                raise UserError(f"{reference}:{sent.line}: tokens differ from target line {line} of the source")
            gold.append([sp for sp in sent.spans if sp.label in self.spec.labels])
            pred.append(tags_to_spans([names[t] for t in row["ner_tags"]]))
        sc = span_scores(gold, pred)
        return {"file": os.fspath(reference), "sentences": len(gold),
                **{k: round(sc[k], 4) for k in ("precision", "recall", "f1")},
                "f1_per_class": {k: round(v["f1"], 4) for k, v in sc["per_class"].items()},
                "iob2_repairs": {"count": len(ref.repairs), "at": ref.repair_locations()[:MAX_LOCATIONS]}}

    def label_mapping(self) -> dict[str, str | None]:
        """The mapping applied to source entity types (types seen in the source; unlisted ones map to ``None``)."""
        s = self.spec
        seen = sorted({sp.label for p in self.pairs() for sp in p.source_spans} | set(s.labels))
        return span_mapping(seen, s.labels, s.label_mapping)

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
        num_rows = stats.pop("num_rows")
        entry = {
            "path": s.lang,
            "splits": [k for k in SPLITS if num_rows.get(k)],  # only the splits that have rows are written
            "num_rows": {k: n for k, n in num_rows.items() if n},
            "label_names": s.label_names,
            "label_mapping": self.label_mapping(),
            "stats": stats,
            "source": source,
            "target_source": target_source,
            "aligner": self.aligner_identity,
            **({"pairing_embedder": self._pairing_identity()} if s.source.kind == "translated-conll" else {}),
            "method": s.method_name,
            "method_params": dict(s.method_params),
            **({"trim_frequent": {"share": s.trim_frequent, "words": self.frequent_target_words()}}
               if s.trim_frequent is not None else {}),
            "filters": s.filters.active(),
            "validation_fraction": s.validation_fraction,
            "fingerprint": self.fingerprint(),
            "licenses": list(s.licenses),
            "sources": self.sources(),
        }
        if s.backtranslate_model:
            ident = self.backtranslation_identity()  # rows' source_tokens/source_ner_tags: the labelled back-translations
            entry["backtranslation"] = {**ident, "model": s.backtranslate_model, "model_identity": ident["model"]}
        if s.span_conventions:
            entry["span_conventions"] = {k: [" ".join(p) for p in v] for k, v in s.span_conventions.items()}
        if s.reference:
            entry["reference"] = self.score(s.reference)
        if elapsed is not None:
            entry["seconds"] = round(elapsed, 2)
        return entry


# ---------------------------------------------------------------------------------------------
# output (the folder and interrupts: builders/output.py)


def _check_rows(lang: str, entry: dict, allow_empty: bool) -> None:
    """:class:`UserError` for a config with no row, or (unless ``allow_empty``) with no entity in any row."""
    st = entry["stats"]
    if not st["sentences_out"]:
        removed = ", ".join(f"{k}: {v}" for k, v in st["filters"].items() if v) or "none"
        raise UserError(f"{lang}: no rows to write ({st['sentences_in']} sentence pairs in; removed by the filters: "
                        f"{removed})")
    if not sum(st["entities_per_class"].values()) and not allow_empty:
        raise UserError(f"{lang}: no entity in any of its {st['sentences_out']} rows (source entities: "
                        f"{st['source_entities']}, projected: {st['projected_entities']}, dropped by the label set: "
                        f"{sum(st['labels_dropped'].values())}); pass --allow-empty to write such a config anyway")


DEFAULT_PARQUET_SHARD_ROWS = 500_000  # a split of at most this many rows is one Parquet file, <split>.parquet


def parquet_file_names(split: str, num_rows: int, shard_rows: int = DEFAULT_PARQUET_SHARD_ROWS) -> list[str]:
    """The Parquet files of a split of ``num_rows`` rows: ``<split>.parquet`` when it has at most ``shard_rows``
    rows, else ``<split>-00000-of-000NN.parquet`` ... of ``shard_rows`` rows each (the last one the rest)."""
    if shard_rows < 1:
        raise UserError(f"--parquet-shard-rows must be >= 1, got {shard_rows}")
    n = max(1, -(-num_rows // shard_rows))
    return [f"{split}.parquet"] if n == 1 else [f"{split}-{i:05d}-of-{n:05d}.parquet" for i in range(n)]


def write_parquet(dd: Any, folder: Path, shard_rows: int = DEFAULT_PARQUET_SHARD_ROWS) -> list[str]:
    """Write each split of ``dd`` into ``folder`` as the files :func:`parquet_file_names` names, the rows in the
    split's order (chunk, then position in the chunk), shard ``i`` holding rows ``i*shard_rows`` onwards; each file
    is written under a temporary name and renamed. Returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for split, d in dd.items():
        names = parquet_file_names(split, d.num_rows, shard_rows)
        for i, name in enumerate(names):
            part = d if len(names) == 1 else d.select(range(i * shard_rows, min(d.num_rows, (i + 1) * shard_rows)))
            tmp = folder / f".{name}.tmp-{os.getpid()}"
            try:
                part.to_parquet(os.fspath(tmp))
                os.replace(tmp, folder / name)
            finally:
                if tmp.exists():
                    tmp.unlink()
            written.append(name)
    return written


@dataclass
class BuildResult:
    output_dir: Path | str  # a local folder, or the URL of the output on another filesystem
    manifest: dict
    datasets: dict[str, Any]  # lang -> DatasetDict (loaded from the final folder)


def build(
    specs: Sequence[BuildSpec],
    output_dir: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
    parquet: bool = False,
    parquet_shard_rows: int | None = None,
    progress: bool = False,
    chunk_size: int = 512,
    builds: dict[str, LanguageBuild] | None = None,
    on_language: Callable[[str, dict], None] | None = None,
    allow_empty: bool = False,
) -> BuildResult:
    """Build one silver config per spec into ``output_dir`` (see the module docstring).

    ``builds`` maps a language to a prepared :class:`LanguageBuild` (with injected aligner or
    pairs); the other specs get one made here. ``on_language(lang, entry)`` is called when a
    language is done (the command prints its summary row from it).

    ``cache_dir`` and ``output_dir`` may be fsspec URLs (see :mod:`silver_ner.builders.storage`): the chunk
    cache is then read and written there, and an output on a non-local filesystem is built in a local
    staging folder and uploaded at the end (:func:`~silver_ner.builders.storage.upload_folder`).

    ``parquet``: also write ``<lang>/parquet/`` (:func:`write_parquet`); ``parquet_shard_rows`` (implies
    ``parquet``) is the largest number of rows in one Parquet file (default :data:`DEFAULT_PARQUET_SHARD_ROWS`).

    A type of a spec's label set that occurs nowhere in its source, a config without rows, and
    (unless ``allow_empty``) a config whose rows hold no entity are :class:`UserError`. Only
    the splits that have rows are written (the manifest's ``splits``). SIGINT and SIGTERM raise
    :class:`BuildInterrupted` (see :func:`interrupt_guard`); the partial folder is removed, a
    killed build's is removed by the next run, and cached chunks are kept for resuming.
    """
    import datasets

    langs = [s.lang for s in specs]
    if len(set(langs)) != len(langs):
        raise UserError(f"a language is named twice: {', '.join(langs)}")
    if parquet_shard_rows is not None:
        parquet_file_names("train", 0, parquet_shard_rows)  # a bad count stops before any work
        parquet = True
    shard_rows = parquet_shard_rows or DEFAULT_PARQUET_SHARD_ROWS
    cache_loc = storage.location(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    target = storage.location(output_dir)
    kwargs = dict(cache_loc=cache_loc, num_proc=num_proc, parquet=parquet, shard_rows=shard_rows, progress=progress,
                  chunk_size=chunk_size, builds=builds, on_language=on_language, allow_empty=allow_empty)
    if storage.is_local(target):
        written = _build_into(specs, Path(target), **kwargs)
        out: Path | str = Path(target).resolve()
        configs = written["configs"]
        loaded = {lang: datasets.load_from_disk(os.fspath(out / lang)) for lang in configs}
        return BuildResult(out, written, loaded)
    import tempfile

    storage.check_output(str(target))  # before any work
    home = storage.local_home(cache_loc)
    home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".output-staging-", dir=home))
    try:
        written = _build_into(specs, staging / "output", **kwargs)
        storage.upload_folder(staging / "output", str(target))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    loaded = {lang: datasets.load_from_disk(storage.join(target, lang)) for lang in written["configs"]}
    return BuildResult(target, written, loaded)


def _build_into(specs: Sequence[BuildSpec], output_dir: Path, *, cache_loc: storage.Location, num_proc: int | None,
                parquet: bool, shard_rows: int, progress: bool, chunk_size: int,
                builds: dict[str, LanguageBuild] | None, on_language: Callable[[str, dict], None] | None,
                allow_empty: bool) -> dict:
    """:func:`build` into the local folder ``output_dir``; returns the manifest as written."""
    import datasets

    from .silver import SilverNerBuilder

    parallel = bool(num_proc and num_proc > 1)
    datasets_cache = storage.local_home(cache_loc) / "datasets"
    with interrupt_guard() as guard:
        tmp = _prepare_output(output_dir)
        manifest = Manifest(format=MANIFEST_FORMAT, silver_ner_version=__version__,
                            created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        try:
            for spec in specs:
                guard.check()
                t0 = time.perf_counter()
                lb = (builds or {}).get(spec.lang) or LanguageBuild(spec, cache_dir=cache_loc, chunk_size=chunk_size)
                lb.check_labels()
                builder = SilverNerBuilder.from_build(lb, cache_dir=os.fspath(datasets_cache))
                if parallel:  # datasets' workers compute the chunks
                    builder.download_and_prepare(num_proc=num_proc)
                else:
                    lb.run(progress=progress)
                guard.check()
                entry = lb.config_entry()
                _check_rows(spec.lang, entry, allow_empty)
                if not parallel:
                    builder.download_and_prepare()
                guard.check()
                dd = datasets.DatasetDict({k: builder.as_dataset(split=k) for k in entry["splits"]})
                for split_ds in dd.values():
                    split_ds.info.description = builder.describe(entry)
                dd.save_to_disk(os.fspath(tmp / spec.lang))
                _hide(tmp / spec.lang)
                if parquet:
                    write_parquet(dd, tmp / spec.lang / "parquet", shard_rows)
                entry["seconds"] = round(time.perf_counter() - t0, 2)
                manifest.configs[spec.lang] = ConfigEntry.from_dict(entry, f"{spec.lang}: manifest entry")
                if on_language is not None:
                    on_language(spec.lang, entry)
            guard.check()
            with guard.deferred():
                from .corpora import portable

                # paths under the data folder or file names, never this machine's
                manifest = Manifest.from_dict(portable(manifest.to_dict()))
                written = finish_output(tmp, output_dir, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return written


def read_manifest(output_dir: str | os.PathLike) -> dict:
    """The manifest of a build folder as its JSON dict, checked by
    :func:`silver_ner.builders.manifest.read_manifest` (which gives the typed :class:`Manifest`)."""
    return read_build_manifest(output_dir).to_dict()
