"""Weight averaging ("model soup") of token-classification models fine-tuned from one starting point.

Students trained from the same teacher on the same silver rows with different settings (masks,
rounds) end in nearby points of weight space; their element-wise mean is one model of the same
size and speed that often tags better than each of them. :func:`average_models` checks that the
models can be averaged (same architecture, parameter names and shapes, label set and tokenizer),
averages every floating-point tensor, and saves the result with the first model's tokenizer and a
``silver_ner_training.json`` that names the averaged models.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from silver_ner import __version__
from silver_ner.builders.corpora import portable
from silver_ner.students.predict import ModelFolderError, load_token_classifier
from silver_ner.students.train import TRAINING_FILE, read_training_record
from silver_ner.projection.errors import UserError
from silver_ner.projection.models import fingerprint


def _tokenizer_digest(folder: Path) -> str | None:
    f = folder / "tokenizer.json"
    return fingerprint(f) if f.is_file() else None


def average_models(models: Sequence[str | os.PathLike], output: str | os.PathLike,
                   weights: Sequence[float] | None = None) -> dict:
    """Average the weights of ``models`` (local folders) into ``output``; returns the record written.

    ``weights`` (default uniform) must be positive; they are normalised to sum to one."""
    import torch

    paths = [Path(m) for m in models]
    if len(paths) < 2:
        raise UserError("averaging needs at least two models")
    if weights is None:
        weights = [1.0] * len(paths)
    if len(weights) != len(paths):
        raise UserError(f"{len(weights)} weights for {len(paths)} models")
    if any(w <= 0 for w in weights):
        raise UserError(f"weights must be positive, got {list(weights)}")
    total = float(sum(weights))
    norm = [w / total for w in weights]
    out = Path(output)
    if out.resolve() in {p.resolve() for p in paths}:
        raise UserError(f"{out}: the output folder is one of the models being averaged")

    first = load_token_classifier(paths[0])
    ref_state = first.model.state_dict()
    ref_type = first.model.config.model_type
    ref_tok = _tokenizer_digest(paths[0])
    acc = {k: v.detach().to(torch.float64) * norm[0] for k, v in ref_state.items() if v.is_floating_point()}
    for path, w in zip(paths[1:], norm[1:]):
        other = load_token_classifier(path)
        if other.model.config.model_type != ref_type:
            raise ModelFolderError(f"{path}: model type {other.model.config.model_type!r}, {paths[0]} is {ref_type!r}")
        if other.names != first.names:
            raise ModelFolderError(f"{path}: labels {other.names} differ from {paths[0]}'s {first.names}")
        if _tokenizer_digest(path) != ref_tok:
            raise ModelFolderError(f"{path}: tokenizer differs from {paths[0]}'s; only models of one encoder average")
        state = other.model.state_dict()
        if state.keys() != ref_state.keys():
            missing = sorted(set(ref_state) ^ set(state))[:3]
            raise ModelFolderError(f"{path}: parameters differ from {paths[0]}'s (e.g. {', '.join(missing)})")
        for k, v in state.items():
            if v.shape != ref_state[k].shape:
                raise ModelFolderError(f"{path}: {k} has shape {tuple(v.shape)}, {paths[0]} has {tuple(ref_state[k].shape)}")
            if k in acc:
                acc[k] += v.detach().to(torch.float64) * w
            elif not torch.equal(v, ref_state[k]):
                raise ModelFolderError(f"{path}: non-float tensor {k} differs from {paths[0]}'s")
        del other, state
    first.model.load_state_dict({k: (acc[k].to(v.dtype) if k in acc else v) for k, v in ref_state.items()})

    out.mkdir(parents=True, exist_ok=True)
    first.model.save_pretrained(out)
    first.tokenizer.save_pretrained(out)
    sources = []
    data: list[dict] = []
    for path, w in zip(paths, norm):
        rec = read_training_record(path) or {}
        sources.append({"path": os.fspath(path), "fingerprint": fingerprint(path), "weight": round(w, 6),
                        "n_sentences": rec.get("n_sentences"), "training_time_s": rec.get("training_time_s")})
        for d in rec.get("training_data") or []:
            if d not in data:
                data.append(d)
    base = read_training_record(paths[0]) or {}
    record = {
        "role": base.get("role", "student"),
        "base_encoder": base.get("base_encoder"),
        "training_data": data,
        "n_sentences": max((s["n_sentences"] or 0) for s in sources) or None,
        "hyperparameters": {"weight_average": f"{len(paths)} models", "weights": [s["weight"] for s in sources]},
        "averaged_from": sources,
        "labels": base.get("labels") or {"id2label": dict(enumerate(first.names))},
        "training_time_s": None,
        "silver_ner_version": __version__,
    }
    record = portable(record)  # the averaged models by folder name, never a machine path
    (out / TRAINING_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return record
