"""Running a token-classification model over tokenised sentences.

A thin layer over the project's one tagger, :mod:`silver_ner.builders.tagger`: the same
loading checks, NFC words, first-subword labels repaired to valid IOB2, per-word entity
probabilities, and windows for sentences longer than the model's length limit (no word is
truncated). Evaluation and the training mask (``--mask-with``) tag through here; the build's
``--tagger`` uses :class:`~silver_ner.builders.tagger.HFTagger` directly, with identical output.
"""

from __future__ import annotations

from typing import Callable, Sequence

from silver_ner.builders.tagger import (
    HFTagger,
    LoadedModel,
    ModelFolderError,
    WordPredictions,
    load_token_classifier,
)

Predictions = WordPredictions

__all__ = ["LoadedModel", "ModelFolderError", "Predictions", "WordPredictions", "load_token_classifier", "predict_tags"]


def predict_tags(
    loaded: LoadedModel,
    sentences: Sequence[Sequence[str]],
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    device: str | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> WordPredictions:
    """IOB2 tags and entity probabilities for each word of each sentence (see :class:`HFTagger`).

    ``max_length`` defaults to the model's own limit; ``progress`` is called with the number of
    sentences finished after each batch.
    """
    tagger = HFTagger.from_loaded(loaded, batch_size=batch_size, max_length=max_length, device=device, threads=threads)
    return tagger.predict(sentences, progress=progress)
