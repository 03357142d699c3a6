"""Evaluate a projection method on sentence-parallel gold files.

Gold entities of the source file(s) are projected onto the target sentences through word
links, and the projected spans are compared with the target's own gold spans (entity level,
exact span, every class present in the files). Several source files are combined by
multi-source voting.
"""

from __future__ import annotations

import inspect
import resource
import sys
import time
from typing import Sequence

from silver_ner.builders.conll import ConllFile, check_parallel, read_conll
from silver_ner.projection.candidates import combine_alignments
from silver_ner.projection.methods import NEEDS_CANDIDATES, get_spec
from silver_ner.projection.metrics import span_scores
from silver_ner.projection.multisource import combine
from silver_ner.projection.protocols import Alignment, ProjectionResult


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: ``getrusage``'s ``ru_maxrss``
    survives ``exec``, so a process started by a bigger parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def make_aligner(model: str | None, layer: int | None, method: str, cache_dir: str | None, token_type: str = "word",
                 precision: str = "float32"):
    from silver_ner.projection.aligner import EmbeddingAligner

    kwargs = {"model": model, "method": method, "cache_dir": cache_dir, "token_type": token_type, "precision": precision}
    if layer is not None:
        kwargs["layer"] = layer
    return EmbeddingAligner(**kwargs)


def align_pairs(aligner, pairs, links: Sequence[str], weights: Sequence[float] | None) -> list[Alignment]:
    """Links for every pair; with several link methods, their union weighted per method."""
    if len(links) == 1:
        return aligner.align(pairs)
    per = aligner.align_methods(pairs, methods=tuple(links))
    missing = [m for m in links if m not in per]
    if missing:
        raise ValueError(f"aligner returned no {', '.join(missing)} links")
    return [combine_alignments([per[m][i] for m in links], weights) for i in range(len(pairs))]


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
) -> dict:
    """Project the gold entities of ``sources`` onto ``target`` and score against its gold.

    ``aligner`` (anything with ``align(pairs)``, and ``align_methods(pairs, methods)`` for
    combined links) replaces the embedding aligner built from ``aligner_model`` / ``layer``.
    ``align_method`` overrides the links the method was measured with (``itermax``,
    ``argmax``, ``match``, or several joined by ``+``); ``token_type`` (``word`` or ``bpe``)
    overrides how the method's links were made. ``candidates`` is a CoNLL file of
    target spans for the ``spans-*`` methods (labels ignored).
    """
    t0 = time.perf_counter()
    if not sources:
        raise ValueError("at least one --source file is needed")
    spec = get_spec(method)
    tgt = read_conll(target)
    srcs = [read_conll(p) for p in sources]
    for s in srcs:
        check_parallel(s, tgt)
    cand_file: ConllFile | None = None
    if spec.name in NEEDS_CANDIDATES:
        if candidates is None:
            raise ValueError(f"method {spec.name!r} needs target candidate spans: give --candidates FILE")
        cand_file = read_conll(candidates)
        check_parallel(cand_file, tgt)
    links = tuple(align_method.split("+")) if align_method else spec.links
    weights = spec.link_weights if not align_method else None
    use_layer = layer if layer is not None else spec.layer
    use_tokens = token_type or spec.token_type
    if aligner is None:
        aligner = make_aligner(aligner_model, use_layer, links[0], cache_dir, use_tokens, precision)
    extra = {"candidate_spans": []} if cand_file is not None else {}
    try:
        inspect.signature(spec.func).bind(None, None, None, None, **{**spec.params, **(params or {}), **extra})
    except TypeError as exc:
        raise ValueError(f"method {spec.name!r}: bad parameters {params}: {exc}") from None
    project = spec.bind(**(params or {}))

    t_align = 0.0
    t_project = 0.0
    per_source: list[list[ProjectionResult]] = []
    for src in srcs:
        pairs = []
        for i, (a, b) in enumerate(zip(src.sentences, tgt.sentences)):
            pairs.append((a.tokens, b.tokens))
        t1 = time.perf_counter()
        alignments = align_pairs(aligner, pairs, links, weights)
        t_align += time.perf_counter() - t1
        if len(alignments) != len(pairs):
            raise ValueError(f"aligner returned {len(alignments)} alignments for {len(pairs)} sentence pairs")
        t1 = time.perf_counter()
        results = []
        for i, (a, b) in enumerate(zip(src.sentences, tgt.sentences)):
            extra = {"candidate_spans": cand_file.sentences[i].spans} if cand_file is not None else {}
            results.append(project(a.tokens, a.spans, b.tokens, alignments[i], **extra))
        t_project += time.perf_counter() - t1
        per_source.append(results)

    unprojected = sum(len(r.unprojected) for results in per_source for r in results)
    source_entities = sum(len(s.spans) for src in srcs for s in src.sentences)
    dropped_votes = 0
    if len(per_source) == 1:
        predicted = [r.spans for r in per_source[0]]
    else:
        combined = [combine([res[i] for res in per_source], min_votes=min_votes) for i in range(len(tgt))]
        predicted = [c.spans for c in combined]
        dropped_votes = sum(c.below_min_votes + c.dropped for c in combined)
    scores = span_scores([s.spans for s in tgt.sentences], predicted)
    files = [*srcs, tgt] + ([cand_file] if cand_file is not None else [])
    identity = getattr(aligner, "identity", type(aligner).__name__)
    out = {
        "method": spec.name,
        "params": {k: v for k, v in {**spec.params, **(params or {})}.items()},
        "aligner": identity,
        "links": "+".join(links),
        "token_type": use_tokens,
        "sources": list(sources),
        "target": target,
        "precision": scores["precision"],
        "recall": scores["recall"],
        "f1": scores["f1"],
        "per_class": scores["per_class"],
        "sentences": len(tgt),
        "source_entities": source_entities,
        "gold_entities": scores["gold"],
        "predicted_entities": scores["predicted"],
        "unprojected": unprojected,
        "repairs": sum(len(f.repairs) for f in files),
        "skipped_lines": sum(len(f.skipped) for f in files),
        "seconds": time.perf_counter() - t0,
        "align_seconds": t_align,
        "project_seconds": t_project,
        "peak_rss_mb": peak_rss_mb(),
    }
    if len(per_source) > 1:
        out["min_votes"] = min_votes
        out["spans_left_out_by_voting"] = dropped_votes
    return out


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
        f"{result['seconds']:.1f} s (aligning {result['align_seconds']:.1f} s, projecting {result['project_seconds']:.2f} s); "
        f"peak RSS {result['peak_rss_mb']:.0f} MiB",
    ]
    return "\n".join(lines)
