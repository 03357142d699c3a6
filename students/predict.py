"""Running a token-classification model over tokenised sentences, in batches.

The model sees each sentence as pre-split words; the label of a word is the prediction on
its first subword. Words past the model's length limit (or that the tokenizer turns into no
subword at all) get ``O`` and are counted in ``Predictions.truncated_words``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from silver_ner.students.labels import nfc, types_of_names


class ModelFolderError(ValueError):
    """A model folder or repository that cannot be used for tagging."""


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    source: str
    names: list[str]  # id -> IOB2 label name

    @property
    def types(self) -> list[str]:
        return types_of_names(self.names)


def load_token_classifier(name_or_path: str | os.PathLike, *, revision: str | None = None) -> LoadedModel:
    """Load a token-classification model and its tokenizer (a local folder or a Hub repo id)."""
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
    try:
        config = AutoConfig.from_pretrained(source, revision=revision)
    except OSError as exc:
        raise ModelFolderError(f"{source}: cannot load the model config ({str(exc).splitlines()[0]})") from None
    id2label = getattr(config, "id2label", None) or {}
    names = [id2label[i] for i in sorted(id2label, key=int)]
    try:
        types_of_names(names)
    except ValueError as exc:
        raise ModelFolderError(f"{source}: config id2label is not an IOB2 label set ({exc}); is this a fine-tuned NER model?") from None
    if not types_of_names(names):
        raise ModelFolderError(f"{source}: config id2label has no entity labels ({names}); is this a fine-tuned NER model?")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"{source}: cannot load the tokenizer ({exc})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelFolderError(f"{source}: needs a fast tokenizer (word_ids) but got {type(tokenizer).__name__}")
    try:
        model = AutoModelForTokenClassification.from_pretrained(source, revision=revision)
    except OSError as exc:
        raise ModelFolderError(f"{source}: cannot load the model weights ({str(exc).splitlines()[0]})") from None
    model.eval()
    return LoadedModel(model, tokenizer, source, names)


@dataclass
class Predictions:
    tags: list[list[str]]
    # per word: the probability the model gives to any entity label (1 - P(O)) on its first subword
    entity_probs: list[list[float]] = field(default_factory=list)
    truncated_words: int = 0
    truncated_sentences: list[int] = field(default_factory=list)


def predict_tags(
    loaded: LoadedModel,
    sentences: Sequence[Sequence[str]],
    *,
    batch_size: int = 32,
    max_length: int = 512,
    progress=None,
) -> Predictions:
    """IOB2 tags for each sentence (first-subword predictions, repaired to valid IOB2)."""
    import torch

    from silver_ner.projection.spans import repair_tags

    tok, model = loaded.tokenizer, loaded.model
    max_length = min(max_length, getattr(tok, "model_max_length", max_length) or max_length)
    out = Predictions([])
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))  # similar lengths per batch
    result: list[list[str] | None] = [None] * len(sentences)
    probs_out: list[list[float] | None] = [None] * len(sentences)
    o_id = loaded.names.index("O") if "O" in loaded.names else None
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            words = [nfc(sentences[i]) for i in idx]
            enc = tok(words, is_split_into_words=True, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
            logits = model(**{k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}).logits
            best = logits.argmax(-1).tolist()
            ent = (1.0 - logits.softmax(-1)[..., o_id]).tolist() if o_id is not None else None
            for row, i in enumerate(idx):
                tags = ["O"] * len(sentences[i])
                probs = [0.0] * len(sentences[i])
                seen = set()
                for pos, w in enumerate(enc.word_ids(row)):
                    if w is None or w in seen:
                        continue
                    seen.add(w)
                    tags[w] = loaded.names[best[row][pos]]
                    probs[w] = ent[row][pos] if ent is not None else float(tags[w] != "O")
                missing = len(sentences[i]) - len(seen)
                if missing:
                    out.truncated_words += missing
                    out.truncated_sentences.append(i)
                result[i] = repair_tags(tags)[0]
                probs_out[i] = probs
            if progress is not None:
                progress(len(idx))
    out.tags = result  # type: ignore[assignment]
    out.entity_probs = probs_out  # type: ignore[assignment]
    return out
