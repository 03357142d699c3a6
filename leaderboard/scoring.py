"""Entity-level scores through the local seqeval ``evaluate`` module, gold sets, and the
``eval_results.json`` record format (label-set alignment between a model and a gold set:
:func:`silver_ner.projection.labels.align_label_sets`).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from silver_ner.builders.conll import read_conll
from silver_ner.projection.errors import UserError
from silver_ner.projection.labels import LabelAlignment

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

    if Path(spec).exists():  # a file, or a folder the reader refuses by name
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
        raise UserError(f"{gd.path}: the gold set is empty (no sentences)")
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


# keys every evaluation record carries (``model`` and ``config`` too, but the table needs neither)
RECORD_KEYS = ("system", "dataset", "split", "language", "metrics")
RECORD_METRICS = ("f1", "precision", "recall")


def parse_results_text(text: str, where: str, *, lenient: bool = False,
                       lines: bool = False) -> list[tuple[str, object]] | None:
    """The candidate records of a results file's text, each with its place: ``(where, item)``.

    Accepted: a JSON array of records (``eval_results.json``), a JSON object (one record, or an
    object whose ``records`` holds them, like ``leaderboard.json``) and JSON lines, one record
    a line (``results.jsonl``; ``lines`` reads the text as JSON lines even when it is a single
    line, as for a ``.jsonl`` file). Records are numbered from 1; the
    place is ``FILE: record N``, or ``FILE:LINE: record N`` for JSON lines (blank lines are not
    records). ``lenient``: valid JSON that holds no evaluation records at all (another kind of
    JSON file) gives ``None`` instead of an error; invalid JSON is an error either way. An empty
    file holds no records.
    """
    if not text.strip():
        return []
    try:
        if lines:
            raise json.JSONDecodeError("Extra data", text, 0)
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise UserError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        out = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{where}:{lineno}: not valid JSON ({exc.msg})") from None
            out.append((f"{where}:{lineno}: record {len(out) + 1}", item))
        return None if lenient and not _any_record(out) else out
    if isinstance(data, dict):
        if "records" in data:
            data = data["records"]
            if not isinstance(data, list):
                raise UserError(f"{where}: \"records\" must be a JSON array, got {type(data).__name__}")
        elif "metrics" in data or "system" in data:
            data = [data]
        elif lenient:
            return None
        else:
            raise UserError(f'{where}: neither an evaluation record nor an object with "records" '
                            f"(keys: {', '.join(list(data)[:6]) or 'none'})")
    if not isinstance(data, list):
        if lenient:
            return None
        raise UserError(f"{where}: expected evaluation records (a JSON array, a JSON object or JSON lines), "
                        f"got {type(data).__name__}")
    out = [(f"{where}: record {i}", item) for i, item in enumerate(data, 1)]
    return None if lenient and out and not _any_record(out) else out


def _any_record(located: list[tuple[str, object]]) -> bool:
    return any(isinstance(item, dict) and "metrics" in item for _, item in located)


def check_record(item: object, where: str, required: Sequence[str] = ()) -> dict:
    """``item`` if it is an evaluation record (keys, metrics in [0, 1]); a UserError naming ``where`` otherwise."""
    if not isinstance(item, dict):
        raise UserError(f"{where} is not a JSON object")
    missing = [k for k in (*RECORD_KEYS, *(k for k in required if k not in RECORD_KEYS)) if k not in item]
    if missing:
        raise UserError(f"{where} lacks {', '.join(missing)}")
    if not isinstance(item["system"], str) or not item["system"]:
        raise UserError(f"{where} system must be a non-empty string, got {item['system']!r}")
    if not isinstance(item["dataset"], str) or not item["dataset"]:
        raise UserError(f"{where} dataset must be a non-empty string, got {item['dataset']!r}")
    metrics = item["metrics"]
    if not isinstance(metrics, dict):
        raise UserError(f"{where} metrics must be an object, got {type(metrics).__name__}")
    for key in RECORD_METRICS:
        value = metrics.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise UserError(f"{where} metrics.{key} must be a number in [0, 1], got {value!r}")
    return item


def read_results_located(path: str | os.PathLike, *, required: Sequence[str] = (),
                         lenient: bool = False) -> list[tuple[str, dict]] | None:
    """Checked records of a results file with their places (see :func:`parse_results_text`)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such results file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    located = parse_results_text(text, str(path), lenient=lenient, lines=path.suffix == ".jsonl")
    if located is None:
        return None
    return [(where, check_record(item, where, required)) for where, item in located]


def read_results_file(path: str | os.PathLike, *, required: Sequence[str] = ()) -> list[dict]:
    """The evaluation records of a results file: JSON array, JSON object or JSON lines.

    The one reader of results files (the leaderboard, ``publish results``, the experiment
    summaries). A malformed file or record raises :class:`UserError` naming the file and the
    record (numbered from 1; with the line for JSON lines). ``required`` adds keys to demand.
    """
    return [rec for _, rec in read_results_located(path, required=required)]


def read_results(path: str | os.PathLike) -> list[dict]:
    """Records of an ``eval_results.json`` (a JSON list); a missing file gives ``[]``."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list of evaluation records")
    return data


RECORD_IDENTITY = ("system", "model", "dataset", "config", "split", "language")


def append_results(path: str | os.PathLike, records: Sequence[dict]) -> Path:
    """Add records to ``path`` (written to a temporary file and renamed into place). A record of the same
    system, model, dataset, config, split and language as one already there replaces it (in its place): scoring
    a model again, e.g. after retraining it, updates its row instead of adding a second one.

    Machine paths in the records are made portable (:func:`~silver_ner.builders.corpora.portable`):
    a model folder by its name, a gold file by its path under the data folder.
    """
    from silver_ner.builders.corpora import portable

    path = Path(path)

    def identity(r: dict) -> tuple:
        return tuple(str(r.get(k)) for k in RECORD_IDENTITY)

    new = [portable(r) for r in records]
    newest = {identity(r): r for r in new}
    data, placed = [], set()
    for r in read_results(path):
        key = identity(r)
        if key in newest:
            if key not in placed:
                data.append(newest[key])
                placed.add(key)
        else:
            data.append(r)
    data += [r for r in new if identity(r) not in placed and newest[identity(r)] is r]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".eval_results.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)
    return path
