"""Teacher and student NER training: token classification with transformers' ``Trainer``.

Labels go on the first subword of each word (-100 elsewhere); the label set of the data is
mapped explicitly onto the model's (kept / renamed / dropped types, recorded in the model's
``config.id2label`` and in ``silver_ner_training.json``); tokens are NFC-normalised; seeds are
fixed; checkpoints go to ``<output>/checkpoints`` and training resumes from the newest one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from silver_ner.builders.cache import file_digest
from silver_ner.builders.conll import read_conll
from silver_ner.builders.corpora import portable, sources_of
from silver_ner.builders.manifest import MANIFEST_NAME, read_manifest
from silver_ner.projection.spans import iob2_names, tags_to_spans
from silver_ner.projection.labels import apply_mapping, build_mapping, target_types, types_of_names
from silver_ner.students.labels import nfc
from silver_ner.projection.errors import UserError

log = logging.getLogger(__name__)

TRAINING_FILE = "silver_ner_training.json"
DEFAULT_ENCODER_NAME = "intfloat/multilingual-e5-small"


class TrainingDataError(UserError):
    """Training data that cannot be used (missing split, unknown labels, empty)."""


@dataclass
class TrainingData:
    """Tokenised sentences with IOB2 tags, the data's entity types and where they came from."""

    sentences: list[list[str]]
    tags: list[list[str]]
    source_types: list[str]
    provenance: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sentences)

    def extend(self, other: "TrainingData") -> None:
        self.sentences += other.sentences
        self.tags += other.tags
        self.source_types += [t for t in other.source_types if t not in self.source_types]
        self.provenance += other.provenance




def load_conll_data(path: str | os.PathLike, *, max_sentences: int | None = None) -> TrainingData:
    """Sentences of a CoNLL file (the first ``max_sentences`` when given), NFC-normalised."""
    conll = read_conll(path, normalize="NFC")
    if not conll.sentences:
        raise TrainingDataError(f"{path}: no sentences")
    sents = conll.sentences[:max_sentences] if max_sentences else conll.sentences
    prov = {
        "source": "conll",
        "path": str(Path(path).resolve()),
        "sha256": file_digest(Path(path)),
        "n_sentences": len(sents),
        "n_sentences_available": len(conll.sentences),
        "tag_repairs": len(conll.repairs),
        "sources": _source_names(sources_of({"source": [str(path)]})),  # the corpus (CoNLL-2003, ...) and its licence
    }
    return TrainingData([s.tokens for s in sents], [s.tags for s in sents], conll.labels, [prov])


def _source_names(sources: list[dict]) -> list[dict]:
    """Source records as the training record keeps them: id, name, licence, Hub id, roles (the citation stays in the table)."""
    return [{k: rec[k] for k in ("id", "name", "license", "hub_id", "roles") if k in rec} for rec in sources if isinstance(rec, dict)]


def _tag_names(ds, where: str) -> list[str] | None:
    """ClassLabel names of the ``ner_tags`` column, or ``None`` when the tags are strings."""
    if "tokens" not in ds.column_names or "ner_tags" not in ds.column_names:
        raise TrainingDataError(f"{where}: needs columns 'tokens' and 'ner_tags', has {', '.join(ds.column_names)}")
    feat = ds.features["ner_tags"]
    inner = getattr(feat, "feature", None)
    names = getattr(inner, "names", None)
    if names is None and getattr(inner, "dtype", None) != "string":
        raise TrainingDataError(f"{where}: 'ner_tags' must be a list of ClassLabel or of strings, got {feat}")
    return list(names) if names is not None else None


def _open_split(dataset: str, config: str | None, split: str, revision: str | None):
    """The split of a local build folder (``DIR/<config>``), a saved dataset, or a Hub repo."""
    import datasets

    path = Path(dataset)
    saved = lambda p: (p / "dataset_dict.json").exists() or (p / "state.json").exists()  # noqa: E731
    if path.is_dir() and not (path / MANIFEST_NAME).exists() and not saved(path) and not (config and saved(path / config)):
        # a folder in the Hub repository layout (README configs + data files): same code path as a Hub repo
        return _load_repo(dataset, config, split, revision, local=True)
    if path.exists():
        target = path / config if config and (path / config).is_dir() else path
        if config and target == path and (path / MANIFEST_NAME).exists():
            have = sorted(p.name for p in path.iterdir() if p.is_dir())
            raise TrainingDataError(f"{dataset}: no config {config!r} in this build (configs: {', '.join(have) or 'none'})")
        try:
            loaded = datasets.load_from_disk(str(target))
        except FileNotFoundError as exc:
            raise TrainingDataError(f"{target}: not a dataset saved with save_to_disk ({exc})") from None
        except IndexError:  # datasets cannot reload a split saved with zero rows (no shards)
            raise TrainingDataError(f"{target}: a split of this dataset is empty (saved with no rows) and cannot be loaded") from None
        prov = {"source": "local", "path": str(path.resolve()), "config": config, "split": split}
        manifest = path / MANIFEST_NAME
        if manifest.exists():
            prov["build_manifest_sha256"] = file_digest(manifest)
            try:
                entry = read_manifest(path).configs.get(config)
            except UserError as exc:  # the rows are still usable; the record names no build
                log.warning("%s", exc)
                entry = None
            if entry is not None:
                written = entry.to_dict()
                prov.update({f"build_{k}": written[k] for k in ("fingerprint", "method", "aligner") if k in written})
                if isinstance(entry.sources, list):  # the corpora the build read, with their licences
                    prov["sources"] = _source_names(entry.sources)
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise TrainingDataError(f"{target}: no split {split!r} (splits: {', '.join(loaded)})")
            return loaded[split], prov
        return loaded, prov
    if dataset.startswith((".", "/", "~")) or dataset.count("/") > 1:
        raise FileNotFoundError(f"{dataset}: no such dataset folder")
    return _load_repo(dataset, config, split, revision, local=False)


def _load_repo(repo: str, config: str | None, split: str, revision: str | None, *, local: bool):
    """``datasets.load_dataset(repo, config, revision=..., split=...)`` with the resolved commit recorded."""
    import datasets

    try:
        ds = datasets.load_dataset(repo, config, revision=revision, split=split)
    except ValueError as exc:
        raise TrainingDataError(f"{repo} (config {config!r}, split {split!r}, revision {revision or 'default'}): {exc}") from None
    resolved = revision
    if not local and not os.environ.get("HF_HUB_OFFLINE"):
        try:
            from huggingface_hub import HfApi

            resolved = HfApi().dataset_info(repo, revision=revision).sha
        except Exception:  # not reachable: keep the requested revision
            pass
    info = getattr(ds, "info", None)
    prov = {"source": "local-repo" if local else "hub", "repo": str(Path(repo).resolve()) if local else repo,
            "config": config, "split": split, "revision": resolved,
            "dataset_version": str(getattr(info, "version", "") or "") or None}
    sources = _release_sources(repo, resolved, local=local)
    if sources:
        prov["sources"] = sources
    return ds, prov


def _release_sources(repo: str, revision: str | None, *, local: bool) -> list[dict] | None:
    """The source corpora a published silver dataset names in its release manifest (``None`` when it has none)."""
    try:
        if local:
            path = Path(repo) / "silver_ner_release.json"
        else:
            from huggingface_hub import hf_hub_download

            path = Path(hf_hub_download(repo, "silver_ner_release.json", repo_type="dataset", revision=revision))
        sources = json.loads(path.read_text(encoding="utf-8")).get("sources")
    except Exception:  # noqa: BLE001 - no release manifest (not a silver-ner release) or not reachable
        return None
    return _source_names(sources) if isinstance(sources, list) else None


def load_dataset_data(
    dataset: str,
    configs: Sequence[str | None] = (None,),
    *,
    split: str = "train",
    revision: str | None = None,
    max_sentences: int | None = None,
) -> TrainingData:
    """Sentences of one or several configs of a silver dataset (local build folder or Hub repo).

    ``max_sentences`` caps each config (the first sentences of the split). Sentences with no
    tokens are skipped and counted in the provenance.
    """
    out: TrainingData | None = None
    for config in configs:
        ds, prov = _open_split(dataset, config, split, revision)
        where = f"{dataset}" + (f" config {config}" if config else "") + f" split {split}"
        names = _tag_names(ds, where)
        n_avail = len(ds)
        if n_avail == 0:
            raise TrainingDataError(f"{where}: the split is empty")
        if max_sentences:
            ds = ds.select(range(min(max_sentences, n_avail)))
        sents, tags, empty = [], [], 0
        for row in ds:
            if not row["tokens"]:
                empty += 1
                continue
            t = [names[i] for i in row["ner_tags"]] if names is not None else list(row["ner_tags"])
            if len(t) != len(row["tokens"]):
                raise TrainingDataError(f"{where}: row with {len(row['tokens'])} tokens but {len(t)} tags")
            sents.append(nfc(row["tokens"]))
            tags.append(t)
        if not sents:
            raise TrainingDataError(f"{where}: no sentence with tokens")
        found = types_of_names(names) if names is not None else sorted({x[2:] for ts in tags for x in ts if x != "O"})
        prov.update(n_sentences=len(sents), n_sentences_available=n_avail, skipped_empty=empty)
        part = TrainingData(sents, tags, found, [prov])
        if out is None:
            out = part
        else:
            out.extend(part)
    assert out is not None
    return out


def resolve_base_encoder(name: str | None) -> tuple[str, str]:
    """``(folder to load, name to record)`` for an encoder argument.

    ``None``, ``"default"`` and ``"me5-small"`` mean the offline multilingual-e5-small folder; a
    Hub id is fetched once (:func:`silver_ner.projection.models.resolve_model`).
    """
    if name and Path(name).expanduser().exists():
        path = Path(name).expanduser().resolve()
        return str(path), name
    try:
        from silver_ner.projection.encoder import resolve_encoder
    except ImportError:
        if name in (None, "default", "me5-small"):
            raise UserError("the default encoder (offline multilingual-e5-small) is not available; pass --model PATH") from None
        return name, name
    from silver_ner.projection.models import resolve_model

    resolved = resolve_model(resolve_encoder(name))
    recorded = DEFAULT_ENCODER_NAME if name in (None, "default", "me5-small") else name
    return str(resolved), recorded


@dataclass
class TrainSettings:
    epochs: float = 2.0
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    freeze_embeddings: bool = False
    seed: int = 42
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    save_steps: int = 100
    save_total_limit: int = 2
    logging_steps: int = 25
    max_steps: int = -1
    eval_batch_size: int = 32
    group_by_length: bool = True  # batches of similar lengths: far less padding (about 2.6x fewer subwords on CoNLL)
    # sentences longer than max_length: "truncate" (words past the limit carry no label, counted) or
    # "window" (overlapping windows of whole words, as the tagger reads them; each word labelled once)
    long_sentences: str = "truncate"

    def __post_init__(self):
        _check_long_sentences(self.long_sentences)


LONG_SENTENCES = ("truncate", "window")


def _check_long_sentences(mode: str) -> None:
    if mode not in LONG_SENTENCES:
        raise UserError(f"long_sentences must be one of {', '.join(LONG_SENTENCES)}, got {mode!r}")


def encode_sentences(tokenizer, sentences, tag_ids, max_length: int, long_sentences: str = "truncate") -> tuple[dict, dict]:
    """Subword ids with labels on each word's first subword (-100 on the rest).

    A sentence longer than ``max_length`` subwords is cut (``long_sentences="truncate"``: the
    words past the limit carry no label) or split into overlapping windows of whole words
    (``"window"``: one training row per window, the windows of the tagger; each word is
    labelled in the window where it has the most context and is context elsewhere). Returns the
    encodings and counts: ``truncated_words``, ``windowed_sentences``, ``windows`` (rows of the
    windowed sentences).
    """
    _check_long_sentences(long_sentences)
    stats = {"truncated_words": 0, "windowed_sentences": 0, "windows": 0}
    if long_sentences == "window":
        return _encode_windows(tokenizer, sentences, tag_ids, max_length, stats)
    enc = tokenizer([list(s) for s in sentences], is_split_into_words=True, truncation=True, max_length=max_length)
    labels = []
    for i, ids in enumerate(tag_ids):
        row, prev = [], None
        seen = 0
        for w in enc.word_ids(i):
            if w is None or w == prev:
                row.append(-100)
            else:
                row.append(ids[w])
                seen += 1
            prev = w if w is not None else prev
        stats["truncated_words"] += len(ids) - seen
        labels.append(row)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels}, stats


def _encode_windows(tokenizer, sentences, tag_ids, max_length: int, stats: dict) -> tuple[dict, dict]:
    from silver_ner.builders.tagger import WindowPlanner

    planner = WindowPlanner(tokenizer, max_length=max_length)
    input_ids, labels = [], []
    for plan, ids in zip(planner.plan(sentences), tag_ids):
        if not plan.windows:  # no word gives a subword: the special tokens alone, as truncation gives
            input_ids.append(planner.prefix + planner.suffix)
            labels.append([-100] * len(input_ids[-1]))
            continue
        if len(plan.windows) > 1:
            stats["windowed_sentences"] += 1
            stats["windows"] += len(plan.windows)
        for k, (a, b) in enumerate(plan.windows):
            row = [-100] * len(planner.prefix)
            for i in range(a, b):
                width = plan.bounds[i + 1] - plan.bounds[i]
                if width:
                    row.append(ids[i] if plan.owner[i] == k else -100)
                    row.extend([-100] * (width - 1))
            row = row[: len(planner.prefix) + planner.budget] + [-100] * len(planner.suffix)
            input_ids.append(planner.window_input(plan, (a, b)))
            labels.append(row)
            assert len(row) == len(input_ids[-1])
    return {"input_ids": input_ids, "attention_mask": [[1] * len(x) for x in input_ids], "labels": labels}, stats


def make_compute_metrics(names: Sequence[str], metric=None) -> Callable:
    """A ``compute_metrics`` for ``Trainer``: entity-level scores through the local seqeval module."""
    import numpy as np

    from silver_ner.leaderboard.scoring import load_seqeval

    metric = metric or load_seqeval()

    def compute(eval_pred):
        logits, labels = eval_pred
        preds = np.argmax(logits, axis=-1)
        refs, hyps = [], []
        for p_row, l_row in zip(preds, labels):
            keep = l_row != -100
            refs.append([names[i] for i in l_row[keep]])
            hyps.append([names[i] for i in p_row[keep]])
        res = metric.compute(predictions=hyps, references=refs)
        out = {"precision": res["overall_precision"], "recall": res["overall_recall"], "f1": res["overall_f1"]}
        for k, v in res.items():
            if isinstance(v, dict):
                out[f"f1_{k}"] = v["f1"]
        return out

    return compute


def _progress_callback(batch_size: int, total_steps: int):
    """Log step, loss and throughput at each Trainer log event (to stderr, unbuffered)."""
    from transformers import TrainerCallback

    class ProgressLog(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            self.t0, self.step0 = time.perf_counter(), state.global_step

        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            if "loss" not in logs:
                return
            dt = time.perf_counter() - self.t0
            rate = (state.global_step - self.step0) * batch_size / dt if dt > 0 else 0.0
            log.info("step %d/%d  epoch %.2f  loss %.4f  %.1f sentences/s", state.global_step, total_steps,
                     state.epoch or 0.0, logs["loss"], rate)

    return ProgressLog()


def _latest_checkpoint(folder: Path) -> Path | None:
    cps = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(cps, key=lambda p: int(p.name.split("-")[-1])) if cps else None


def _ignore_words(tag_ids: list[list[int]], source_tags: Sequence[Sequence[str]], ignore_types: Sequence[str]):
    """Set the words of entities of ``ignore_types`` to -100 (no loss: neither an entity nor ``O``).

    Returns the label ids and the number of ignored entities per type. Used for types the model
    does not learn but whose words should not be taught as ``O`` either (e.g. CoNLL-2003 MISC
    nationalities, which become country names in many target languages).
    """
    counts: dict[str, int] = {t: 0 for t in ignore_types}
    if not ignore_types:
        return tag_ids, counts
    out = []
    for ids, tags in zip(tag_ids, source_tags):
        ids = list(ids)
        for sp in tags_to_spans(tags):
            if sp.label in counts:
                counts[sp.label] += 1
                ids[sp.start:sp.end] = [-100] * (sp.end - sp.start)
        out.append(ids)
    return out, counts


def consistently_o_words(sentences: Sequence[Sequence[str]], tag_ids: Sequence[Sequence[int]], o_id: int,
                         min_ratio: float, min_count: int = 5) -> frozenset[str]:
    """Word forms the data labels ``O`` in at least ``min_ratio`` of their ``min_count`` or more occurrences.

    Projection that leaves a word ``O`` again and again across many sentences is evidence that it
    is not an entity in this language (a title such as Igbo ``Maazị`` "Mr", a capitalised common
    noun), even where a model tags it. Words without a label (-100) count as not ``O``.
    """
    if not 0.0 < min_ratio <= 1.0:
        raise UserError(f"the O ratio must be in (0, 1], got {min_ratio}")
    if min_count < 1:
        raise UserError(f"the minimum count must be at least 1, got {min_count}")
    seen: dict[str, list[int]] = {}
    for words, ids in zip(sentences, tag_ids):
        for w, a in zip(words, ids):
            c = seen.setdefault(w, [0, 0])
            c[0] += 1
            c[1] += a == o_id
    return frozenset(w for w, (n, o) in seen.items() if n >= min_count and o >= min_ratio * n)


def mask_disagreements(tag_ids: Sequence[Sequence[int]], sentences: Sequence[Sequence[str]], pred_tags,
                       entity_probs, o_id: int, min_prob: float = 0.0, keep_o: frozenset[str] = frozenset()):
    """The masking rule on given predictions: words labelled ``O`` that are tagged as an entity with an
    entity probability of at least ``min_prob`` become -100, except word forms in ``keep_o``.

    Returns the new label ids and counts (masked words, sentences, hits below ``min_prob``, hits kept
    because their form is in ``keep_o``).
    """
    out, words, sents, below, kept_o = [], 0, 0, 0, 0
    for ids, toks, tags, probs in zip(tag_ids, sentences, pred_tags, entity_probs):
        ids = list(ids)
        hit = [i for i, (a, t) in enumerate(zip(ids, tags)) if a == o_id and t != "O"]
        sure = [i for i in hit if probs[i] >= min_prob]
        below += len(hit) - len(sure)
        masked = [i for i in sure if toks[i] not in keep_o]
        kept_o += len(sure) - len(masked)
        for i in masked:
            ids[i] = -100
        words += len(masked)
        sents += bool(masked)
        out.append(ids)
    return out, {"words": words, "sentences": sents, "below_min_prob": below, "kept_consistent_o": kept_o}


def _mask_where_model_disagrees(tag_ids: list[list[int]], sentences: Sequence[Sequence[str]], o_id: int, model: str,
                                min_prob: float = 0.0, keep_o_ratio: float | None = None, keep_o_min_count: int = 5):
    """Words the data labels ``O`` but ``model`` tags as an entity get -100 (no loss).

    Silver data misses entities (unaligned words, source entities of a type outside the label
    set); teaching those words as ``O`` pulls recall down. The model (typically the teacher,
    applied to the target sentences) points at such words; they are left out of the loss rather
    than relabelled. With ``min_prob`` only words whose entity probability (1 - P(O)) reaches it
    are masked, so that the model's unsure guesses do not silence the data. With ``keep_o_ratio``
    the word forms that the data labels ``O`` in at least that share of their ``keep_o_min_count``
    or more occurrences (:func:`consistently_o_words`) keep their ``O`` wherever they occur.
    Returns the label ids and counts of masked words and sentences.
    """
    from silver_ner.students.predict import load_token_classifier, predict_tags

    if not 0.0 <= min_prob < 1.0:
        raise UserError(f"mask probability threshold must be in [0, 1), got {min_prob}")
    keep_o = (consistently_o_words(sentences, tag_ids, o_id, keep_o_ratio, keep_o_min_count)
              if keep_o_ratio is not None else frozenset())
    loaded = load_token_classifier(model)
    started = time.perf_counter()
    pred = predict_tags(loaded, sentences)
    out, counts = mask_disagreements(tag_ids, sentences, pred.tags, pred.entity_probs, o_id, min_prob, keep_o)
    log.info("masked %d words in %d sentences where %s tags an entity and the data says O (%d below p=%.2f "
             "and %d of consistently-O word forms kept as O)",
             counts["words"], counts["sentences"], model, counts["below_min_prob"], min_prob, counts["kept_consistent_o"])
    record = {"model": str(model), "words": counts["words"], "sentences": counts["sentences"], "min_prob": min_prob,
              "below_min_prob": counts["below_min_prob"], "tagging_time_s": round(time.perf_counter() - started, 1)}
    if keep_o_ratio is not None:
        record.update(keep_o_ratio=keep_o_ratio, keep_o_min_count=keep_o_min_count,
                      consistent_o_word_forms=len(keep_o), kept_consistent_o=counts["kept_consistent_o"])
    return out, record


def _order_like_base_classifier(enc_path: str, names: list[str]) -> list[str]:
    """Label order of a base model that is already a token classifier (e.g. the teacher).

    Fine-tuning it further keeps its classification head only if the labels are the same; a
    different label set is refused rather than silently re-purposing the head's rows.
    """
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(enc_path)
    except (OSError, ValueError):
        return names
    if not any(a.endswith("ForTokenClassification") for a in (getattr(config, "architectures", None) or [])):
        return names
    base = [config.id2label[i] for i in sorted(config.id2label, key=int)]
    if sorted(base) == sorted(names):
        return base
    raise TrainingDataError(
        f"{enc_path}: the base model is a token classifier with labels {', '.join(base)}, but the training "
        f"labels are {', '.join(names)}; pass --labels/--map to match it, or start from a plain encoder")


def train_token_classifier(
    data: TrainingData,
    output_dir: str | os.PathLike,
    *,
    encoder: str | None = None,
    settings: TrainSettings | None = None,
    keep_types: Sequence[str] | None = None,
    renames: dict[str, str | None] | None = None,
    validation: TrainingData | None = None,
    resume: bool = False,
    overwrite: bool = False,
    keep_checkpoints: bool = False,
    role: str = "student",
    show_progress: bool = True,
    ignore_types: Sequence[str] = (),
    mask_model: str | None = None,
    mask_min_prob: float = 0.0,
    mask_keep_o: float | None = None,
    mask_keep_o_min_count: int = 5,
) -> dict:
    """Fine-tune ``encoder`` on ``data`` and save the model, tokenizer and ``silver_ner_training.json``.

    Returns the training record that is also written to the file.
    """
    import torch
    import transformers
    from datasets import Dataset
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from silver_ner.projection.models import pick_device

    settings = settings or TrainSettings()
    out = Path(output_dir)
    ckpt_dir = out / "checkpoints"
    if (out / TRAINING_FILE).exists() and not overwrite:
        raise UserError(f"{out}: already holds a trained model ({TRAINING_FILE}); choose another --output or pass --overwrite")
    last = _latest_checkpoint(ckpt_dir) if ckpt_dir.exists() else None
    if last is not None and not resume and not overwrite:
        raise UserError(f"{out}: holds checkpoints ({last.name}); pass --resume to continue or --overwrite to start again")
    if overwrite and ckpt_dir.exists() and not resume:
        shutil.rmtree(ckpt_dir)
        last = None
    if len(data) == 0:
        raise TrainingDataError("no training sentences")
    if mask_keep_o is not None and not mask_model:
        raise UserError("keeping consistently-O words (mask_keep_o) only applies with a mask model")

    ignore_types = list(dict.fromkeys(ignore_types))
    unknown = [t for t in ignore_types if t not in data.source_types]
    if unknown:
        raise TrainingDataError(f"ignored types {', '.join(unknown)} do not occur in the data (types: {', '.join(data.source_types)})")
    clash = [t for t in ignore_types if t in (renames or {}) or (keep_types and t in keep_types)]
    if clash:
        raise TrainingDataError(f"types {', '.join(clash)} are both ignored and kept or renamed")
    mapping = build_mapping(data.source_types, keep_types, {**(renames or {}), **{t: None for t in ignore_types}})
    types = target_types(mapping, keep_types)
    if not types:
        raise TrainingDataError(f"the label mapping drops every entity type of the data ({', '.join(data.source_types)})")
    names = iob2_names(types)
    mapped = apply_mapping(data.tags, mapping)

    enc_path, enc_name = resolve_base_encoder(encoder)
    base_record = {"name": enc_name, "path": enc_path}
    if encoder and Path(encoder).expanduser().exists():
        base_record["local"] = True  # a folder of this machine, never a Hub id, whatever its name looks like
    start = start_point(enc_path)
    if start is not None:
        base_record["start_point"] = start
    names = _order_like_base_classifier(enc_path, names)
    label2id = {n: i for i, n in enumerate(names)}
    tokenizer = AutoTokenizer.from_pretrained(enc_path)
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(f"{enc_path}: training needs a fast tokenizer (word_ids), got {type(tokenizer).__name__}")
    train_ids, ignored = _ignore_words([[label2id[t] for t in ts] for ts in mapped.tags], data.tags, ignore_types)
    masked = None
    if mask_model:
        train_ids, masked = _mask_where_model_disagrees(train_ids, data.sentences, label2id["O"], mask_model,
                                                     mask_min_prob, mask_keep_o, mask_keep_o_min_count)
    train_enc, long_stats = encode_sentences(tokenizer, data.sentences, train_ids, settings.max_length, settings.long_sentences)
    train_ds = Dataset.from_dict(train_enc)
    eval_ds, val_record = None, None
    if validation is not None and len(validation):
        vmapped = apply_mapping(validation.tags, {t: mapping.get(t) for t in validation.source_types})
        venc, vstats = encode_sentences(tokenizer, validation.sentences, [[label2id[t] for t in ts] for ts in vmapped.tags],
                                        settings.max_length, settings.long_sentences)
        eval_ds = Dataset.from_dict(venc)
        val_record = {"data": validation.provenance, "n_sentences": len(validation), "dropped_entities": dict(vmapped.dropped), "truncated_words": vstats["truncated_words"]}
        if settings.long_sentences == "window":
            val_record["windowed_sentences"] = vstats["windowed_sentences"]

    set_seed(settings.seed)
    model = AutoModelForTokenClassification.from_pretrained(
        enc_path, num_labels=len(names), id2label=dict(enumerate(names)), label2id=label2id
    )
    frozen = 0
    if settings.freeze_embeddings:
        emb = model.get_input_embeddings()
        emb.weight.requires_grad_(False)
        frozen = emb.weight.numel()
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    steps_per_epoch = -(-len(train_ds) // settings.batch_size)
    total_steps = settings.max_steps if settings.max_steps > 0 else int(steps_per_epoch * settings.epochs + 0.999)
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.eval_batch_size,
        warmup_steps=int(total_steps * settings.warmup_ratio),
        weight_decay=settings.weight_decay,
        logging_steps=settings.logging_steps,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        eval_strategy="epoch" if eval_ds is not None else "no",
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=pick_device(None) == "cpu",
        report_to="none",
        disable_tqdm=not show_progress,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if settings.group_by_length else "random",
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(names) if eval_ds is not None else None,
        callbacks=[_progress_callback(settings.batch_size, total_steps)],
    )
    log.info("training %s on %d rows (%s), %d steps, labels %s", enc_name, len(train_ds), ", ".join(types), total_steps, names)
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(last) if (resume and last is not None) else None)
    wall = time.perf_counter() - t0
    eval_metrics = trainer.evaluate() if eval_ds is not None else None

    out.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(out))  # model (safetensors) + tokenizer
    metrics = dict(result.metrics)
    epochs_run = metrics.get("epoch", settings.epochs)
    start_step = int(last.name.split("-")[-1]) if (resume and last is not None) else 0
    sentences_seen = min((int(result.global_step) - start_step) * settings.batch_size, len(train_ds) * settings.epochs)
    record = {
        "role": role,
        "base_encoder": base_record,
        "training_data": data.provenance,
        "n_sentences": len(data),
        "n_words": sum(len(x) for x in data.sentences),
        "validation": val_record,
        "hyperparameters": {k: v for k, v in asdict(settings).items()},
        "labels": {
            "types": types,
            "id2label": {str(i): n for i, n in enumerate(names)},
            "mapping": mapping,
            "dropped_entities": {k: v for k, v in mapped.dropped.items() if k not in ignore_types},
            "renamed_entities": dict(mapped.renamed),
            "ignored_entities": ignored,
        },
        "masked_by_model": masked,
        "truncated_words": long_stats["truncated_words"],
        **({"windowed_sentences": long_stats["windowed_sentences"], "training_rows": len(train_ds)}
           if settings.long_sentences == "window" else {}),
        "frozen_parameters": frozen,
        "trainable_parameters": n_trainable,
        "steps": int(result.global_step),
        "epochs": epochs_run,
        "train_loss": float(result.training_loss),
        "training_time_s": round(wall, 1),
        "sentences_per_s": round(sentences_seen / wall, 2) if wall > 0 else None,
        "resumed_from": last.name if (resume and last is not None) else None,
        "eval": eval_metrics,
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    record = portable(record)  # model folders and files by name or under the data folder, never a machine path
    (out / TRAINING_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not keep_checkpoints and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    return record


START_POINT_DATA_KEYS = ("source", "repo", "path", "config", "split", "revision", "n_sentences", "build_fingerprint",
                         "published", "sources")


def start_point(model_dir: str | os.PathLike) -> dict | None:
    """What a model folder that training starts from was itself trained as, from its ``silver_ner_training.json``
    (``None`` when it has none: a plain encoder).

    ``{"role", "base_encoder", "training_data", "n_sentences", "labels", "created", "training_record_sha256"}``:
    its own ``base_encoder`` (with its start point in turn, so the chain reaches the Hub encoder) and a
    summary of each training data item (where it came from, sentences, the corpora with their licences).
    An unreadable record is a :class:`UserError` naming it.
    """
    path = Path(model_dir) / TRAINING_FILE
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: not a readable training record ({exc})") from None
    if not isinstance(rec, dict):
        raise UserError(f"{path}: a training record is a JSON object")
    items = rec.get("training_data") or []
    items = [items] if isinstance(items, dict) else list(items)
    labels = rec.get("labels") if isinstance(rec.get("labels"), dict) else {}
    return {
        "role": rec.get("role"),
        "base_encoder": rec.get("base_encoder"),
        "training_data": [{k: d[k] for k in START_POINT_DATA_KEYS if k in d} for d in items if isinstance(d, dict)],
        "n_sentences": rec.get("n_sentences"),
        "labels": labels.get("types"),
        "created": rec.get("created"),
        "training_record_sha256": file_digest(path),
    }


def read_training_record(model_dir: str | os.PathLike) -> dict | None:
    """The ``silver_ner_training.json`` of a model folder, or ``None`` when it has none."""
    path = Path(model_dir) / TRAINING_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
