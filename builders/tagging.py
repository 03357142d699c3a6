"""Tagging target-language text (``silver-ner tag``): with a NER model directly, or by translate-test.

Two modes::

    direct          target sentence --(NER model, e.g. a student)--> tags
    translate-test  target sentence --(translator)--> source-language sentence
                                    --(source-language NER model, e.g. the teacher)--> source entities
                                    --(align source <-> target, project)--> target tags

Translate-test runs the build's own steps (:mod:`silver_ner.builders.steps`): ``back-translate``
(the target into the source language), ``label-back-translation`` with the tagger, ``align`` and
``project``; the translation is the one source projected from, exactly as in back-translation
refinement, only without gold labels. The translation comes from a translation model
(:class:`~silver_ner.builders.translate.HFTranslator`, its cache reused) or from a line-parallel file
of translations made elsewhere (:class:`FileTranslator`).

Input is plain text (one sentence a line, tokenised as the gold NER files are, see
:mod:`silver_ner.builders.wordsplit`; or already tokenised on spaces) or CoNLL (first column the
token; other columns are ignored). Output is CoNLL (``token tag``) or JSON lines with the entities,
their scores and, for translate-test, the translation and the entities found on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from silver_ner.projection.errors import UserError
from silver_ner.projection.protocols import Aligner, Tagger
from silver_ner.projection.spans import Span, spans_to_tags, tags_to_spans
from silver_ner.projection.step import ProjectionStep

from .conll import InputFileError, read_conll, read_text_lines
from .sources import SourcePair
from .steps import Align, BackTranslate, Batch, BuildCounters, LabelBacktranslation, MapLabels, Project, TagCandidates, run_steps
from .wordsplit import detokenize, tokenize

INPUT_FORMATS = ("auto", "text", "conll")
OUTPUT_FORMATS = ("conll", "jsonl")
_TAG = re.compile(r"^(O|[BIES]-\S+)$")


@dataclass
class TagInput:
    """One sentence to tag: its tokens and the 1-based line of the input file it starts on."""

    tokens: list[str]
    line: int


@dataclass
class InputText:
    path: str
    format: str  # "text" or "conll"
    sentences: list[TagInput]
    blank_lines: int = 0  # text input: empty lines (no sentence)


def detect_format(lines: Sequence[str]) -> str:
    """``conll`` when every non-blank line is ``token ... tag`` with an IOB tag in the last column, else ``text``."""
    seen = 0
    for line in lines:
        if not line.strip():
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if cols[0].startswith("-DOCSTART-"):
            continue
        if len(cols) < 2 or not _TAG.match(cols[-1].strip()):
            return "text"
        seen += 1
    return "conll" if seen else "text"


def read_input(path: str | os.PathLike, fmt: str = "auto", *, pretokenized: bool = False) -> InputText:
    """The sentences of ``path`` (see the module docstring). A file with no sentence is a :class:`UserError`."""
    if fmt not in INPUT_FORMATS:
        raise UserError(f"input format {fmt!r}: expected one of {', '.join(INPUT_FORMATS)}")
    path = os.fspath(path)
    lines = read_text_lines(path, what="input file")
    if fmt == "auto":
        fmt = detect_format(lines)
    if fmt == "conll":
        conll = read_conll(path)
        out = InputText(path, "conll", [TagInput(s.tokens, s.line) for s in conll.sentences])
    else:
        out = InputText(path, "text", [])
        for lineno, line in enumerate(lines, 1):
            tokens = line.split() if pretokenized else tokenize(line)
            if tokens:
                out.sentences.append(TagInput(tokens, lineno))
            else:
                out.blank_lines += 1
    if not out.sentences:
        raise InputFileError(path, None, f"no sentence to tag (read as {out.format})")
    return out


@dataclass
class TaggedSentence:
    """Tags of one input sentence; ``scores`` per entity (the model's mean entity probability over the
    entity's words, or the projection's score); ``translation`` (translate-test) says what was projected from."""

    tokens: list[str]
    line: int
    tags: list[str]
    scores: list[float] = field(default_factory=list)
    translation: dict[str, Any] | None = None

    @property
    def spans(self) -> list[Span]:
        return tags_to_spans(self.tags)

    def to_json(self) -> dict[str, Any]:
        ents = [{"start": sp.start, "end": sp.end, "label": sp.label, "text": " ".join(self.tokens[sp.start:sp.end]),
                 **({"score": round(float(sc), 6)} if sc is not None else {})}
                for sp, sc in zip(self.spans, [*self.scores, *[None] * len(self.spans)])]
        out = {"line": self.line, "tokens": self.tokens, "tags": self.tags, "entities": ents}
        if self.translation is not None:
            out["translation"] = self.translation
        return out


@dataclass
class TagReport:
    """What happened while tagging (printed by the command, kept by the benchmarks)."""

    sentences: int = 0
    words: int = 0
    entities: int = 0
    windowed_sentences: int = 0  # direct: sentences longer than the model's window, tagged in several windows
    empty_translations: int = 0  # translate-test: sentences whose translation was empty: tagged O
    cut_translations: int = 0  # translate-test: translations that ran to the translator's maximum length
    unprojected: int = 0  # translate-test: entities of the translations that found no target span
    translation_entities: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def tag_direct(tagger, sentences: Sequence[TagInput]) -> tuple[list[TaggedSentence], TagReport]:
    """Tag ``sentences`` with a word tagger (:class:`~silver_ner.builders.tagger.HFTagger` or anything with
    ``predict``); long sentences are tagged in windows, never cut."""
    pred = tagger.predict([s.tokens for s in sentences])
    out, rep = [], TagReport(windowed_sentences=len(pred.windowed_sentences))
    for s, tags, probs in zip(sentences, pred.tags, pred.entity_probs):
        spans = tags_to_spans(tags)
        scores = [sum(probs[sp.start:sp.end]) / (sp.end - sp.start) for sp in spans]
        out.append(TaggedSentence(list(s.tokens), s.line, list(tags), scores))
    _count(out, rep)
    return out, rep


def check_candidates(projection: ProjectionStep, have_candidates: bool) -> None:
    """:class:`UserError` when a ``spans-*`` method has no candidate model, or a candidate model a method that
    makes its own candidates (checked before any model loads)."""
    if projection.needs_candidates and not have_candidates:
        raise UserError(f"projection method {projection.name!r} matches candidate spans on the target: "
                        "name the model that predicts them (--candidates-from MODEL)")
    if have_candidates and not projection.needs_candidates:
        raise UserError(f"--candidates-from needs a method that matches given spans (spans-greedy, spans-exact), "
                        f"not {projection.name!r}")


@dataclass
class TranslateTest:
    """Translate-test tagging through the build's steps (see the module docstring).

    ``translator`` translates from ``target_lang`` into ``source_lang``; ``tagger`` tags the translations
    (its types renamed and kept by ``map_labels`` when given); ``aligner`` and ``projection`` link and project
    them onto the target; ``candidate_tagger`` predicts the target candidates of the ``spans-*`` methods.
    """

    translator: Any
    tagger: Tagger
    aligner: Aligner
    projection: ProjectionStep
    target_lang: str
    source_lang: str = "eng"
    map_labels: MapLabels | None = None
    candidate_tagger: Tagger | None = None
    batch_size: int = 256

    def __post_init__(self) -> None:
        check_candidates(self.projection, self.candidate_tagger is not None)

    def steps(self) -> list:
        return [
            *([TagCandidates(self.candidate_tagger)] if self.candidate_tagger is not None else []),
            BackTranslate(self.translator, self.source_lang, self.target_lang),
            LabelBacktranslation(self.projection, tagger=self.tagger, map_labels=self.map_labels),
            Align(self.aligner, self.projection),
            Project(self.projection),
        ]

    def run(self, sentences: Sequence[TagInput]) -> tuple[list[TaggedSentence], TagReport, BuildCounters]:
        steps = self.steps()
        counters = BuildCounters()
        out: list[TaggedSentence] = []
        for b in range(0, len(sentences), self.batch_size):
            part = sentences[b:b + self.batch_size]
            pairs = [SourcePair(str(b + k), [], [], list(s.tokens), self.source_lang, self.target_lang)
                     for k, s in enumerate(part)]
            batch = run_steps(steps, Batch.of(pairs))
            counters.add(batch.counters)
            done = {r.pair.id: r for r in batch.records}
            for k, s in enumerate(part):
                r = done.get(str(b + k))
                if r is None:  # the translation was empty: nothing to project from
                    out.append(TaggedSentence(list(s.tokens), s.line, ["O"] * len(s.tokens), [],
                                              {"text": "", "empty": True}))
                    continue
                bt = r.backtranslation
                tags = spans_to_tags(r.target_spans, len(s.tokens))
                # scores in the order of the spans read back from the tags (by position), not the projection's order
                score_of = dict(zip(r.projected.spans, r.projected.scores)) if r.projected is not None else {}
                scores = [float(score_of[sp]) for sp in tags_to_spans(tags)]
                unprojected = r.projected.unprojected if r.projected is not None else 0
                info = {"text": bt.text, "tokens": list(bt.tokens),
                        "entities": [{"start": sp.start, "end": sp.end, "label": sp.label,
                                      "text": " ".join(bt.tokens[sp.start:sp.end])} for sp in bt.spans],
                        "unprojected": unprojected}
                if bt.cut:
                    info["cut_at_max_length"] = True
                out.append(TaggedSentence(list(s.tokens), s.line, tags, scores, info))
        rep = TagReport(empty_translations=counters.backtranslation.get("empty", 0),
                        cut_translations=counters.backtranslation.get("cut_at_max_length", 0),
                        translation_entities=counters.backtranslation.get("entities", 0),
                        unprojected=sum(t.translation.get("unprojected", 0) for t in out if t.translation))
        _count(out, rep)
        return out, rep, counters


def _count(out: Sequence[TaggedSentence], rep: TagReport) -> None:
    rep.sentences = len(out)
    rep.words = sum(len(t.tokens) for t in out)
    rep.entities = sum(len(t.spans) for t in out)


class FileTranslator:
    """Translations made elsewhere (another MT system, a human translation), read from a file with one
    translation per input sentence, in order (the ``Translator`` protocol, looked up by sentence text)."""

    def __init__(self, path: str | os.PathLike, sentences: Sequence[TagInput]):
        self.path = os.fspath(path)
        lines = read_text_lines(self.path, what="translation file (one translation a line)")
        if len(lines) != len(sentences):
            raise InputFileError(self.path, None, f"{len(lines)} translations for {len(sentences)} input sentences "
                                 "(one line per sentence, in order)")
        self._by_text: dict[str, str] = {}
        self.conflicts = 0  # repeated input sentences given different translations: the first one is used
        for s, line in zip(sentences, lines):
            key = detokenize(s.tokens)
            if key in self._by_text and self._by_text[key] != line:
                self.conflicts += 1
            self._by_text.setdefault(key, line)
        digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]
        self._identity = f"file:{os.path.basename(self.path)}@{digest}"

    @property
    def identity(self) -> str:
        return self._identity

    def translate(self, sentences: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
        try:
            return [self._by_text[s] for s in sentences]
        except KeyError as exc:
            raise ValueError(f"{self.path}: no translation for a sentence not in the input: {exc.args[0]!r}") from None


def write_output(path: str | os.PathLike | None, tagged: Iterable[TaggedSentence], fmt: str, *, stdout=None) -> int:
    """Write ``tagged`` as CoNLL or JSON lines to ``path`` (atomically: a temporary file renamed at the end),
    or to ``stdout`` when ``path`` is ``None`` or ``-``. Returns the number of sentences written."""
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"output format {fmt!r}: expected one of {', '.join(OUTPUT_FORMATS)}")

    def emit(fh) -> int:
        n = 0
        for t in tagged:
            if fmt == "conll":
                for tok, tag in zip(t.tokens, t.tags):
                    fh.write(f"{tok} {tag}\n")
                fh.write("\n")
            else:
                fh.write(json.dumps(t.to_json(), ensure_ascii=False) + "\n")
            n += 1
        return n

    if path is None or os.fspath(path) == "-":
        import sys

        return emit(stdout or sys.stdout)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder, expected an output file")
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            n = emit(fh)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return n
