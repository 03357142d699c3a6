"""The project's one token-classification tagger: source-side tagging in the build (``--tagger``),
the training mask (``--mask-with``), evaluation and prediction all run a model through it.

Signatures::

    load_token_classifier(name_or_path, revision=None) -> LoadedModel
    HFTagger(model_path, batch_size=32, max_length=None, overlap=None, device=None, threads=None)
    HFTagger.from_loaded(loaded, batch_size=32, max_length=None, overlap=None, device=None, threads=None)
    HFTagger.tag(sentences) -> list[list[Span]]          # the projection ``Tagger`` protocol
    HFTagger.predict(sentences, progress=None) -> WordPredictions
    WindowPlanner(tokenizer, max_length=None, overlap=None).plan(sentences) -> list[SentencePlan]

**Words.** Every word is NFC-normalised (:func:`normalise_words`) before the model's own
tokenizer sees it, the same for every caller and the same as training
(``silver_ner.students.train`` NFC-normalises its tokens, the gold readers do too). The
tokenizer then applies its own normaliser; for the default encoder that is the engine's exact
per-codepoint map (:mod:`silver_ner.projection.encoder`), which does not compose, so
decomposed Yoruba and Ewe tone marks would otherwise reach the vocabulary as separate pieces
(``e`` + U+0323 + U+0301 instead of ``ẹ́``). NFC is canonical composition only: no
compatibility folding (never NFKC); whatever folding the model wants, its tokenizer does.

**Labels.** Each word takes the prediction on its first subword; the label sequence is then made
valid IOB2 (an ``I-X`` that does not continue ``X`` starts a new entity; counted in
``repairs``). ``WordPredictions.entity_probs`` holds, per word, 1 - P(``O``) on that subword
(the training mask's threshold reads it). A word the tokenizer turns into no subword at all
(e.g. only characters the normaliser deletes) is tagged ``O`` with probability 0 and counted in
``untagged_words``.

**Long sentences are windowed, never truncated.** A sentence whose subwords do not fit in the
model's length limit (``max_length``, default the smaller of the tokenizer's
``model_max_length`` and the model's position table) is cut into word windows of at most
``max_length`` subwords including special tokens; consecutive windows share about ``overlap``
subwords (default half a window). A word that lies in two windows takes its label and
probability from the window where it is most central (the most subwords of context on its
poorer side; the earlier window on a tie), so that every word is tagged with context on both
sides where the sentence has it. A single word longer than a whole window is tagged from a
window of its first subwords. The windows' inputs are the sentence's own subwords plus the
tokenizer's special tokens, so a sentence that fits is encoded exactly as the tokenizer
encodes it. Windows of all sentences are batched together, sorted by length (``batch_size``
windows a batch); the order is fixed, so the output is deterministic.

**Device and threads** come from the caller: ``device`` moves the model (``None``: CUDA when
available, else the CPU, :func:`silver_ner.projection.models.pick_device`), ``threads`` sets
torch's intra-op threads while tagging and restores them after (``None`` leaves them alone).
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

from silver_ner.projection.errors import UserError
from silver_ner.projection.protocols import Tagger
from silver_ner.projection.spans import Span, TagError, repair_tags, split_tag, tags_to_spans

# Changes whenever the same model and words may get different tags (cache keys include it).
TAGGER_VERSION = "2"
_NO_LIMIT = 1_000_000  # a tokenizer's model_max_length above this means "not set"


def normalise_words(words: Sequence[str]) -> list[str]:
    """The words as the tagger hands them to the tokenizer: Unicode NFC of each word."""
    return [unicodedata.normalize("NFC", w) for w in words]


# --------------------------------------------------------------------------- loading


class ModelFolderError(UserError):
    """A model folder or repository that cannot be used for tagging."""


def _entity_types(names: Sequence[str]) -> list[str]:
    types: list[str] = []
    for name in names:
        typ = split_tag(name)[1]
        if typ is not None and typ not in types:
            types.append(typ)
    return types


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    source: str
    names: list[str]  # id -> IOB2 label name

    @property
    def types(self) -> list[str]:
        return _entity_types(self.names)


def load_token_classifier(name_or_path: str | os.PathLike, *, revision: str | None = None) -> LoadedModel:
    """Load a token-classification model and its tokenizer (a local folder or a Hub repo id).

    A Hub id is fetched (or found in the Hub cache) by :func:`silver_ner.projection.models.resolve_model`."""
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    source = os.fspath(name_or_path)
    path = Path(source)
    if path.exists():
        if not path.is_dir():
            raise ModelFolderError(f"{source}: not a model folder")
        if not (path / "config.json").exists():
            raise ModelFolderError(f"{source}: no config.json, not a saved transformers model")
        if not any((path / f).exists() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "sentencepiece.bpe.model")):
            raise ModelFolderError(f"{source}: no tokenizer files (tokenizer.json / tokenizer_config.json); save the tokenizer with the model")
    elif source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise FileNotFoundError(f"{source}: no such model folder")
    else:
        from silver_ner.projection.models import resolve_model

        try:
            path = resolve_model(source, revision=revision)
        except UserError as exc:
            raise ModelFolderError(str(exc)) from None
    local = os.fspath(path)
    try:
        config = AutoConfig.from_pretrained(local)
    except OSError as exc:
        raise ModelFolderError(f"{source}: cannot load the model config ({str(exc).splitlines()[0]})") from None
    id2label = getattr(config, "id2label", None) or {}
    names = [id2label[i] for i in sorted(id2label, key=int)]
    try:
        types = _entity_types(names)
    except TagError as exc:
        raise ModelFolderError(f"{source}: config id2label is not an IOB2 label set ({exc}); is this a fine-tuned NER model?") from None
    if not types:
        raise ModelFolderError(f"{source}: config id2label has no entity labels ({names}); is this a fine-tuned NER model?")
    try:
        tokenizer = AutoTokenizer.from_pretrained(local)
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"{source}: cannot load the tokenizer ({exc})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelFolderError(f"{source}: needs a fast tokenizer (word_ids) but got {type(tokenizer).__name__}")
    try:
        model = AutoModelForTokenClassification.from_pretrained(local)
    except OSError as exc:
        raise ModelFolderError(f"{source}: cannot load the model weights ({str(exc).splitlines()[0]})") from None
    model.eval()
    return LoadedModel(model, tokenizer, source, names)


# --------------------------------------------------------------------------- windows


def model_length_limit(tokenizer, config=None) -> int:
    """Subwords (special tokens included) the model takes: the tokenizer's ``model_max_length``
    and the model's position table, whichever is smaller (512 when neither says)."""
    limits = []
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if tok_limit and tok_limit < _NO_LIMIT:
        limits.append(int(tok_limit))
    positions = getattr(config, "max_position_embeddings", None) if config is not None else None
    if positions:
        if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            positions -= (getattr(config, "pad_token_id", 1) or 1) + 1  # positions start after the padding index
        limits.append(int(positions))
    return min(limits) if limits else 512


def plan_windows(counts: Sequence[int], budget: int, overlap: int) -> tuple[list[tuple[int, int]], list[int]]:
    """Word windows over a sentence whose word ``i`` has ``counts[i]`` subwords.

    Each window ``(start, end)`` holds at most ``budget`` subwords (or is one word longer than
    that); consecutive windows share at most ``overlap`` subwords and each reaches past the
    previous one. Returns the windows and, per word, the index of the window it is labelled
    from: the one where it has the most subwords of context on its poorer side (the earlier
    window on a tie).
    """
    if budget < 1:
        raise ValueError(f"the window budget must be at least one subword, got {budget}")
    n = len(counts)
    prefix = [0]
    for c in counts:
        prefix.append(prefix[-1] + c)
    if prefix[-1] <= budget:
        return [(0, n)], [0] * n
    overlap = max(0, min(overlap, budget - 1))
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        end = start
        while end < n and prefix[end + 1] - prefix[start] <= budget:
            end += 1
        end = max(end, start + 1)
        windows.append((start, end))
        if end >= n:
            break
        # the next window starts as early as the overlap allows while still taking word ``end``
        limit = min(overlap, budget - counts[end])
        nxt = start + 1
        while nxt < end and prefix[end] - prefix[nxt] > limit:
            nxt += 1
        start = nxt
    owner = [-1] * n
    best = [-1] * n
    for k, (a, b) in enumerate(windows):
        for i in range(a, b):
            centrality = min(prefix[i] - prefix[a], prefix[b] - prefix[i + 1])
            if centrality > best[i]:
                best[i], owner[i] = centrality, k
    return windows, owner


@dataclass
class SentencePlan:
    """One sentence's subwords (no special tokens), word boundaries and windows."""

    ids: list[int]
    bounds: list[int]  # bounds[i]: position of word i's first subword; bounds[n] = len(ids)
    windows: list[tuple[int, int]]
    owner: list[int]  # per word: the window it is labelled from

    @property
    def counts(self) -> list[int]:
        return [b - a for a, b in zip(self.bounds, self.bounds[1:])]


class WindowPlanner:
    """Tokenises sentences (NFC words, the tokenizer's own normaliser) and plans their windows."""

    def __init__(self, tokenizer, max_length: int | None = None, overlap: int | None = None, config=None):
        if not getattr(tokenizer, "is_fast", False):
            raise ModelFolderError(f"the tagger needs a fast tokenizer (word ids per subword), got {type(tokenizer).__name__}")
        self.tokenizer = tokenizer
        self.max_length = int(max_length) if max_length else model_length_limit(tokenizer, config)
        probe = tokenizer(["a"], is_split_into_words=True)
        wids = probe.word_ids()
        first = wids.index(0)
        last = len(wids) - 1 - wids[::-1].index(0)
        self.prefix = list(probe["input_ids"][:first])
        self.suffix = list(probe["input_ids"][last + 1 :])
        self.token_type = probe["token_type_ids"][0] if "token_type_ids" in probe else None
        self.budget = self.max_length - len(self.prefix) - len(self.suffix)
        if self.budget < 1:
            raise UserError(f"max_length {self.max_length} leaves no room for words besides "
                            f"{len(self.prefix) + len(self.suffix)} special tokens")
        self.overlap = self.budget // 2 if overlap is None else int(overlap)
        if not 0 <= self.overlap < self.budget:
            raise UserError(f"window overlap must be in [0, {self.budget}) subwords, got {self.overlap}")

    def plan(self, sentences: Sequence[Sequence[str]]) -> list[SentencePlan]:
        words = [normalise_words(s) for s in sentences]
        nonempty = [k for k, w in enumerate(words) if w]
        plans = [SentencePlan([], [0], [], []) for _ in words]
        if not nonempty:
            return plans
        enc = self.tokenizer([words[k] for k in nonempty], is_split_into_words=True, add_special_tokens=False,
                             truncation=False, verbose=False)
        for row, k in enumerate(nonempty):
            ids = list(enc["input_ids"][row])
            wids = enc.word_ids(row)
            n = len(words[k])
            bounds = [len(ids)] * (n + 1)
            for pos in range(len(wids) - 1, -1, -1):  # first position of each word; empty words take the next's
                if wids[pos] is not None:
                    bounds[wids[pos]] = pos
            for i in range(n - 1, -1, -1):
                bounds[i] = min(bounds[i], bounds[i + 1])
            counts = [b - a for a, b in zip(bounds, bounds[1:])]
            windows, owner = plan_windows(counts, self.budget, self.overlap)
            plans[k] = SentencePlan(ids, bounds, windows, owner)
        return plans

    def window_input(self, plan: SentencePlan, window: tuple[int, int]) -> list[int]:
        a, b = window
        content = plan.ids[plan.bounds[a] : plan.bounds[b]][: self.budget]
        return self.prefix + content + self.suffix


# --------------------------------------------------------------------------- tagging


@dataclass
class WordPredictions:
    tags: list[list[str]]  # per sentence, per word: valid IOB2
    # per word: the probability the model gives to any entity label (1 - P(O)) on its first subword
    entity_probs: list[list[float]] = field(default_factory=list)
    repairs: int = 0  # I- tags turned into B- to make the sequences valid IOB2
    windowed_sentences: list[int] = field(default_factory=list)  # sentences tagged in more than one window
    untagged_words: int = 0  # words the tokenizer turns into no subword: tagged O
    untagged_sentences: list[int] = field(default_factory=list)


@runtime_checkable
class WordTagger(Tagger, Protocol):
    """A :class:`~silver_ner.projection.protocols.Tagger` that also gives per-word tags and probabilities."""

    def predict(self, sentences: Sequence[Sequence[str]], progress: Callable[[int], None] | None = None) -> WordPredictions:
        """Tags and entity probabilities per word (see :class:`WordPredictions`)."""


class HFTagger:
    """Tags words with a transformers token-classification model (see the module docstring)."""

    def __init__(self, model_path: str | os.PathLike, batch_size: int = 32, max_length: int | None = None,
                 overlap: int | None = None, device: str | None = None, threads: int | None = None):
        self._setup(load_token_classifier(model_path), batch_size, max_length, overlap, device, threads)

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, batch_size: int = 32, max_length: int | None = None,
                    overlap: int | None = None, device: str | None = None, threads: int | None = None) -> "HFTagger":
        self = cls.__new__(cls)
        self._setup(loaded, batch_size, max_length, overlap, device, threads)
        return self

    def _setup(self, loaded: LoadedModel, batch_size, max_length, overlap, device, threads) -> None:
        if batch_size < 1:
            raise UserError(f"batch size must be at least 1, got {batch_size}")
        if threads is not None and threads < 1:
            raise UserError(f"torch threads must be at least 1, got {threads}")
        self.loaded = loaded
        self.model_path = loaded.source
        self.model = loaded.model
        from silver_ner.projection.models import pick_device

        self.model = self.model.to(pick_device(device))
        self.model.eval()
        self.labels = list(loaded.names)
        self.o_id = self.labels.index("O") if "O" in self.labels else None
        self.planner = WindowPlanner(loaded.tokenizer, max_length, overlap, getattr(self.model, "config", None))
        self.max_length = self.planner.max_length
        self.batch_size, self.threads = batch_size, threads
        self.repairs = 0
        self.windowed = 0

    @property
    def identity(self) -> str:
        return f"hf-tagger:{self.model_path}"

    @contextlib.contextmanager
    def _torch_threads(self):
        import torch

        if self.threads is None:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[Span]]:
        return [tags_to_spans(t) for t in self.predict(sentences).tags]

    def predict(self, sentences: Sequence[Sequence[str]], progress: Callable[[int], None] | None = None) -> WordPredictions:
        import torch

        plans = self.planner.plan(sentences)
        jobs = [(k, w) for k, p in enumerate(plans) for w in range(len(p.windows))]
        inputs = [self.planner.window_input(plans[k], plans[k].windows[w]) for k, w in jobs]
        order = sorted(range(len(jobs)), key=lambda j: (len(inputs[j]), j))
        left = [len(p.windows) for p in plans]  # windows still to run, per sentence
        tags = [["O"] * len(s) for s in sentences]
        probs = [[0.0] * len(s) for s in sentences]
        pad = self.planner.tokenizer.pad_token_id
        pad = 0 if pad is None else pad
        dev = next(self.model.parameters()).device
        head = len(self.planner.prefix)
        with self._torch_threads(), torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                batch = order[b : b + self.batch_size]
                width = max(len(inputs[j]) for j in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, j in enumerate(batch):
                    ids[row, : len(inputs[j])] = torch.tensor(inputs[j], dtype=torch.long)
                    mask[row, : len(inputs[j])] = 1
                feed = {"input_ids": ids.to(dev), "attention_mask": mask.to(dev)}
                if self.planner.token_type is not None:  # the tokenizer gives them: single-sequence type
                    feed["token_type_ids"] = torch.full_like(ids, self.planner.token_type).to(dev)
                logits = self.model(**feed).logits.float()
                best = logits.argmax(-1).cpu().tolist()
                ent = (1.0 - logits.softmax(-1)[..., self.o_id]).cpu().tolist() if self.o_id is not None else None
                done = 0
                for row, j in enumerate(batch):
                    k, w = jobs[j]
                    plan = plans[k]
                    a, e = plan.windows[w]
                    for i in range(a, e):
                        if plan.owner[i] != w or plan.bounds[i + 1] == plan.bounds[i]:
                            continue
                        pos = head + plan.bounds[i] - plan.bounds[a]
                        tags[k][i] = self.labels[best[row][pos]]
                        probs[k][i] = ent[row][pos] if ent is not None else float(tags[k][i] != "O")
                    left[k] -= 1
                    done += left[k] == 0
                if progress is not None:
                    progress(done)
        out = WordPredictions([], probs)
        for k, (plan, t) in enumerate(zip(plans, tags)):
            fixed, n = repair_tags(t)
            out.tags.append(fixed)
            out.repairs += n
            if len(plan.windows) > 1:
                out.windowed_sentences.append(k)
            empty = sum(1 for c in plan.counts if c == 0)
            if empty:
                out.untagged_words += empty
                out.untagged_sentences.append(k)
        if progress is not None:
            progress(sum(1 for p in plans if not p.windows))  # empty sentences
        self.repairs += out.repairs
        self.windowed += len(out.windowed_sentences)
        return out
