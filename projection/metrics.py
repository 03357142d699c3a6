"""Entity-level scores with exact span matching (precision, recall, F1, per class)."""

from __future__ import annotations

from typing import Iterable, Sequence

from .spans import Span


def _prf(correct: int, predicted: int, gold: int) -> dict:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "correct": correct, "predicted": predicted, "gold": gold}


def span_scores(gold: Sequence[Iterable[Span]], pred: Sequence[Iterable[Span]]) -> dict:
    """Micro precision/recall/F1 over all sentences, and the same per class in ``per_class``.

    A predicted span counts as correct only when start, end and label equal a gold span.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    counts: dict[str, list[int]] = {}
    for g, p in zip(gold, pred):
        gs, ps = set(g), set(p)
        for s in gs:
            counts.setdefault(s.label, [0, 0, 0])[2] += 1
        for s in ps:
            c = counts.setdefault(s.label, [0, 0, 0])
            c[1] += 1
            if s in gs:
                c[0] += 1
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    out = _prf(*total)
    out["per_class"] = {label: _prf(*counts[label]) for label in sorted(counts)}
    return out
