"""Scoring a token-classification model on gold sets: run the model in batches (the project's one
tagger, through :func:`~silver_ner.students.predict.predict_tags`: long sentences windowed, never
truncated), align label sets, score through the local seqeval module, and append records to
``eval_results.json``."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Sequence

from silver_ner.projection.errors import UserError
from silver_ner.leaderboard.scoring import RESULTS_FILE, append_results, load_gold, make_record, score_tags
from silver_ner.projection.labels import align_label_sets, order_types, parse_renames, restrict_tags
from silver_ner.students.predict import load_token_classifier, predict_tags

log = logging.getLogger(__name__)


def evaluate_model(
    model: str | os.PathLike,
    gold_specs: Sequence[str],
    *,
    data_root: str | os.PathLike | None = None,
    revision: str | None = None,
    renames: Sequence[str] | dict | None = None,
    system: str | None = None,
    language: str | None = None,
    batch_size: int = 32,
    max_sentences: int | None = None,
    results_file: str | os.PathLike | None = "auto",
) -> list[dict]:
    """One record per gold set. ``results_file="auto"`` appends to ``MODEL/eval_results.json``
    when the model is a local folder (and writes nothing for a Hub id); ``None`` writes nothing."""
    if not gold_specs:
        raise UserError("no gold set given (--gold)")
    renames = parse_renames(renames) if not isinstance(renames, dict) else renames
    # the gold sets (small files) before the model, so a wrong spec or path is reported at once
    golds = [load_gold(spec, data_root=data_root, language=language, max_sentences=max_sentences) for spec in gold_specs]
    loaded = load_token_classifier(model, revision=revision)
    local = Path(model).is_dir()
    name = system or (Path(model).resolve().name if local else str(model))
    records = []
    for spec, gold in zip(gold_specs, golds):
        alignment = align_label_sets(loaded.types, gold.types, {k: v for k, v in renames.items() if k in gold.types})
        refs, ignored_gold = restrict_tags(gold.tags, alignment.gold_mapping)
        t0 = time.perf_counter()
        pred = predict_tags(loaded, gold.tokens, batch_size=batch_size)
        secs = time.perf_counter() - t0
        hyps, ignored_pred = restrict_tags(pred.tags, alignment.model_mapping)
        scores = score_tags(hyps, refs)
        rec = make_record(
            name, str(model) if not local else str(Path(model).resolve()), gold, scores, alignment, ignored_gold, ignored_pred,
            spec=spec, revision=revision, windowed_sentences=len(pred.windowed_sentences),
            untagged_words=pred.untagged_words, tagging_time_s=round(secs, 2),
        )
        log.info("%s on %s: F1 %.4f (%d sentences, %.1f s)", name, spec, scores["f1"], len(gold.tokens), secs)
        records.append(rec)
    if results_file == "auto":
        results_file = Path(model) / RESULTS_FILE if local else None
    if results_file is not None:
        append_results(results_file, records)
    return records


def format_records(records: Sequence[dict]) -> str:
    """A plain-text table of records, with the types left out of the scores."""
    types = []
    for r in records:
        types += [t for t in r["metrics"]["per_type"] if t not in types]
    types = order_types(types)
    head = ["gold", "lang", "sents", "P", "R", "F1"] + [f"F1 {t}" for t in types]
    rows = [head]
    for r in records:
        pt = r["metrics"]["per_type"]
        rows.append([r.get("spec") or r["dataset"], r["language"] or "-", str(r["n_sentences"]),
                     f"{r['metrics']['precision']:.4f}", f"{r['metrics']['recall']:.4f}", f"{r['metrics']['f1']:.4f}"]
                    + [f"{pt[t]['f1']:.4f}" if t in pt else "-" for t in types])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    notes = []
    for r in records:
        lab = r["labels"]
        bits = []
        if lab["ignored_gold"]:
            bits.append(f"gold types not scored: {', '.join(lab['ignored_gold'])} "
                        f"({sum(lab['gold_entities_ignored'].values())} gold entities)")
        if lab["ignored_model"]:
            bits.append(f"model types not scored: {', '.join(lab['ignored_model'])} "
                        f"({sum(lab['predicted_entities_ignored'].values())} predictions)")
        if r.get("truncated_words"):  # records written before long sentences were windowed
            bits.append(f"{r['truncated_words']} words past the model's length limit tagged O")
        if r.get("windowed_sentences"):
            bits.append(f"{r['windowed_sentences']} sentences longer than the model's length limit tagged in windows")
        if r.get("untagged_words"):
            bits.append(f"{r['untagged_words']} words without any subword tagged O")
        if bits:
            notes.append(f"{r.get('spec') or r['dataset']}: " + "; ".join(bits))
    return "\n".join(lines + ([""] + notes if notes else []))
