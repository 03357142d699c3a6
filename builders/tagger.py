"""A :class:`~silver_ner.projection.protocols.Tagger` over any transformers token-classification model.

Signature::

    HFTagger(model_path, batch_size=32, max_length=None, device="cpu").tag(sentences) -> list[list[Span]]

Each word takes the label predicted for its first subword; the label sequence is then made
valid IOB2 (an ``I-X`` that does not continue ``X`` starts a new entity) and every such repair
is counted in ``HFTagger.repairs``. A sentence longer than the model's maximum length is
tagged in consecutive word windows that fit (counted in ``HFTagger.windowed``), never
truncated. The model's ``id2label`` must name IOB2 tags (``O``, ``B-PER``, ...).
"""

from __future__ import annotations

import os
from typing import Sequence

from silver_ner.projection.spans import Span, TagError, TagRepairs, split_tag, tags_to_spans


class HFTagger:
    def __init__(self, model_path: str | os.PathLike, batch_size: int = 32, max_length: int | None = None,
                 device: str = "cpu"):
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        self.model_path = os.fspath(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError(f"{self.model_path}: the tagger needs a fast tokenizer (word ids per subword)")
        self.model = AutoModelForTokenClassification.from_pretrained(self.model_path).to(device).eval()
        self.labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        for lab in self.labels:
            try:
                split_tag(lab)
            except TagError:
                raise ValueError(f"{self.model_path}: label {lab!r} in id2label is not an IOB2 tag") from None
        limit = max_length or min(getattr(self.tokenizer, "model_max_length", 512) or 512,
                                  getattr(self.model.config, "max_position_embeddings", 512) or 512)
        self.max_length = int(min(limit, 100_000))
        self.batch_size, self.device = batch_size, device
        self.repairs = 0
        self.windowed = 0
        self._torch = torch

    @property
    def identity(self) -> str:
        return f"hf-tagger:{self.model_path}"

    def _windows(self, words: Sequence[str]) -> list[tuple[int, int]]:
        """Word ranges whose subwords (plus special tokens) fit in ``max_length``."""
        if not words or len(self.tokenizer(list(words), is_split_into_words=True)["input_ids"]) <= self.max_length:
            return [(0, len(words))]
        budget = self.max_length - self.tokenizer.num_special_tokens_to_add()
        lens = [max(1, len(self.tokenizer.tokenize(w))) for w in words]
        out, start, used = [], 0, 0
        for i, n in enumerate(lens):
            if n > budget:
                raise ValueError(f"word {i} ({words[i][:30]!r}) alone has {n} subwords, more than {budget}")
            if used + n > budget:
                out.append((start, i))
                start, used = i, 0
            used += n
        out.append((start, len(words)))
        self.windowed += 1
        return out

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[Span]]:
        torch = self._torch
        pieces: list[tuple[int, int, list[str]]] = []  # (sentence, offset, words)
        for s, words in enumerate(sentences):
            for a, b in self._windows(list(words)):
                pieces.append((s, a, list(words[a:b])))
        tags: list[list[str]] = [["O"] * len(w) for w in sentences]
        order = sorted(range(len(pieces)), key=lambda k: len(pieces[k][2]))
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                batch = [pieces[k] for k in order[b : b + self.batch_size] if pieces[k][2]]
                if not batch:
                    continue
                enc = self.tokenizer([p[2] for p in batch], is_split_into_words=True, padding=True,
                                     truncation=False, return_tensors="pt")
                logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits
                pred = logits.argmax(-1).cpu().tolist()
                for row, (s, off, words) in enumerate(batch):
                    seen = set()
                    for pos, w in enumerate(enc.word_ids(row)):
                        if w is None or w in seen:
                            continue
                        seen.add(w)
                        tags[s][off + w] = self.labels[pred[row][pos]]
        out = []
        for t in tags:
            rep = TagRepairs()
            out.append(tags_to_spans(t, rep))
            self.repairs += rep.count
        return out
