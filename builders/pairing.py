"""Re-pairing a machine-translated corpus with its source when some sentences were dropped.

Signatures::

    pairs_from_translated_conll(source_conll, translated_conll, target_lang, report,
                                embedder=None, **pairing_options) -> Iterator[SourcePair]
    align_sentences(source_texts, target_texts, embedder, ...) -> SentenceAlignment
    MeanPoolEmbedder(model_path, batch_size=64, prefix="query: ", max_length=128)

The translated file keeps the source's order but misses some sentences (the T-Projection
files miss 10 to 160 of CoNLL-2003's 14,042). :func:`align_sentences` finds the monotonic
pairing by dynamic programming over a band: state ``(j, d)`` means target ``j`` is paired with
source ``j + d``; ``d`` never decreases except when a target sentence is left unpaired, so the
band is ``n - m + 1 + 2 * max_target_skips`` wide and the whole DP is vectorised per target.

A pair's score combines

* the cosine of sentence embeddings from ``embedder`` (a callable mapping texts to unit-norm
  rows, e.g. multilingual-e5-small mean-pooled with its ``query:`` prefix,
  :func:`default_embedder`; or an object whose ``embed_tokens`` maps token lists to rows, e.g.
  :class:`AlignerPassEmbedder`, which reuses the word aligner's encoder pass and is what a
  build uses by default), standardised so that a typical non-pair scores 0 and a typical best
  pair 1;
* anchors: the Jaccard overlap of numbers and capitalised tokens shared by both sides
  (names usually survive translation);
* the length ratio: the deviation of ``log(len_t / len_s)`` from its corpus median.

Skipping a source sentence costs ``skip_penalty``; leaving a target sentence unpaired earns
``unpaired_score`` instead of a pair's score. Each kept pair carries a confidence: the softmax
probability (temperature ``temperature``) of its score among all candidate sources the band
offered for that target, and the margin to the best other candidate.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .conll import ConllFile, read_conll
from .sources import SourcePair, SourceReport
from .wordsplit import detokenize
from silver_ner.projection.errors import UserError

Embedder = Callable[[Sequence[str]], np.ndarray]


# --------------------------------------------------------------------------- embeddings


class MeanPoolEmbedder:
    """Unit-norm mean-pooled sentence embeddings from a transformers encoder folder.

    Batches are formed from length-sorted texts, so padding stays small; rows come back in
    input order. ``prefix`` is prepended to every text (multilingual-e5 expects ``"query: "``).
    """

    def __init__(self, model_path: str | os.PathLike, *, batch_size: int = 64, prefix: str = "query: ",
                 max_length: int = 128, device: str | None = None, precision: str = "float32"):
        import torch
        from transformers import AutoModel, AutoTokenizer

        from silver_ner.projection.models import pick_device, pick_precision, resolve_model

        device = pick_device(device)
        self.precision = pick_precision(precision, device)
        self.model_path = os.fspath(model_path)
        local = resolve_model(self.model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(local)
        self.model = AutoModel.from_pretrained(local).to(device).eval()
        self.batch_size, self.prefix, self.max_length, self.device = batch_size, prefix, max_length, device
        self._torch = torch

    @property
    def identity(self) -> str:
        tail = "" if self.precision == "float32" else f":precision={self.precision}"
        return f"meanpool:{self.model_path}:prefix={self.prefix!r}:max_length={self.max_length}{tail}"

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        dim = self.model.config.hidden_size
        out = np.zeros((len(texts), dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        autocast = (torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)
                    if self.precision == "bfloat16" else contextlib.nullcontext())
        with torch.inference_mode(), autocast:
            for b in range(0, len(order), self.batch_size):
                idx = order[b : b + self.batch_size]
                enc = self.tokenizer([self.prefix + texts[i] for i in idx], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[idx] = pooled.float().cpu().numpy()
        return out


class CachedEmbedder:
    """Memoises another embedder by text (e.g. the English side shared by several languages)."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}

    @property
    def identity(self) -> str:
        return getattr(self.embedder, "identity", type(self.embedder).__name__)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            for t, v in zip(todo, self.embedder(todo)):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)


class AlignerPassEmbedder:
    """Sentence vectors from the word aligner's own encoder pass, so each sentence is encoded once.

    ``aligner`` is an :class:`~silver_ner.projection.aligner.EmbeddingAligner` (anything with
    ``encode``, ``remember`` and ``encoding_identity``). A sentence's vector is the unit-norm mean
    of its subword vectors at the aligner's layer (the words as tokens, no prefix); the encoded
    sentences are handed to the aligner (``remember``), which then aligns them without encoding
    them again. Takes token lists (:meth:`embed_tokens`), not texts.

    ``center`` (default on): the mean vector of the sentences of one call (one side of the
    corpus, so one language) is subtracted before normalising. A middle layer's mean-pooled
    vectors share a large common component, part of it the language's own; removing it per
    language spreads the cosines of true pairs away from the rest.
    """

    def __init__(self, aligner, *, center: bool = True):
        missing = [a for a in ("encode", "remember", "encoding_identity") if not hasattr(aligner, a)]
        if missing:
            raise UserError(f"re-pairing with the aligner's pass needs an embedding aligner; {type(aligner).__name__} "
                            f"has no {', '.join(missing)} (use the separate sentence embedder: --pairing-embedder e5)")
        self.aligner = aligner
        self.center = bool(center)

    @property
    def identity(self) -> str:
        return f"aligner-pass:{self.aligner.encoding_identity}:meanpool" + (":centered" if self.center else "")

    def embed_tokens(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        sentences = [list(s) for s in sentences]
        nonempty = [k for k, s in enumerate(sentences) if s]
        encoded = self.aligner.encode([sentences[k] for k in nonempty])
        self.aligner.remember([sentences[k] for k in nonempty], encoded)
        if not encoded:
            return np.zeros((len(sentences), 1), dtype=np.float32)
        pooled = np.stack([vecs.mean(0) for vecs, _ in encoded]).astype(np.float32)
        if self.center and len(pooled) > 1:
            pooled -= pooled.mean(0, keepdims=True)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out = np.zeros((len(sentences), pooled.shape[1]), dtype=np.float32)
        out[nonempty] = pooled
        return out


def default_embedder(batch_size: int = 64, precision: str = "float32") -> MeanPoolEmbedder:
    """multilingual-e5-small (mean-pooled, ``query:`` prefix) from the project's offline encoder."""
    from silver_ner.projection.encoder import resolve_encoder

    return MeanPoolEmbedder(resolve_encoder(None), batch_size=batch_size, precision=precision)


# --------------------------------------------------------------------------- anchors

_DIGITS = re.compile(r"\d+")


def anchors(tokens: Sequence[str]) -> set[str]:
    """Numbers (digit runs, leading zeros dropped) and capitalised tokens (lower-cased), for matching across languages."""
    out: set[str] = set()
    for tok in tokens:
        runs = _DIGITS.findall(tok)
        if runs:
            out.update("#" + (r.lstrip("0") or "0") for r in runs)
        elif len(tok) > 1 and tok[0].isupper():
            out.add(tok.lower())
    return out


def _anchor_matrix(sets: Sequence[set[str]], vocab: dict[str, int]):
    rows, cols = [], []
    for r, s in enumerate(sets):
        for a in s:
            rows.append(r)
            cols.append(vocab.setdefault(a, len(vocab)))
    data = np.ones(len(rows), dtype=np.float32)
    return rows, cols, data


# --------------------------------------------------------------------------- the alignment


@dataclass
class SentenceAlignment:
    """``pairs[k] = (source_index, target_index)`` in order; scores and confidences per pair."""

    pairs: list[tuple[int, int]]
    scores: list[float]
    confidence: list[float]
    margin: list[float]
    unpaired_sources: list[int]
    unpaired_targets: list[int]
    stats: dict = field(default_factory=dict)


def _band_scores(src_emb, tgt_emb, src_sets, tgt_sets, src_len, tgt_len, d_lo, d_hi,
                 anchor_weight, length_weight):
    """Score matrix ``S[j, d - d_lo]`` for target ``j`` against source ``j + d``; ``-inf`` outside the corpus."""
    from scipy.sparse import csr_matrix

    n, m = len(src_emb), len(tgt_emb)
    D = d_hi - d_lo + 1
    cos = np.full((m, D), np.nan, dtype=np.float32)
    jac = np.zeros((m, D), dtype=np.float32)
    lr = np.zeros((m, D), dtype=np.float32)
    vocab: dict[str, int] = {}
    rs, cs, ds = _anchor_matrix(src_sets, vocab)
    rt, ct, dt = _anchor_matrix(tgt_sets, vocab)
    V = max(len(vocab), 1)
    A_s = csr_matrix((ds, (rs, cs)), shape=(n, V))
    A_t = csr_matrix((dt, (rt, ct)), shape=(m, V))
    size_s = np.asarray(A_s.sum(1)).ravel()
    size_t = np.asarray(A_t.sum(1)).ravel()
    log_s = np.log1p(np.asarray(src_len, dtype=np.float32))
    log_t = np.log1p(np.asarray(tgt_len, dtype=np.float32))
    for k, d in enumerate(range(d_lo, d_hi + 1)):
        j0, j1 = max(0, -d), min(m, n - d)  # targets j with 0 <= j + d < n
        if j1 <= j0:
            continue
        js = slice(j0, j1)
        ss = slice(j0 + d, j1 + d)
        cos[js, k] = np.einsum("ij,ij->i", tgt_emb[js], src_emb[ss])
        inter = np.asarray(A_t[js].multiply(A_s[ss]).sum(1)).ravel()
        union = size_t[js] + size_s[ss] - inter
        jac[js, k] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        lr[js, k] = log_t[js] - log_s[ss]
    valid = ~np.isnan(cos)
    c0 = float(np.median(cos[valid])) if valid.any() else 0.0
    row_max = np.nanmax(np.where(valid, cos, -np.inf), axis=1)
    c1 = float(np.median(row_max[np.isfinite(row_max)])) - c0 if np.isfinite(row_max).any() else 1.0
    c1 = c1 if c1 > 1e-6 else 1.0
    mu = float(np.median(lr[valid])) if valid.any() else 0.0
    score = (cos - c0) / c1 + anchor_weight * jac - length_weight * np.abs(lr - mu)
    score[~valid] = -np.inf
    return score, {"cos_median": c0, "cos_scale": c1, "log_length_ratio_median": mu}


def align_sentences(
    source_texts: Sequence[str],
    target_texts: Sequence[str],
    embedder: Embedder,
    *,
    source_tokens: Sequence[Sequence[str]] | None = None,
    target_tokens: Sequence[Sequence[str]] | None = None,
    max_target_skips: int = 5,
    skip_penalty: float = 0.02,
    unpaired_score: float = -1.0,
    anchor_weight: float = 1.0,
    length_weight: float = 0.5,
    temperature: float = 0.1,
) -> SentenceAlignment:
    """Monotonic pairing of ``target_texts`` with a superset-in-order ``source_texts`` (see the module docstring).

    ``source_tokens``/``target_tokens`` (default: whitespace split) feed anchors and lengths.
    """
    n, m = len(source_texts), len(target_texts)
    if m == 0 or n == 0:
        return SentenceAlignment([], [], [], [], list(range(n)), list(range(m)))
    stoks = source_tokens if source_tokens is not None else [t.split() for t in source_texts]
    ttoks = target_tokens if target_tokens is not None else [t.split() for t in target_texts]
    if hasattr(embedder, "embed_tokens"):  # embeds token lists (the aligner's pass)
        src_emb = np.asarray(embedder.embed_tokens(stoks), dtype=np.float32)
        tgt_emb = np.asarray(embedder.embed_tokens(ttoks), dtype=np.float32)
    else:
        src_emb = np.asarray(embedder(list(source_texts)), dtype=np.float32)
        tgt_emb = np.asarray(embedder(list(target_texts)), dtype=np.float32)
    S = max(0, int(max_target_skips))
    d_lo, d_hi = -S, max(0, n - m) + S
    D = d_hi - d_lo + 1
    score, stats = _band_scores(src_emb, tgt_emb, [anchors(t) for t in stoks], [anchors(t) for t in ttoks],
                                [len(t) for t in stoks], [len(t) for t in ttoks], d_lo, d_hi,
                                anchor_weight, length_weight)
    dvec = np.arange(d_lo, d_hi + 1, dtype=np.float64)
    idx = np.arange(D)
    neg = -np.inf
    # Before target 0 the next free source is 0: the state d = 0 (p = j + d with j = 0).
    prev = np.full(D, neg)
    prev[-d_lo] = 0.0
    back = np.zeros((m, D), dtype=np.int32)  # >= 0: previous d index of a match; -1: target unpaired
    for j in range(m):
        # match target j with source j + d from any previous d' <= d, paying for the skipped sources
        a = prev + skip_penalty * dvec
        cm = np.maximum.accumulate(a)
        arg = np.maximum.accumulate(np.where(a == cm, idx, 0))
        match = cm - skip_penalty * dvec + score[j]
        # leave target j unpaired: the next free source stays, so d drops by one
        skip = np.full(D, neg)
        skip[:-1] = prev[1:] + unpaired_score
        take_skip = skip > match
        cur = np.where(take_skip, skip, match)
        back[j] = np.where(take_skip, -1, arg)
        prev = cur
    # after the last target the sources m + d .. n - 1 are skipped
    final = prev - skip_penalty * np.maximum(0, (n - m) - dvec)
    final[(m + dvec) > n] = neg
    k = int(np.argmax(final))
    if not np.isfinite(final[k]):
        raise UserError("no monotonic pairing found: the target has more sentences than the band allows")
    path: list[tuple[int, int | None]] = []
    for j in range(m - 1, -1, -1):
        b = back[j, k]
        if b == -1:
            path.append((j, None))
            k = k + 1
        else:
            path.append((j, k))
            k = int(b)
    path.reverse()
    pairs, scores, conf, margin, unpaired_t = [], [], [], [], []
    for j, kk in path:
        if kk is None:
            unpaired_t.append(j)
            continue
        i = j + d_lo + kk
        row = score[j]
        ok = np.isfinite(row)
        z = (row[ok] - row[kk]) / temperature
        p = 1.0 / float(np.exp(z).sum())
        others = np.delete(row, kk)
        others = others[np.isfinite(others)]
        pairs.append((i, j))
        scores.append(float(row[kk]))
        conf.append(p)
        margin.append(float(row[kk] - others.max()) if len(others) else math.inf)
    used = {i for i, _ in pairs}
    stats.update({"band": D, "sources": n, "targets": m})
    return SentenceAlignment(pairs, scores, conf, margin, [i for i in range(n) if i not in used], unpaired_t, stats)


# --------------------------------------------------------------------------- the source


def _where(sentences, indices: Sequence[int]) -> str:
    """``sentence 11 (line 93), ...`` for 0-based sentence indices."""
    return ", ".join(f"{k + 1} (line {sentences[k].line})" for k in indices)


def pairs_from_translated_conll(
    source_conll: ConllFile | str | os.PathLike,
    translated_conll: ConllFile | str | os.PathLike,
    target_lang: str,
    report: SourceReport,
    embedder: Embedder | None = None,
    *,
    source_lang: str = "eng",
    min_confidence: float = 0.0,
    **pairing_options,
) -> Iterator[SourcePair]:
    """Pair each sentence of ``translated_conll`` with its source sentence and yield the pairs.

    The target file's own tags are ignored (only its tokens are used). Sources without a
    translation, targets without a source and pairs under ``min_confidence`` are counted in
    ``report.dropped`` and located (file lines) in ``report.notes``. ``origin["pairing"]``
    holds the pair's score, confidence and margin.
    """
    src = source_conll if isinstance(source_conll, ConllFile) else read_conll(source_conll)
    tgt = translated_conll if isinstance(translated_conll, ConllFile) else read_conll(translated_conll)
    if embedder is None:
        embedder = default_embedder()
    report.read += len(tgt)
    al = align_sentences(
        [detokenize(s.tokens) for s in src.sentences],
        [detokenize(s.tokens) for s in tgt.sentences],
        embedder,
        source_tokens=[s.tokens for s in src.sentences],
        target_tokens=[s.tokens for s in tgt.sentences],
        **pairing_options,
    )
    if al.unpaired_sources:
        report.drop("source sentence without translation", len(al.unpaired_sources))
        report.notes.append(f"{src.path}: no translation for sentence(s) "
                            f"{_where(src.sentences, al.unpaired_sources)}")
    if al.unpaired_targets:
        report.drop("translation without a matching source", len(al.unpaired_targets))
        report.notes.append(f"{tgt.path}: no source found for sentence(s) "
                            f"{_where(tgt.sentences, al.unpaired_targets)}")
    embedder_id = getattr(embedder, "identity", None) or getattr(embedder, "__name__", type(embedder).__name__)
    low: list[int] = []  # target sentence indices
    for (i, j), sc, cf, mg in zip(al.pairs, al.scores, al.confidence, al.margin):
        s, t = src.sentences[i], tgt.sentences[j]
        if cf < min_confidence:
            low.append(j)
            continue
        report.paired += 1
        yield SourcePair(
            f"{Path(tgt.path).name}:{t.line}", list(s.tokens), list(s.spans), list(t.tokens), source_lang, target_lang,
            {"source_file": src.path, "source_line": s.line, "target_file": tgt.path, "target_line": t.line,
             "pairing": {"score": round(sc, 4), "confidence": round(cf, 4), "margin": round(mg, 4),
                         "embedder": embedder_id}},
        )
    if low:
        report.drop("pairing confidence below threshold", len(low))
        report.notes.append(f"{tgt.path}: pairing confidence under {min_confidence} for sentence(s) {_where(tgt.sentences, low)}")
