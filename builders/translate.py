"""Machine translation as a source of target sentences, with an on-disk translation cache.

Signatures::

    HFTranslator(model="facebook/nllb-200-distilled-600M", batch_size=16, num_beams=4,
                 max_length=256, cache_dir=None, device="cpu", cache_path=None, long_input="error")
        .translate(sentences, source_lang, target_lang) -> list[str]
        .at_max_length(sentences, source_lang, target_lang) -> list[bool]  # cut outputs, from the cache
    pairs_from_translation(gold, translator, target_lang, report, source_lang="eng") -> Iterator[SourcePair]
        # in three parts: translation_batches(gold) -> translate_batch(translator, batch, ...) per batch
        #                 -> translated_pairs(gold, translations, identity, target_lang, report)
    translate_with_markers(sentences, translator, source_lang, target_lang) -> list[MarkedTranslation]
    TranslationCache(path)  # sqlite, keyed by (translator identity, source lang, target lang, text)

:class:`HFTranslator` implements the ``Translator`` protocol for transformers seq2seq models
of three families, detected from the config and tokenizer: NLLB-200 (``swh_Latn``), M2M100
(``sw``) and Marian/OPUS-MT (``>>swa<<`` target tokens on multi-target models). Languages
are ISO 639-3 codes, mapped by :mod:`silver_ner.builders.langcodes` and checked against the
tokenizer's own language tokens: a language the model does not cover is a ``ValueError``.

Inputs are sorted by length and batched; an input longer than ``max_length`` subwords is an
error naming the sentence (``long_input="error"``) or is split at word boundaries into pieces
translated separately and joined (``long_input="split"``, counted in ``stats``); it is never
truncated. Outputs that run to ``max_length`` (no end token before the last position, which
models with ``forced_eos_token_id`` fill with one) are counted in
``stats["outputs_at_max_length"]`` and remembered in the cache (:meth:`HFTranslator.at_max_length`).
Every translation is cached on disk, so a rerun translates nothing twice.

Marker translation (for back-translation): entities are wrapped in ``[ ]``, the sentence is
translated, the bracketed pieces of the output are matched back to the source entities by
string similarity and order, and the result gives tokens, spans and the number of markers lost.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from silver_ner.projection.protocols import Translator
from silver_ner.projection.spans import Span

from . import langcodes
from .conll import ConllFile
from .sources import SourcePair, SourceReport
from .wordsplit import detokenize, tokenize
from silver_ner.projection.errors import UserError
from silver_ner.projection.models import SQLiteStore, cache_key, cache_root, fingerprint, pick_device, resolve_model

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- cache


def default_cache_path() -> Path:
    """``translations.sqlite`` under the project's cache root (``SILVER_NER_CACHE`` overrides it)."""
    return cache_root() / "translations.sqlite"


class TranslationCache:
    """Translations keyed by ``(identity, source_lang, target_lang, text)``: two tables of a
    :class:`~silver_ner.projection.models.SQLiteStore` (the translations, and the texts whose translation ran
    to the model's ``max_length``, so a rerun still counts them)."""

    TEXT, CUT = "translation_text", "translation_at_max_length"

    def __init__(self, path: str | os.PathLike):
        self.store = SQLiteStore(path, (self.TEXT, self.CUT), timeout=60)
        self.path = self.store.path

    @staticmethod
    def key(identity: str, src: str, tgt: str, text: str) -> str:
        return cache_key(identity, src, tgt, text)

    def _keys(self, identity: str, src: str, tgt: str, texts: Sequence[str]) -> dict[str, str]:
        return {self.key(identity, src, tgt, t): t for t in dict.fromkeys(texts)}

    def get_many(self, identity: str, src: str, tgt: str, texts: Sequence[str]) -> dict[str, str]:
        keys = self._keys(identity, src, tgt, texts)
        return {keys[k]: v for k, v in self.store.get_many(self.TEXT, list(keys)).items()}

    def put_many(self, identity: str, src: str, tgt: str, pairs: Sequence[tuple[str, str]]) -> None:
        self.store.put_many(self.TEXT, [(self.key(identity, src, tgt, s), t) for s, t in pairs])

    def mark_at_max_length(self, identity: str, src: str, tgt: str, texts: Sequence[str]) -> None:
        self.store.put_many(self.CUT, [(self.key(identity, src, tgt, t), "1") for t in texts])

    def at_max_length(self, identity: str, src: str, tgt: str, texts: Sequence[str]) -> set[str]:
        """The texts among ``texts`` whose cached translation ran to the model's max_length."""
        keys = self._keys(identity, src, tgt, texts)
        return {keys[k] for k in self.store.get_many(self.CUT, list(keys))}

    def __len__(self) -> int:
        return self.store.count(self.TEXT)


# --------------------------------------------------------------------------- the translator


class HFTranslator:
    """A transformers seq2seq translator (NLLB, M2M100 or Marian); see the module docstring."""

    def __init__(
        self,
        model: str | os.PathLike = "facebook/nllb-200-distilled-600M",
        batch_size: int = 16,
        num_beams: int = 4,
        max_length: int = 256,
        cache_dir: str | os.PathLike | None = None,
        device: str | None = None,
        *,
        cache_path: str | os.PathLike | None = None,
        long_input: str = "error",
    ):
        import torch
        from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

        if long_input not in ("error", "split"):
            raise UserError(f"long_input must be 'error' or 'split', got {long_input!r}")
        self.name = os.fspath(model)
        local = resolve_model(self.name, hub_cache_dir=cache_dir)  # a Hub id: downloaded once
        device = pick_device(device)
        self.config = AutoConfig.from_pretrained(local)
        self.tokenizer = AutoTokenizer.from_pretrained(local)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(local).to(device).eval()
        self.family = self._detect_family()
        self.batch_size, self.num_beams, self.device, self.long_input = batch_size, num_beams, device, long_input
        limit = getattr(self.config, "max_position_embeddings", None) or max_length
        self.max_length = int(min(max_length, limit))
        version = fingerprint(local)
        self._identity = f"{self.name}@{version}:beams={num_beams}:max_length={self.max_length}"
        self.cache = TranslationCache(cache_path if cache_path is not None else default_cache_path())
        self.stats = {"translated": 0, "from_cache": 0, "split_inputs": 0, "outputs_at_max_length": 0}
        self._torch = torch

    # ------------------------------------------------------------------ languages

    def _detect_family(self) -> str:
        mt = getattr(self.config, "model_type", "")
        tok = type(self.tokenizer).__name__.lower()
        if mt == "marian" or "marian" in tok:
            return "marian"
        if "nllb" in tok or any(t.endswith("_Latn") for t in self._special_tokens()):
            return "nllb"
        if mt == "m2m_100":
            return "m2m100"
        raise UserError(f"{self.name}: model type {mt!r} with tokenizer {type(self.tokenizer).__name__} "
                         "is not a supported translation family (nllb, m2m100, marian)")

    def _special_tokens(self) -> list[str]:
        toks = list(getattr(self.tokenizer, "additional_special_tokens", None) or [])
        toks += list(getattr(self.tokenizer, "extra_special_tokens", None) or [])
        return [str(t) for t in toks]

    def _vocab_token(self, code: str) -> str:
        if self.family == "m2m100":
            return f"__{code}__"
        if self.family == "marian":
            return f">>{code}<<"
        return code

    def _has_token(self, token: str) -> bool:
        vocab = self.tokenizer.get_vocab()
        return token in vocab or token in self._special_tokens()

    def language_code(self, iso3: str) -> str | None:
        """The model's code for ``iso3``; ``ValueError`` if the model does not cover it.

        For single-pair Marian models (no ``>>xxx<<`` tokens) ``None`` is returned: the model
        has one fixed target language.
        """
        try:
            cands = langcodes.candidates(iso3, self.family)
        except KeyError as e:
            raise UserError(f"{self.name}: {e.args[0]}") from None
        if not cands:
            raise UserError(f"{self.name} ({self.family}) does not cover language {iso3!r}: "
                             f"the {self.family} family has no code for it")
        for c in cands:
            if self._has_token(self._vocab_token(c)):
                return c
        if self.family == "marian" and not any(t.startswith(">>") for t in self.tokenizer.get_vocab()):
            fixed = getattr(self.tokenizer, "target_lang", None)
            if fixed and fixed not in cands:
                raise UserError(f"{self.name} translates into {fixed!r} only, not {iso3!r}")
            return None
        tried = ", ".join(self._vocab_token(c) for c in cands) or "no code known"
        raise UserError(f"{self.name} ({self.family}) does not cover language {iso3!r} (looked for {tried} "
                         f"among its tokenizer's language codes)")

    @property
    def identity(self) -> str:
        return self._identity

    # ------------------------------------------------------------------ translation

    def _encode_len(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _split_long(self, text: str, index: int) -> list[str]:
        if self._encode_len(text) <= self.max_length:
            return [text]
        if self.long_input == "error":
            raise UserError(f"sentence {index}: {self._encode_len(text)} subwords, more than max_length="
                             f"{self.max_length} of {self.name}; shorten it or use long_input='split'")
        words = text.split()
        if len(words) < 2:
            raise UserError(f"sentence {index}: a single word of more than {self.max_length} subwords")
        half = len(words) // 2
        # prefer a cut just after punctuation near the middle
        for off in range(0, half):
            for cut in (half + off, half - off):
                if 0 < cut < len(words) and words[cut - 1][-1:] in ".;:,!?":
                    half = cut
                    break
            else:
                continue
            break
        return self._split_long(" ".join(words[:half]), index) + self._split_long(" ".join(words[half:]), index)

    def _generate(self, texts: list[str], src_code: str | None, tgt_code: str | None) -> list[str]:
        torch = self._torch
        tok = self.tokenizer
        kwargs = {}
        if self.family in ("nllb", "m2m100"):
            tok.src_lang = self._vocab_token(src_code) if self.family == "nllb" else src_code
            kwargs["forced_bos_token_id"] = tok.convert_tokens_to_ids(self._vocab_token(tgt_code))
        elif tgt_code is not None:
            texts = [f"{self._vocab_token(tgt_code)} {t}" for t in texts]
        enc = tok(texts, return_tensors="pt", padding=True, truncation=False).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**enc, num_beams=self.num_beams, max_length=self.max_length, **kwargs)
        eos = self.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        self._cut = []
        for row in out.tolist():
            # row[0] is the decoder start token (the end token itself for NLLB and M2M100), and a cut
            # output of a model with forced_eos_token_id (OPUS-MT) still has the end token last
            self._cut.append(out.shape[1] >= self.max_length and not (eos & set(row[1:-1])))
            if self._cut[-1]:
                self.stats["outputs_at_max_length"] += 1
        return [s.strip() for s in tok.batch_decode(out, skip_special_tokens=True)]

    def translate(self, sentences: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
        # Marian models read the source language from the text itself; only the target needs a code.
        src_code = self.language_code(source_lang) if self.family != "marian" else None
        tgt_code = self.language_code(target_lang)
        sentences = list(sentences)
        src_key, tgt_key = langcodes.normalize_iso3(source_lang), langcodes.normalize_iso3(target_lang)
        cached = self.cache.get_many(self.identity, src_key, tgt_key, sentences)
        todo = [s for s in dict.fromkeys(sentences) if s not in cached and s.strip()]
        self.stats["from_cache"] += sum(1 for s in sentences if s in cached)
        if todo:
            pieces: list[tuple[int, str]] = []  # (todo index, piece)
            for k, s in enumerate(todo):
                parts = self._split_long(s, sentences.index(s))
                if len(parts) > 1:
                    self.stats["split_inputs"] += 1
                pieces += [(k, p) for p in parts]
            order = sorted(range(len(pieces)), key=lambda p: len(pieces[p][1]))
            outputs: list[str | None] = [None] * len(pieces)
            cut: set[int] = set()  # todo indices with a piece whose output ran to max_length
            for b in range(0, len(order), self.batch_size):
                idx = order[b : b + self.batch_size]
                self._cut = []
                for j, (p, text) in enumerate(zip(idx, self._generate([pieces[p][1] for p in idx], src_code, tgt_code))):
                    outputs[p] = text
                    if j < len(self._cut) and self._cut[j]:
                        cut.add(pieces[p][0])
            joined: dict[int, list[str]] = {}
            for (k, _), text in zip(pieces, outputs):
                joined.setdefault(k, []).append(text or "")
            new = [(todo[k], " ".join(v).strip()) for k, v in joined.items()]
            self.cache.put_many(self.identity, src_key, tgt_key, new)
            if cut:
                self.cache.mark_at_max_length(self.identity, src_key, tgt_key, [todo[k] for k in sorted(cut)])
            cached.update(new)
            self.stats["translated"] += len(new)
        return [cached.get(s, "") for s in sentences]

    def at_max_length(self, sentences: Sequence[str], source_lang: str, target_lang: str) -> list[bool]:
        """For each sentence: whether its (cached) translation ran to ``max_length``, i.e. was cut.

        Read from the translation cache, so a rerun that translates nothing still knows."""
        src_key, tgt_key = langcodes.normalize_iso3(source_lang), langcodes.normalize_iso3(target_lang)
        cut = self.cache.at_max_length(self.identity, src_key, tgt_key, list(sentences))
        return [s in cut for s in sentences]


# --------------------------------------------------------------------------- sources


TRANSLATION_BATCH = 256  # gold sentences handed to the translator at once (its cache and length sorting work within)


def translation_options(params: dict) -> tuple[int, dict]:
    """A translate source's parameters as ``(chunk, translator options)``: ``chunk`` (sentences per
    :meth:`HFTranslator.translate` call, default :data:`TRANSLATION_BATCH`) and the rest for :class:`HFTranslator`."""
    options = dict(params)
    return options.pop("chunk", TRANSLATION_BATCH), options


def translation_batches(gold: ConllFile, chunk: int = TRANSLATION_BATCH) -> list[list[str]]:
    """The read part of :func:`pairs_from_translation`: each gold sentence detokenised, in batches of ``chunk``
    sentences in file order (batch ``k`` holds sentences ``k*chunk`` onwards, the translator's unit of work)."""
    texts = [detokenize(s.tokens) for s in gold.sentences]
    return [texts[b : b + chunk] for b in range(0, len(texts), chunk)]


def translation_batch_lines(gold: ConllFile, chunk: int = TRANSLATION_BATCH) -> list[list[int]]:
    """The line numbers of the sentences of each batch of :func:`translation_batches`."""
    lines = [s.line for s in gold.sentences]
    return [lines[b : b + chunk] for b in range(0, len(lines), chunk)]


def translate_batch(translator: Translator, texts: Sequence[str], source_lang: str, target_lang: str) -> list[str]:
    """The model part of :func:`pairs_from_translation`: one batch of :func:`translation_batches` translated."""
    return translator.translate(list(texts), source_lang, target_lang)


def translated_pairs(gold: ConllFile, translations: Sequence[str], identity: str, target_lang: str,
                     report: SourceReport, *, source_lang: str = "eng") -> Iterator[SourcePair]:
    """The assemble part of :func:`pairs_from_translation`: gold sentence ``i`` paired with ``translations[i]``
    (tokenised) by the translator ``identity``; an empty translation drops the pair, counted and located in
    ``report``."""
    if len(translations) != len(gold.sentences):
        raise ValueError(f"{gold.path}: {len(translations)} translations for {len(gold.sentences)} sentences")
    report.read += len(gold.sentences)
    empty: list[int] = []
    for sent, text in zip(gold.sentences, translations):
        toks = tokenize(text)
        if not toks:
            report.drop("empty translation")
            empty.append(sent.line)
            continue
        report.paired += 1
        yield SourcePair(
            f"{Path(gold.path).name}:{sent.line}", list(sent.tokens), sent.spans, toks, source_lang, target_lang,
            {"source_file": gold.path, "source_line": sent.line, "translator": identity, "translation": text},
        )
    if empty:
        report.notes.append(f"{gold.path}: empty translation for the sentences at lines {', '.join(map(str, empty))}")


def pairs_from_translation(
    gold: ConllFile,
    translator: Translator | str | os.PathLike,
    target_lang: str,
    report: SourceReport,
    *,
    source_lang: str = "eng",
    chunk: int = TRANSLATION_BATCH,
    **translator_options,
) -> Iterator[SourcePair]:
    """Translate each gold sentence (detokenised) and pair it with its tokenised translation.

    ``translator`` is a ``Translator`` or a model name/folder for :class:`HFTranslator`
    (built with ``translator_options``: ``batch_size``, ``num_beams``, ``max_length``, ...).
    An empty translation drops the pair, counted and located in ``report``. The three parts
    (:func:`translation_batches`, :func:`translate_batch` per batch, :func:`translated_pairs`) are what an
    engine that translates elsewhere calls.
    """
    if isinstance(translator, (str, os.PathLike)):
        translator = HFTranslator(translator, **translator_options)
    elif translator_options:
        raise TypeError(f"options {sorted(translator_options)} apply only when the translator is a model name")
    outputs = [text for texts in translation_batches(gold, chunk)
               for text in translate_batch(translator, texts, source_lang, target_lang)]
    yield from translated_pairs(gold, outputs, translator.identity, target_lang, report, source_lang=source_lang)


# --------------------------------------------------------------------------- marker translation

_BRACKET = re.compile(r"\[([^\[\]]*)\]")


@dataclass
class MarkedTranslation:
    """Target tokens and spans recovered from a marker translation.

    ``source_of[k]`` is the source entity index of ``spans[k]``; ``lost`` counts source
    entities whose markers did not come back; ``extra`` counts bracketed pieces matched to
    no entity; ``stray`` counts unpaired bracket characters removed.
    """

    text: str
    tokens: list[str]
    spans: list[Span]
    source_of: list[int] = field(default_factory=list)
    lost: int = 0
    extra: int = 0
    stray: int = 0


def mark_entities(tokens: Sequence[str], spans: Sequence[Span]) -> str:
    """Detokenised text with every entity wrapped in ``[ ]`` (brackets in the text become parentheses)."""
    toks = [t.replace("[", "(").replace("]", ")") for t in tokens]
    starts = {s.start for s in spans}
    ends = {s.end - 1 for s in spans}
    out = []
    for i, t in enumerate(toks):
        if i in starts:
            out.append("[")
        out.append(t)
        if i in ends:
            out.append("]")
    text = detokenize(out)
    return text.replace("[ ", "[").replace(" ]", "]")


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


def read_markers(text: str, entity_texts: Sequence[str], labels: Sequence[str]) -> MarkedTranslation:
    """Parse a translated marker sentence: tokens without brackets, spans of the matched pieces."""
    pieces: list[tuple[str, int, int]] = []  # (piece text, first token, end token)
    tokens: list[str] = []
    pos = 0
    stray = 0
    for m in _BRACKET.finditer(text):
        before = text[pos : m.start()]
        stray += before.count("[") + before.count("]")
        tokens += tokenize(before.replace("[", " ").replace("]", " "))
        inner = tokenize(m.group(1))
        if inner:
            pieces.append((m.group(1).strip(), len(tokens), len(tokens) + len(inner)))
            tokens += inner
        pos = m.end()
    rest = text[pos:]
    stray += rest.count("[") + rest.count("]")
    tokens += tokenize(rest.replace("[", " ").replace("]", " "))
    # match pieces to entities: similarity, then order as a tie-breaker and a small prior
    n_e, n_p = len(entity_texts), len(pieces)
    cands = []
    for p, (ptxt, _, _) in enumerate(pieces):
        for e, etxt in enumerate(entity_texts):
            order_prior = 1.0 - abs(p / max(1, n_p - 1) - e / max(1, n_e - 1)) if n_p > 1 and n_e > 1 else 1.0
            cands.append((_similarity(ptxt, etxt) + 0.25 * order_prior, p, e))
    cands.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_p, used_e, match = set(), set(), {}
    for _, p, e in cands:
        if p in used_p or e in used_e:
            continue
        used_p.add(p)
        used_e.add(e)
        match[p] = e
    spans, source_of = [], []
    for p, (_, a, b) in enumerate(pieces):
        if p in match:
            spans.append(Span(a, b, labels[match[p]]))
            source_of.append(match[p])
    return MarkedTranslation(text, tokens, spans, source_of, lost=n_e - len(match), extra=n_p - len(match), stray=stray)


def translate_with_markers(
    sentences: Sequence[tuple[Sequence[str], Sequence[Span]]],
    translator: Translator,
    source_lang: str,
    target_lang: str,
) -> list[MarkedTranslation]:
    """Translate ``(tokens, spans)`` sentences with bracketed entities and recover the target spans."""
    texts = [mark_entities(toks, spans) for toks, spans in sentences]
    outs = translator.translate(texts, source_lang, target_lang)
    result = []
    for (toks, spans), out in zip(sentences, outs):
        ents = [detokenize(toks[s.start : s.end]) for s in spans]
        result.append(read_markers(out, ents, [s.label for s in spans]))
    return result
