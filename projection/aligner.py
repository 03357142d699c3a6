"""The embedding word aligner: SimAlign 0.4's method, batched.

Words are encoded by a multilingual encoder, the subword vectors of one word are averaged,
source and target words are compared by cosine similarity and links are read from the
similarity matrix by the methods of :mod:`silver_ner.projection.link_methods`.

Differences from SimAlign 0.4 that change speed, not links: many sentences per forward
pass (sorted by length, padded), the encoder cut after the chosen layer, each distinct
sentence encoded once, and an optional on-disk cache of finished alignments. Sentences
longer than the encoder's window are encoded in overlapping windows of whole words (SimAlign
truncates them); a single word longer than a window is an error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .link_methods import apply_distortion, check_method, cosine_similarity, link_matrix
from .protocols import Alignment
from .errors import UserError
from .models import PRECISIONS, SQLiteStore, cache_key, fingerprint, pick_device, pick_precision, resolve_model

LOG = logging.getLogger(__name__)

Pair = tuple[Sequence[str], Sequence[str]]
TOKEN_TYPES = ("word", "bpe")
_LAYER_LISTS = ("encoder.layer", "encoder.layers", "transformer.layer", "transformer.layers", "layers")


# --------------------------------------------------------------------------- windows


def plan_windows(word_lengths: Sequence[int], width: int, *, sentence: str = "sentence") -> list[tuple[int, int]]:
    """Cover a sentence by overlapping windows of whole words, each at most ``width`` subwords.

    Returns word ranges ``[start, end)``. One window when everything fits; otherwise each
    next window starts at the first word past the middle of the previous one. A word longer
    than ``width`` raises a ``ValueError`` naming ``sentence``.
    """
    if width < 1:
        raise ValueError(f"window width must be at least 1 subword, got {width}")
    n = len(word_lengths)
    cum = np.concatenate([[0], np.cumsum(word_lengths)]).astype(int)
    if cum[-1] <= width:
        return [(0, n)]
    for k, length in enumerate(word_lengths):
        if length > width:
            raise UserError(f"{sentence}: word {k} has {length} subwords, more than the window of {width} subwords")
    windows = []
    start = 0
    while True:
        end = start
        while end < n and cum[end + 1] - cum[start] <= width:
            end += 1
        windows.append((start, end))
        if end == n:
            return windows
        middle = cum[start] + (cum[end] - cum[start]) // 2
        nxt = start + 1
        while nxt < end and cum[nxt] < middle:
            nxt += 1
        while cum[end + 1] - cum[nxt] > width:  # the first word not yet covered must fit
            nxt += 1
        start = nxt


def assign_windows(word_lengths: Sequence[int], windows: Sequence[tuple[int, int]]) -> list[int]:
    """For each word, the window in which it sits farthest from a cut edge (first on ties)."""
    n = len(word_lengths)
    cum = np.concatenate([[0], np.cumsum(word_lengths)]).astype(int)
    best = [0] * n
    score = [-1.0] * n
    for w, (a, b) in enumerate(windows):
        for k in range(a, b):
            left = math.inf if a == 0 else cum[k] - cum[a]
            right = math.inf if b == n else cum[b] - cum[k + 1]
            s = min(left, right)
            if s > score[k]:
                best[k], score[k] = w, s
    return best


# --------------------------------------------------------------------------- cache


class AlignmentCache:
    """Alignments on disk: the ``alignments`` table of a :class:`~silver_ner.projection.models.SQLiteStore`
    (``alignments.sqlite`` in ``directory``)."""

    FILENAME = "alignments.sqlite"
    TABLE = "alignments"

    def __init__(self, directory: str | os.PathLike):
        self.store = SQLiteStore(Path(directory) / self.FILENAME, (self.TABLE,))
        self.path = self.store.path

    @staticmethod
    def key(identity: str, src: Sequence[str], tgt: Sequence[str]) -> str:
        return cache_key(identity, list(src), list(tgt))

    def get_many(self, keys: Sequence[str]) -> dict[str, Alignment]:
        return {k: _decode(v) for k, v in self.store.get_many(self.TABLE, keys).items()}

    def put_many(self, items: Iterable[tuple[str, Alignment]]) -> None:
        self.store.put_many(self.TABLE, ((key, _encode(al)) for key, al in items))

    def __len__(self) -> int:
        return self.store.count(self.TABLE)

    def close(self) -> None:
        self.store.close()


def _encode(al: Alignment) -> str:
    flat = [i for link in al.links for i in link]
    scores = None if al.scores is None else [round(s, 6) for s in al.scores]
    return json.dumps({"l": flat, "s": scores}, separators=(",", ":"))


def _decode(value: str) -> Alignment:
    data = json.loads(value)
    flat = data["l"]
    links = tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))
    scores = None if data["s"] is None else tuple(float(s) for s in data["s"])
    return Alignment(links, scores)


# --------------------------------------------------------------------------- model


def _resolve_model_path(model) -> tuple[str, str]:
    """The local folder ``from_pretrained`` loads and a short name for it.

    Encoder names (``None``, ``"default"``, ...) go through
    :func:`silver_ner.projection.encoder.resolve_encoder`; a Hub id is downloaded (or found in
    the Hub cache) by :func:`silver_ner.projection.models.resolve_model`."""
    if model is not None and Path(str(model)).expanduser().is_dir():
        path = Path(str(model)).expanduser().resolve()
        return str(path), path.name
    try:
        from .encoder import resolve_encoder
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UserError(f"model {model!r} is not a local folder and the encoder provisioning could not be imported ({exc})") from exc
    target = resolve_encoder(model)
    if Path(target).is_dir():
        path = Path(target).resolve()
        return str(path), path.name
    return str(resolve_model(target)), str(target)  # a Hub id: its snapshot folder, named by the id


# the one model fingerprint (content digest of the folder), under its older name
model_fingerprint = fingerprint


def _find_layer_list(model):
    import torch

    for dotted in _LAYER_LISTS:
        parent, obj = None, model
        for part in dotted.split("."):
            parent, obj = obj, getattr(obj, part, None)
            if obj is None:
                break
        if isinstance(obj, torch.nn.ModuleList):
            return parent, dotted.split(".")[-1]
    return None, None


class _Encoder:
    """A loaded encoder cut after ``layer``: tokenizer, model and the special-token frame."""

    def __init__(self, path: str, name: str, layer: int, device: str):
        import torch
        from transformers import AutoModel, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path)
        except OSError as exc:
            raise UserError(f"cannot load encoder {name!r} from {path}: {exc}") from exc
        if not getattr(self.tokenizer, "is_fast", False):
            raise UserError(f"{name}: the aligner needs a fast tokenizer (tokenizer.json) to map subwords to words")
        model.eval()
        model.to(device)
        self.device = device
        n_layers = getattr(model.config, "num_hidden_layers", None)
        if n_layers is not None and not 0 <= layer <= n_layers:
            raise UserError(f"layer {layer} is out of range for {name}, which has layers 0..{n_layers}")
        self.layer = layer
        self.model = model

        probe = self.tokenizer(["a"], is_split_into_words=True)
        bare = self.tokenizer(["a"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
        ids = probe["input_ids"]
        k = next(i for i in range(len(ids)) if ids[i : i + len(bare)] == bare)
        self.prefix, self.suffix = ids[:k], ids[k + len(bare) :]
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.unk = self.tokenizer.unk_token

        limit = getattr(model.config, "max_position_embeddings", None) or 512
        if "roberta" in getattr(model.config, "model_type", "") and model.config.pad_token_id is not None:
            limit -= model.config.pad_token_id + 1
        tml = getattr(self.tokenizer, "model_max_length", None)
        if tml is not None and tml < 1_000_000:
            limit = min(limit, tml)
        self.max_content = limit - len(self.prefix) - len(self.suffix)

        # cut the model after `layer`; check on a probe that it equals hidden_states[layer]
        self.full_hidden = False
        probe_t = {k2: torch.tensor([v]).to(device) for k2, v in probe.items() if k2 in ("input_ids", "attention_mask")}
        parent, attr = _find_layer_list(model)
        with torch.inference_mode():
            want = model(**probe_t, output_hidden_states=True).hidden_states[layer]
            if parent is not None:
                layers = getattr(parent, attr)
                setattr(parent, attr, torch.nn.ModuleList(list(layers)[:layer]))
                if getattr(model, "pooler", None) is not None:
                    model.pooler = None
                got = model(**probe_t).last_hidden_state
                if got.shape != want.shape or not torch.allclose(got, want, atol=1e-4, rtol=1e-4):
                    setattr(parent, attr, layers)
                    parent = None
            if parent is None:
                LOG.warning("%s: cannot cut the encoder after layer %d; computing all layers", name, layer)
                self.full_hidden = True

    def forward(self, input_ids, attention_mask):
        """Hidden states of ``layer`` for a padded batch."""
        if self.full_hidden:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return out.hidden_states[self.layer]
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


# --------------------------------------------------------------------------- aligner


class EmbeddingAligner:
    """SimAlign-style word aligner on a multilingual encoder.

    ``model``: ``None``/``"default"`` (multilingual-e5-small, converted offline), a name known
    to :func:`silver_ner.projection.encoder.resolve_encoder`, or a local model folder.
    ``layer``: hidden layer whose vectors are compared (0 = embeddings). ``method``: one of
    ``argmax``, ``itermax``, ``match`` (also ``fwd``, ``rev``). ``batch_size``: sentence pairs
    per forward pass. ``distortion``: SimAlign's distortion ratio (0 = off). ``max_subwords``:
    window width in subwords (default: what the encoder accepts); longer sentences are
    encoded in overlapping windows. ``token_type``: ``word`` (average subwords into words
    before comparing; default) or ``bpe`` (compare subwords, link the words they belong to).
    ``cache_dir``: keep finished alignments in ``<cache_dir>/alignments.sqlite``.
    ``num_threads``: torch CPU threads (default: the CPUs this process may use).
    ``precision``: ``float32`` (default; links identical to SimAlign's), ``bfloat16``
    (the encoder runs under autocast: about 2.7 times faster on CPUs with AVX512-BF16 or
    AMX, with a small share of links that differ; measured in ``docs/aligner.md``) or ``auto``
    (:func:`silver_ner.projection.models.pick_precision`: bfloat16 where the device runs it
    natively). ``device``: ``None`` picks CUDA when available, else the CPU
    (:func:`silver_ner.projection.models.pick_device`).

    After a call, :attr:`stats` counts pairs aligned, pairs read from the cache, sentences
    encoded, windows, sentences that needed several windows, and ``empty_words``: words for
    which the tokenizer produced no subword and which were encoded as the unknown token.
    """

    def __init__(
        self,
        model=None,
        layer: int = 8,
        method: str = "itermax",
        batch_size: int = 32,
        distortion: float = 0.0,
        max_subwords: int | None = None,
        device: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        num_threads: int | None = None,
        token_type: str = "word",
        precision: str = "float32",
    ):
        self.method = check_method(method)
        if not isinstance(layer, int) or layer < 0:
            raise UserError(f"layer must be a non-negative integer, got {layer!r}")
        if batch_size < 1:
            raise UserError(f"batch_size must be at least 1, got {batch_size}")
        if max_subwords is not None and max_subwords < 1:
            raise UserError(f"max_subwords must be at least 1, got {max_subwords}")
        if token_type not in TOKEN_TYPES:
            raise UserError(f"token_type must be one of {TOKEN_TYPES}, got {token_type!r}")
        if distortion < 0:
            raise UserError(f"distortion must be non-negative, got {distortion}")
        device = pick_device(device)
        self.precision = pick_precision(precision, device)
        self.model_spec = model
        self.layer = layer
        self.batch_size = batch_size
        self.distortion = float(distortion)
        self.max_subwords = max_subwords
        self.device = device
        self.token_type = token_type
        self.num_threads = num_threads
        self.cache = AlignmentCache(cache_dir) if cache_dir is not None else None
        self._path: str | None = None
        self._name: str | None = None
        self._fingerprint: str | None = None
        self._encoder: _Encoder | None = None
        # sentences encoded ahead of alignment (remember()), used once by encode() and then let go
        self._encoded: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self.stats = dict(pairs=0, cached=0, sentences=0, windows=0, windowed_sentences=0, empty_words=0, reused=0)

    def __getstate__(self):  # picklable for worker processes; the model is loaded again there
        state = dict(self.__dict__)
        state["_encoder"] = None
        state["_encoded"] = {}
        return state

    # -- identity -----------------------------------------------------------------

    def _resolve(self) -> None:
        if self._path is None:
            self._path, self._name = _resolve_model_path(self.model_spec)
            self._fingerprint = fingerprint(self._path)

    def identity_for(self, method: str) -> str:
        """The identity of this aligner with ``method`` as its link method."""
        self._resolve()
        parts = [f"embedding:{self._name}@{self._fingerprint}", f"layer={self.layer}", f"method={check_method(method)}"]
        if self.distortion:
            parts.append(f"distortion={self.distortion:g}")
        if self.token_type != "word":
            parts.append(f"tokens={self.token_type}")
        if self.max_subwords is not None:
            parts.append(f"window={self.max_subwords}")
        if self.precision != "float32":
            parts.append(f"precision={self.precision}")
        return ":".join(parts)

    @property
    def identity(self) -> str:
        return self.identity_for(self.method)

    @property
    def encoding_identity(self) -> str:
        """What :meth:`encode` computes: encoder and its digest, layer, window and precision (no link settings)."""
        self._resolve()
        parts = [f"embedding:{self._name}@{self._fingerprint}", f"layer={self.layer}"]
        if self.max_subwords is not None:
            parts.append(f"window={self.max_subwords}")
        if self.precision != "float32":
            parts.append(f"precision={self.precision}")
        return ":".join(parts)

    # -- public -------------------------------------------------------------------

    def align(self, pairs: Sequence[Pair]) -> list[Alignment]:
        """One alignment per ``(source_tokens, target_tokens)`` pair, with the default method."""
        return self.align_methods(pairs, (self.method,))[self.method]

    def align_methods(self, pairs: Sequence[Pair], methods: Sequence[str] = ("argmax", "itermax", "match")) -> dict[str, list[Alignment]]:
        """Alignments for several methods from one encoding of the pairs.

        Link scores are the (distorted) word similarities in ``[0, 1]``.
        """
        methods = tuple(dict.fromkeys(check_method(m) for m in methods))
        pairs = [_check_pair(i, p) for i, p in enumerate(pairs)]
        out: dict[str, list[Alignment | None]] = {m: [None] * len(pairs) for m in methods}
        if not pairs:
            return out  # type: ignore[return-value]
        todo = list(range(len(pairs)))
        keys = {}
        if self.cache is not None:
            idents = {m: self.identity_for(m) for m in methods}
            keys = {(m, i): AlignmentCache.key(idents[m], *pairs[i]) for m in methods for i in todo}
            found = self.cache.get_many(list(keys.values()))
            for (m, i), key in keys.items():
                if key in found:
                    out[m][i] = found[key]
            todo = [i for i in todo if any(out[m][i] is None for m in methods)]
            self.stats["cached"] += len(pairs) - len(todo)
        # bound memory: encode a few thousand sentences at a time
        chunk = max(self.batch_size * 64, 256)
        for c in range(0, len(todo), chunk):
            idx = todo[c : c + chunk]
            links = self._compute([pairs[i] for i in idx], methods)
            for m in methods:
                for i, al in zip(idx, links[m]):
                    out[m][i] = al
            if self.cache is not None:
                self.cache.put_many((keys[(m, i)], out[m][i]) for m in methods for i in idx)
        self.stats["pairs"] += len(pairs)
        return out  # type: ignore[return-value]

    # -- internals ----------------------------------------------------------------

    def _load(self) -> _Encoder:
        if self._encoder is None:
            import torch

            threads = self.num_threads
            if threads is None:
                threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            torch.set_num_threads(max(1, int(threads or 1)))
            self._resolve()
            self._encoder = _Encoder(self._path, self._name, self.layer, self.device)
            if self.max_subwords is not None and self.max_subwords > self._encoder.max_content:
                raise UserError(
                    f"max_subwords={self.max_subwords} exceeds what {self._name} accepts ({self._encoder.max_content} subwords)"
                )
        return self._encoder

    def remember(self, sentences: Sequence[Sequence[str]], encoded: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Keep what :meth:`encode` returned for ``sentences``, so that aligning them does not encode them again.

        Each kept sentence is used once (the next :meth:`encode` that needs it takes it out); the
        re-pairing of a build embeds every sentence with this pass before the sentences are aligned.
        """
        for sent, item in zip(sentences, encoded):
            self._encoded[tuple(sent)] = item

    def forget(self) -> None:
        """Let go of every sentence kept by :meth:`remember`."""
        self._encoded.clear()

    def encode(self, sentences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each sentence, ``(subword vectors, word index of each subword)`` at ``layer``."""
        sentences = [list(s) for s in sentences]
        if not sentences:
            return []
        if self._encoded:
            kept = {k: self._encoded.pop(tuple(s)) for k, s in enumerate(sentences) if tuple(s) in self._encoded}
            if kept:
                self.stats["reused"] += len(kept)
                todo = [k for k in range(len(sentences)) if k not in kept]
                fresh = dict(zip(todo, self._encode_now([sentences[k] for k in todo]))) if todo else {}
                return [kept[k] if k in kept else fresh[k] for k in range(len(sentences))]
        return self._encode_now(sentences)

    def _encode_now(self, sentences: list[list[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
        if not sentences:
            return []
        enc = self._load()
        width = self.max_subwords or enc.max_content
        ids, word_ids = self._tokenize(enc, sentences)
        # windows -> sequences
        seqs: list[list[int]] = []
        plans = []
        for s, (sid, wid) in enumerate(zip(ids, word_ids)):
            lengths = np.bincount(wid, minlength=len(sentences[s])) if len(wid) else np.zeros(len(sentences[s]), int)
            windows = plan_windows(lengths.tolist(), width, sentence=f"sentence {' '.join(sentences[s])[:80]!r}")
            cum = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
            first_seq = len(seqs)
            for a, b in windows:
                seqs.append(enc.prefix + sid[cum[a] : cum[b]] + enc.suffix)
            plans.append((first_seq, windows, lengths, cum))
            self.stats["windows"] += len(windows)
            self.stats["windowed_sentences"] += len(windows) > 1
        hidden = self._run(enc, seqs)
        start = len(enc.prefix)
        result = []
        for s, (first_seq, windows, lengths, cum) in enumerate(plans):
            n_sub = int(cum[-1])
            if len(windows) == 1:
                vecs = hidden[first_seq][start : start + n_sub]
            else:
                vecs = np.empty((n_sub, hidden[first_seq].shape[1]), dtype=np.float32)
                for k, w in enumerate(assign_windows(lengths.tolist(), windows)):
                    a = windows[w][0]
                    off = cum[k] - cum[a] + start
                    vecs[cum[k] : cum[k + 1]] = hidden[first_seq + w][off : off + lengths[k]]
            result.append((vecs, np.asarray(word_ids[s], dtype=np.int64)))
        self.stats["sentences"] += len(sentences)
        return result

    def _tokenize(self, enc: _Encoder, sentences: list[list[str]]):
        batch = enc.tokenizer(sentences, is_split_into_words=True, add_special_tokens=False, verbose=False)
        ids, word_ids = [], []
        for s, sent in enumerate(sentences):
            sid = list(batch["input_ids"][s])
            wid = batch.word_ids(s)
            present = set(wid)
            missing = [k for k in range(len(sent)) if k not in present]
            if missing:  # words with no subword (e.g. empty or only invisible characters)
                self.stats["empty_words"] += len(missing)
                fixed = [enc.unk if k in missing else w for k, w in enumerate(sent)]
                one = enc.tokenizer([fixed], is_split_into_words=True, add_special_tokens=False, verbose=False)
                sid, wid = list(one["input_ids"][0]), one.word_ids(0)
                if len(set(wid)) != len(sent):
                    raise ValueError(f"sentence {' '.join(sent)[:80]!r}: some words produce no subword even as the unknown token")
            ids.append(sid)
            word_ids.append(wid)
        return ids, word_ids

    def _run(self, enc: _Encoder, seqs: list[list[int]]) -> list[np.ndarray]:
        import torch

        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out: list[np.ndarray | None] = [None] * len(seqs)
        per_batch = 2 * self.batch_size
        autocast = (torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16) if self.precision == "bfloat16"
                    else contextlib.nullcontext())
        with torch.inference_mode(), autocast:
            for b in range(0, len(order), per_batch):
                idx = order[b : b + per_batch]
                longest = len(seqs[idx[-1]])
                input_ids = torch.full((len(idx), longest), enc.pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), longest), dtype=torch.long)
                for r, i in enumerate(idx):
                    input_ids[r, : len(seqs[i])] = torch.tensor(seqs[i])
                    mask[r, : len(seqs[i])] = 1
                hidden = enc.forward(input_ids.to(enc.device), mask.to(enc.device)).float().cpu().numpy()
                for r, i in enumerate(idx):
                    out[i] = hidden[r, : len(seqs[i])]
        return out  # type: ignore[return-value]

    def _compute(self, pairs: list[tuple[list[str], list[str]]], methods: tuple[str, ...]) -> dict[str, list[Alignment]]:
        unique: dict[tuple[str, ...], int] = {}
        for src, tgt in pairs:
            for sent in (src, tgt):
                if sent:
                    unique.setdefault(tuple(sent), len(unique))
        encoded = self.encode(list(unique))
        if self.token_type == "word":
            vectors = [_average_words(v, w) for v, w in encoded]
        else:
            vectors = [v for v, _ in encoded]
        out: dict[str, list[Alignment]] = {m: [] for m in methods}
        for src, tgt in pairs:
            if not src or not tgt:
                for m in methods:
                    out[m].append(Alignment((), ()))
                continue
            s, t = unique[tuple(src)], unique[tuple(tgt)]
            sim = apply_distortion(cosine_similarity(vectors[s], vectors[t]), self.distortion)
            for m in methods:
                rows, cols = np.nonzero(link_matrix(sim, m))
                scores = sim[rows, cols]
                if self.token_type == "bpe":
                    rows, cols = encoded[s][1][rows], encoded[t][1][cols]
                out[m].append(Alignment.from_pairs(zip(rows.tolist(), cols.tolist()), scores.tolist()))
        return out


def link_agreement(a: Sequence[Alignment], b: Sequence[Alignment]) -> dict[str, float]:
    """How far two lists of alignments agree: ``links`` is the Dice overlap of all links
    (2 * shared / (links in a + links in b)); ``sentences`` the share of identical alignments."""
    if len(a) != len(b):
        raise ValueError(f"cannot compare {len(a)} alignments with {len(b)}")
    shared = total = same = 0
    for x, y in zip(a, b):
        sx, sy = set(x.links), set(y.links)
        shared += len(sx & sy)
        total += len(sx) + len(sy)
        same += sx == sy
    return {"links": 2 * shared / total if total else 1.0, "sentences": same / len(a) if len(a) else 1.0}


def _average_words(vectors: np.ndarray, word_ids: np.ndarray) -> np.ndarray:
    """Mean of the subword vectors of each word (word ids run 0, 0, 1, 2, 2, ... without gaps)."""
    starts = np.flatnonzero(np.r_[True, word_ids[1:] != word_ids[:-1]])
    counts = np.diff(np.r_[starts, len(word_ids)]).astype(np.float32)
    return np.add.reduceat(vectors, starts, axis=0) / counts[:, None]


def _check_pair(i: int, pair) -> tuple[list[str], list[str]]:
    try:
        src, tgt = pair
    except (TypeError, ValueError):
        raise ValueError(f"pair {i}: expected (source_tokens, target_tokens), got {type(pair).__name__}") from None
    for side, sent in (("source", src), ("target", tgt)):
        if isinstance(sent, str):
            raise ValueError(f"pair {i}: {side} is a string; pass a list of tokens")
        if not all(isinstance(w, str) for w in sent):
            raise ValueError(f"pair {i}: {side} tokens must all be strings")
    return list(src), list(tgt)
