"""Evaluate a projection method on sentence-parallel gold files.

Gold entities of the source file(s) are projected onto the target sentences through word
links, and the projected spans are compared with the target's own gold spans (entity level,
exact span, every class present in the files). Several source files are combined by
multi-source voting.
"""

from __future__ import annotations

import time
from typing import Sequence

from silver_ner.builders.conll import ConllFile, check_parallel, read_conll
from silver_ner.builders.resources import peak_rss_mb
from silver_ner.projection.errors import UserError
from silver_ner.projection.metrics import span_scores
from silver_ner.projection.step import LabelledSource, ProjectionItem, ProjectionStep


def make_aligner(model: str | None, layer: int | None, method: str, cache_dir: str | None, token_type: str = "word",
                 precision: str = "float32"):
    from silver_ner.projection.aligner import EmbeddingAligner

    kwargs = {"model": model, "method": method, "cache_dir": cache_dir, "token_type": token_type, "precision": precision}
    if layer is not None:
        kwargs["layer"] = layer
    return EmbeddingAligner(**kwargs)


def evaluate_projection(
    sources: Sequence[str],
    target: str,
    method: str | None = None,
    *,
    aligner=None,
    aligner_model: str | None = None,
    layer: int | None = None,
    align_method: str | None = None,
    token_type: str | None = None,
    cache_dir: str | None = None,
    candidates: str | None = None,
    min_votes: int = 1,
    params: dict | None = None,
    precision: str = "float32",
    combine: str = "vote",
    union_ngrams: bool = False,
) -> dict:
    """Project the gold entities of ``sources`` onto ``target`` and score against its gold.

    ``aligner`` (anything with the ``Aligner`` protocol) replaces the embedding aligner built
    from ``aligner_model`` / ``layer``. ``align_method`` overrides the links the method was
    measured with (``itermax``, ``argmax``, ``match``, or several joined by ``+``);
    ``token_type`` (``word`` or ``bpe``) overrides how the method's links were made.
    ``candidates`` is a CoNLL file of target spans for the ``spans-*`` methods (labels
    ignored). Several sources are combined by ``combine`` (``vote`` or ``nested-vote``) with
    ``min_votes``. The work is done by :class:`~silver_ner.projection.step.ProjectionStep`.
    """
    t0 = time.perf_counter()
    if not sources:
        raise UserError("at least one --source file is needed")
    step = ProjectionStep(method, params=dict(params or {}), links=tuple(align_method.split("+")) if align_method else None,
                          combine=combine, min_votes=min_votes, union_ngrams=union_ngrams)
    tgt = read_conll(target)
    srcs = [read_conll(p) for p in sources]
    for s in srcs:
        check_parallel(s, tgt)
    cand_file: ConllFile | None = None
    if step.needs_candidates:
        if candidates is None:
            raise UserError(f"method {step.name!r} needs target candidate spans: give --candidates FILE")
        cand_file = read_conll(candidates)
        check_parallel(cand_file, tgt)
    use_layer = layer if layer is not None else step.layer
    use_tokens = token_type or step.token_type
    if aligner is None:
        aligner = make_aligner(aligner_model, use_layer, step.links[0], cache_dir, use_tokens, precision)
    items = [
        ProjectionItem.of(b.tokens, [LabelledSource.of(src.sentences[i].tokens, src.sentences[i].spans) for src in srcs],
                          cand_file.sentences[i].spans if cand_file is not None else None)
        for i, b in enumerate(tgt.sentences)
    ]
    t1 = time.perf_counter()
    grouped: list[list] = [[] for _ in items]
    for k in range(len(srcs)):  # one batch per source file, timed apart from projecting
        for i, al in enumerate(step.align(aligner, [(it.sources[k].tokens, it.target) for it in items])):
            grouped[i].append(al)
    t_align = time.perf_counter() - t1
    t1 = time.perf_counter()
    projected = step.project(items, grouped)
    t_project = time.perf_counter() - t1

    scores = span_scores([s.spans for s in tgt.sentences], [p.spans for p in projected])
    files = [*srcs, tgt] + ([cand_file] if cand_file is not None else [])
    identity = getattr(aligner, "identity", type(aligner).__name__)
    out = {
        "method": step.name,
        "params": step.effective_params,
        "aligner": identity,
        "links": "+".join(step.links),
        "token_type": use_tokens,
        "sources": list(sources),
        "target": target,
        "precision": scores["precision"],
        "recall": scores["recall"],
        "f1": scores["f1"],
        "per_class": scores["per_class"],
        "sentences": len(tgt),
        "source_entities": sum(len(s.spans) for src in srcs for s in src.sentences),
        "gold_entities": scores["gold"],
        "predicted_entities": scores["predicted"],
        "unprojected": sum(p.unprojected for p in projected),
        "repairs": sum(len(f.repairs) for f in files),
        "repair_locations": [loc for f in files for loc in f.repair_locations()],
        "skipped_lines": sum(len(f.skipped) for f in files),
        "seconds": time.perf_counter() - t0,
        "align_seconds": t_align,
        "project_seconds": t_project,
        "peak_rss_mb": peak_rss_mb(),
    }
    if union_ngrams:
        out["union_ngrams"] = True
    if len(srcs) > 1:
        out["min_votes"] = min_votes
        out["combine"] = combine
        out["spans_left_out_by_voting"] = sum(p.left_out_by_voting for p in projected)
    return out


REPAIRS_SHOWN = 10  # IOB2 repairs listed in the table (file:line)


def format_table(result: dict) -> str:
    """A readable summary of :func:`evaluate_projection`'s result."""
    lines = [
        f"method   {result['method']}  (links {result['links']}; aligner {result['aligner']})",
        f"target   {result['target']}  ({result['sentences']} sentences; sources: {', '.join(result['sources'])})",
        "",
        f"{'class':<8}{'precision':>10}{'recall':>10}{'f1':>10}{'gold':>8}{'pred':>8}",
    ]
    rows = [(k, v) for k, v in result["per_class"].items()] + [("all", result)]
    for name, r in rows:
        lines.append(
            f"{name:<8}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}"
            f"{r.get('gold', r.get('gold_entities', 0)):>8}{r.get('predicted', r.get('predicted_entities', 0)):>8}"
        )
    lines += [
        "",
        f"unprojected source entities {result['unprojected']} of {result['source_entities']}; "
        f"IOB2 repairs in the files {result['repairs']}",
        *(f"  {loc}" for loc in result.get("repair_locations", [])[:REPAIRS_SHOWN]),
        *([f"  ... and {result['repairs'] - REPAIRS_SHOWN} more (--json lists them all)"]
          if result["repairs"] > REPAIRS_SHOWN else []),
        f"{result['seconds']:.1f} s (aligning {result['align_seconds']:.1f} s, projecting {result['project_seconds']:.2f} s); "
        f"peak RSS {result['peak_rss_mb']:.0f} MiB",
    ]
    return "\n".join(lines)
