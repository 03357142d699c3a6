"""Back-translation refinement: project onto the target from a labelled back-translation of
the source instead of the source itself.

The back-translation is in the source language but closer in wording to the target, so its
alignment to the target is often tighter. The projection itself is the one projection step
(:class:`~silver_ner.projection.step.ProjectionStep`) with the back-translation as the source, as
in the build (``silver-ner build --backtranslate MODEL``, see ``builders/steps.py``).
"""

from __future__ import annotations

from typing import Callable, Sequence

from .protocols import Alignment, ProjectionResult
from .spans import Span


def project_from_backtranslation(
    tgt_tokens: Sequence[str],
    bt_tokens: Sequence[str],
    bt_spans: Sequence[Span],
    alignment: Alignment,
    method: str | Callable[..., ProjectionResult] = "ngram-exact",
    *,
    target_first: bool = True,
    **params,
) -> ProjectionResult:
    """Project ``bt_spans`` (entities on the back-translation) onto the target.

    ``alignment`` links the target with the back-translation: ``(target, back-translation)``
    pairs when ``target_first`` (the default), else ``(back-translation, target)``.
    ``source_of`` and ``unprojected`` index ``bt_spans``.
    ``method`` is a registered method's name or a projection function (then used as it is).
    """
    from .step import LabelledSource, ProjectionStep

    step = (ProjectionStep(method, params=params) if isinstance(method, str)
            else ProjectionStep(params=params, func=method))
    links = alignment.inverted() if target_first else alignment
    for s, t in links.links:
        if s >= len(bt_tokens) or t >= len(tgt_tokens):
            raise ValueError(
                f"link ({s}, {t}) outside a back-translation of {len(bt_tokens)} and a target of {len(tgt_tokens)} words"
            )
    return step.project_one(LabelledSource.of(bt_tokens, bt_spans), tgt_tokens, links)
