"""Entity-level scores through the local seqeval ``evaluate`` module, label-set alignment
between a model and a gold set, and the ``eval_results.json`` record format.

Record (one per model x gold set)::

    {"system", "model", "dataset", "config", "split", "language",
     "metrics": {"precision", "recall", "f1", "per_type": {TYPE: {"precision", "recall", "f1", "number"}}},
     "n_sentences", "labels": {"scored", "ignored_gold", "ignored_model", ...}}
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from silver_ner.builders.conll import read_conll
from silver_ner.projection.spans import map_labels, spans_to_tags, tags_to_spans

SEQEVAL_MODULE = Path(__file__).resolve().parent / "seqeval_module"
RESULTS_FILE = "eval_results.json"


@functools.lru_cache(maxsize=None)
def load_seqeval():
    """The local seqeval module via ``evaluate.load`` on its folder (no network)."""
    import evaluate

    if not (SEQEVAL_MODULE / "seqeval_module.py").is_file():
        raise FileNotFoundError(f"{SEQEVAL_MODULE}: the seqeval evaluate module is missing from the installation")
    return evaluate.load(str(SEQEVAL_MODULE))


def score_tags(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], *, mode: str = "strict") -> dict:
    """``{"precision", "recall", "f1", "accuracy", "per_type"}`` for IOB2 tag sequences."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predicted sequences but {len(references)} references")
    if not references:
        raise ValueError("nothing to score: no sentences")
    res = load_seqeval().compute(predictions=[list(p) for p in predictions], references=[list(r) for r in references], mode=mode)
    return {
        "precision": res["overall_precision"],
        "recall": res["overall_recall"],
        "f1": res["overall_f1"],
        "accuracy": res["overall_accuracy"],
        "per_type": {k: v for k, v in sorted(res.items()) if isinstance(v, dict)},
    }


@dataclass
class LabelAlignment:
    """How a gold label set and a model label set meet: types scored, and types left out on each side."""

    scored: list[str]
    gold_mapping: dict[str, str | None]
    model_mapping: dict[str, str | None]

    @property
    def ignored_gold(self) -> list[str]:
        return [t for t, v in self.gold_mapping.items() if v is None]

    @property
    def ignored_model(self) -> list[str]:
        return [t for t, v in self.model_mapping.items() if v is None]


def align_label_sets(model_types: Sequence[str], gold_types: Sequence[str], renames: Mapping[str, str | None] | None = None) -> LabelAlignment:
    """Score on the types both sides share (after ``renames`` of gold types onto model types).

    Gold entities of a type the model cannot predict (e.g. DATE for a PER/ORG/LOC model) and
    predictions of a type the gold set does not annotate (e.g. MISC) are left out and listed.
    """
    renames = dict(renames or {})
    unknown = sorted(set(renames) - set(gold_types))
    if unknown:
        raise ValueError(f"--map names gold types the gold set does not have: {', '.join(unknown)} (it has {', '.join(gold_types)})")
    bad = sorted({v for v in renames.values() if v is not None} - set(model_types))
    if bad:
        raise ValueError(f"--map maps onto types the model does not predict: {', '.join(bad)} (model: {', '.join(model_types)})")
    gold_mapping = {}
    for t in gold_types:
        target = renames.get(t, t)
        gold_mapping[t] = target if target in model_types else None
    produced = {v for v in gold_mapping.values() if v is not None}
    model_mapping = {t: (t if t in produced else None) for t in model_types}
    scored = [t for t in model_types if t in produced]
    if not scored:
        raise ValueError(
            f"the model's entity types ({', '.join(model_types)}) and the gold set's ({', '.join(gold_types)}) "
            "have nothing in common; map them with --map GOLD=MODEL"
        )
    return LabelAlignment(scored, gold_mapping, model_mapping)


def restrict_tags(tag_seqs: Iterable[Sequence[str]], mapping: Mapping[str, str | None]) -> tuple[list[list[str]], Counter]:
    """Rewrite tags through ``mapping``; entities of types mapped to ``None`` become ``O`` (counted)."""
    out, removed = [], Counter()
    for tags in tag_seqs:
        spans = tags_to_spans(tags)
        for s in spans:
            if mapping.get(s.label, None) is None:
                removed[s.label] += 1
        out.append(spans_to_tags(map_labels([s for s in spans if s.label in mapping], dict(mapping)), len(tags)))
        # a type absent from the mapping is left out as well (counted above)
    return out, removed


@dataclass
class GoldData:
    """Gold sentences with where they come from."""

    tokens: list[list[str]]
    tags: list[list[str]]
    types: list[str]
    dataset: str
    config: str | None
    split: str | None
    language: str | None
    path: str
    notes: dict = field(default_factory=dict)


def load_gold(spec: str, *, data_root: str | os.PathLike | None = None, language: str | None = None,
              max_sentences: int | None = None) -> GoldData:
    """A gold set from a spec (``masakhaner2:swa:test``, ``wikiann:yor:test``, ``europarl:de``,
    ``conll2003:test``) or a CoNLL file path; tokens NFC-normalised."""
    from silver_ner.builders.gold import read_gold, resolve_gold

    if Path(spec).is_file():
        conll = read_conll(spec, normalize="NFC")
        p = Path(spec)
        gd = GoldData([s.tokens for s in conll.sentences], [s.tags for s in conll.sentences], conll.labels,
                      p.stem, None, p.stem if p.stem in ("train", "dev", "test") else None, language, str(p.resolve()))
        gd.notes["tag_repairs"] = len(conll.repairs)
    else:
        if os.sep in spec or spec.endswith((".txt", ".conll")):
            raise FileNotFoundError(f"{spec}: no such gold file")
        gs = resolve_gold(spec)
        gold = read_gold(gs, data_root, normalize="NFC")
        gd = GoldData([s.tokens for s in gold.sentences], [s.tags for s in gold.sentences], list(gold.label_set),
                      gs.dataset, gs.lang, gs.split, language or gs.lang, gold.path)
        gd.notes["tag_repairs"] = len(gold.repairs)
        if gold.removed:
            gd.notes["removed_by_reader"] = dict(gold.removed)
    if max_sentences:
        gd.tokens, gd.tags = gd.tokens[:max_sentences], gd.tags[:max_sentences]
    if not gd.tokens:
        raise ValueError(f"{gd.path}: the gold set is empty (no sentences)")
    return gd


def make_record(system: str, model: str, gold: GoldData, scores: dict, alignment: LabelAlignment,
                ignored_gold: Mapping[str, int], ignored_pred: Mapping[str, int], **extra) -> dict:
    """One ``eval_results.json`` record."""
    rec = {
        "system": system,
        "model": model,
        "dataset": gold.dataset,
        "config": gold.config,
        "split": gold.split,
        "language": gold.language,
        "metrics": {k: scores[k] for k in ("precision", "recall", "f1", "per_type")},
        "n_sentences": len(gold.tokens),
        "labels": {
            "scored": alignment.scored,
            "ignored_gold": alignment.ignored_gold,
            "ignored_model": alignment.ignored_model,
            "gold_entities_ignored": dict(ignored_gold),
            "predicted_entities_ignored": dict(ignored_pred),
        },
        "gold_path": gold.path,
        "scorer": "seqeval strict IOB2 (silver_ner.leaderboard.seqeval_module)",
    }
    rec.update(gold.notes)
    rec.update(extra)
    return rec


def read_results(path: str | os.PathLike) -> list[dict]:
    """Records of an ``eval_results.json`` (a JSON list); a missing file gives ``[]``."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of evaluation records")
    return data


def append_results(path: str | os.PathLike, records: Sequence[dict]) -> Path:
    """Append records to ``path`` (written to a temporary file and renamed into place)."""
    path = Path(path)
    data = read_results(path) + list(records)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".eval_results.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)
    return path
