"""Publishing a trained student model with a generated model card, versioned by tags.

The card is ``ModelCard.from_template`` with a :class:`huggingface_hub.ModelCardData`: base
encoder, training data (repo, revision, config), hyper-parameters, label set, and the
evaluation records of ``eval_results.json`` as ``model-index`` (one ``EvalResult`` per record
and seqeval metric).  A model without evaluation records is published too; its card says so.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from silver_ner.builders.corpora import CORPORA, corpus_name, hub_dataset_id, merge_sources, portable, portable_path
from silver_ner.projection.errors import UserError
from silver_ner.publish.cards import (
    CUSTOM_LICENSE_NAME,
    LICENSE_FLAGS,
    PAPER_CITATION,
    combined_license,
    require_valid,
    source_flags,
    template_path,
)
from silver_ner.publish.hub import RELEASE_FORMAT, RELEASE_MANIFEST, PublishError, ReleaseResult, history_with, hub_errors
from silver_ner.publish.hub import Hub, open_release, read_json_file, release
from silver_ner.publish.versions import Version, check_repo_id, parse_version

EVAL_FILE = "eval_results.json"
TRAINING_FILE = "silver_ner_training.json"
TRAINING_ARGS_FILE = "training_args.json"
MODEL_FILES = (
    "config.json", "generation_config.json", "*.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.txt", "vocab.json", "merges.txt", "*.model", "chat_template.jinja",
    EVAL_FILE, TRAINING_FILE, TRAINING_ARGS_FILE,
)
# JSON files whose machine paths are made portable before pushing; all other files go byte for byte
PORTABLE_FILES = ("config.json", "generation_config.json", EVAL_FILE, TRAINING_FILE, TRAINING_ARGS_FILE)
RECORD_KEYS = ("system", "model", "dataset", "config", "split", "language", "metrics")
METRICS = (("f1", "F1"), ("precision", "Precision"), ("recall", "Recall"))
# encoder names of the project that stand for a Hub model
KNOWN_ENCODERS = {"me5-small": "intfloat/multilingual-e5-small", "default": "intfloat/multilingual-e5-small",
                  "multilingual-e5-small": "intfloat/multilingual-e5-small"}
DEFAULT_MODEL_LICENSE = "cc-by-nc-4.0"




def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()



def check_records(records: Any, where: str) -> list[dict]:
    """Evaluation records (the ``eval_results.json`` list); errors name the file and the record index."""
    if not isinstance(records, list):
        raise UserError(f"{where}: expected a JSON list of evaluation records, got {type(records).__name__}")
    for i, rec in enumerate(records, 1):  # numbered from 1, as the leaderboard's reader does
        if not isinstance(rec, dict):
            raise UserError(f"{where}: record {i} is not an object")
        missing = [k for k in RECORD_KEYS if k not in rec]
        if missing:
            raise UserError(f"{where}: record {i} misses {', '.join(missing)}")
        metrics = rec["metrics"]
        for key, _ in METRICS:
            value = metrics.get(key) if isinstance(metrics, dict) else None
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise UserError(f"{where}: record {i} metrics.{key} must be a number in [0, 1], got {value!r}")
    return records


@dataclass
class ModelFolder:
    path: Path
    files: list[str]
    skipped: list[str]
    config: dict
    records: list[dict]
    training: dict | None
    training_args: dict | None
    extra_files: dict[str, bytes] = field(default_factory=dict)  # files written for the release, not in the folder

    @property
    def labels(self) -> list[str]:
        id2label = self.config.get("id2label") or {}
        return [id2label[k] for k in sorted(id2label, key=lambda k: int(k))]

    def payload(self, name: str) -> bytes:
        """The bytes pushed for file ``name``: the project's records and the model config with every machine path
        made portable (:data:`PORTABLE_FILES`), every other file byte for byte (a tokenizer's vocabulary holds
        strings such as ``</s>`` and base64 tables that only look like paths)."""
        if name in self.extra_files:
            return self.extra_files[name]
        data = (self.path / name).read_bytes()
        if name not in PORTABLE_FILES:
            return data
        try:
            value = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return data
        clean = portable(value)
        return data if clean == value else (json.dumps(clean, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    def content(self) -> dict[str, str]:
        return {f: hashlib.sha256(self.payload(f)).hexdigest() for f in self.files}

    def add_records(self, paths) -> int:
        """Add the records of results files (``eval_results.json`` lists or records JSON lines, as ``silver-ner
        evaluate --results`` writes them) that name this model (``model`` equal to the folder's name); they are
        pushed in ``eval_results.json`` and become the card's ``model-index``. A record already in the folder is
        not added twice. A file with no record of this model is a :class:`UserError`. Returns the number added."""
        from silver_ner.leaderboard.scoring import read_results_file

        name = self.path.resolve().name
        added = 0
        for path in paths:
            mine = [r for r in portable(read_results_file(path, required=RECORD_KEYS)) if Path(str(r["model"])).name == name]
            if not mine:
                raise UserError(f"{path}: no evaluation record names the model {name!r} (records are matched by the "
                                "model folder's name)")
            for rec in mine:
                if rec not in self.records:
                    self.records.append(rec)
                    added += 1
        if added:
            self.extra_files[EVAL_FILE] = (json.dumps(self.records, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            if EVAL_FILE not in self.files:
                self.files.append(EVAL_FILE)
        return added


def load_model_folder(folder: str | Path) -> ModelFolder:
    """Check a ``save_pretrained`` token-classification folder; list the files to push and those skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected a saved token-classification model)")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise UserError(f"{folder}: not a saved model (no config.json)")
    config = read_json_file(config_path)
    archs = config.get("architectures") or []
    if not any(a.endswith("ForTokenClassification") for a in archs):
        raise UserError(f"{config_path}: architectures {archs} has no token-classification head (…ForTokenClassification)")
    if not config.get("id2label"):
        raise UserError(f"{config_path}: no id2label; the label set must be stored in the config")
    files, skipped = [], []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        if "/" not in rel and any(fnmatch.fnmatch(rel, pat) for pat in MODEL_FILES):
            files.append(rel)
        else:
            skipped.append(rel)
    if not any(f.endswith(".safetensors") for f in files):
        raise UserError(f"{folder}: no .safetensors weights (save the model with save_pretrained(safe_serialization=True))")
    if "tokenizer.json" not in files and "tokenizer_config.json" not in files:
        raise UserError(f"{folder}: no tokenizer files (tokenizer.json / tokenizer_config.json); save the tokenizer beside the model")
    records = check_records(read_json_file(folder / EVAL_FILE), str(folder / EVAL_FILE)) if (folder / EVAL_FILE).is_file() else []
    records = portable(records)
    training = portable(read_json_file(folder / TRAINING_FILE)) if (folder / TRAINING_FILE).is_file() else None
    training_args = portable(read_json_file(folder / TRAINING_ARGS_FILE)) if (folder / TRAINING_ARGS_FILE).is_file() else None
    return ModelFolder(folder, files, skipped, config, records, training, training_args)


def _training_data(training: dict | None) -> list[dict]:
    data = (training or {}).get("training_data") or []
    return [data] if isinstance(data, dict) else list(data)


def parse_dataset_repo(text: str) -> tuple[str, str]:
    """``ORG/NAME@REVISION`` → (repo id, revision); a :class:`UserError` naming the option otherwise."""
    repo, sep, revision = str(text).partition("@")
    if not sep or not revision.strip():
        raise UserError(f"--dataset-repo {text!r}: expected ORG/NAME@REVISION, e.g. my-org/silver-ner@v1.0.0")
    check_repo_id(repo)
    return repo, revision.strip()


def link_release(training: dict | None, repo: str, revision: str, release: dict | None) -> dict:
    """The training record with each local build folder that went into the dataset release ``repo@revision``
    marked ``published`` (repo, revision, config, and the release's part it is).

    ``release`` is the release manifest (``silver_ner_release.json``) at that revision: a local item matches
    the part of its config whose build manifest has the item's ``build_manifest_sha256`` (the very folder it
    was trained on), else the config, or part, whose build fingerprint equals its ``build_fingerprint``.
    ``None`` (a dry run: no network) marks every local build item, unchecked. A release holding none of the
    local training data is a :class:`UserError`.
    """
    record = json.loads(json.dumps(training or {}))
    items = _training_data(record)
    local = [d for d in items if d.get("source") == "local"]
    if not local:
        raise UserError(f"--dataset-repo {repo}@{revision}: the model's training record names no local build folder "
                        "(its training data are named as they are)")
    content = (release or {}).get("content") or {}
    matched = 0
    for item in local:
        part = None
        if release is None:
            part = {"checked": False}
        else:
            cfg = content.get(item.get("config")) or {}
            fp, sha = item.get("build_fingerprint"), item.get("build_manifest_sha256")
            candidates = cfg.get("parts") or ([{"build": None, "fingerprint": cfg.get("fingerprint")}] if cfg else [])
            # the very build folder (its manifest's sha256), else a build of the same fingerprint (the same rows)
            found = next((c for c in candidates if sha and c.get("manifest_sha256") == sha), None) or \
                next((c for c in candidates if fp and c.get("fingerprint") == fp), None)
            if found is not None:
                part = {"checked": True, **({"build": found["build"]} if found.get("build") else {})}
        if part is not None:
            item["published"] = {"repo": repo, "revision": revision, "config": item.get("config"), **part}
            matched += 1
    if not matched:
        names = ", ".join(f"{portable_path(str(d.get('path', '?')))} (config {d.get('config')}, build fingerprint "
                          f"{d.get('build_fingerprint', 'not recorded')})" for d in local)
        raise UserError(f"--dataset-repo {repo}@{revision}: the release holds none of the model's training data ({names})")
    record["training_data"] = items
    return record


def _hub_id(name: Any, local: bool = False) -> str | None:
    """The Hub model id an encoder name stands for, or ``None`` (a local folder, a path, nothing)."""
    if local or not isinstance(name, str) or not name:
        return None
    hub_id = KNOWN_ENCODERS.get(name, name)
    if hub_id.count("/") != 1 or hub_id.startswith(("/", ".")) or Path(hub_id).exists():
        return None
    return hub_id


def base_chain(training: dict | None) -> list[dict]:
    """The model's start points, nearest first: its ``base_encoder``, then the ``base_encoder`` each start
    point that silver-ner trained records (a student fine-tuned from a teacher: the teacher folder, then the
    teacher's encoder). Each item: ``{"name", "local", "start_point"}`` as recorded."""
    chain, enc, seen = [], (training or {}).get("base_encoder"), 0
    while enc and seen < 32:  # a record cannot name itself; the bound only guards a hand-made cycle
        enc = {"name": enc} if isinstance(enc, str) else enc
        if not isinstance(enc, dict):
            break
        chain.append(enc)
        start = enc.get("start_point")
        enc = start.get("base_encoder") if isinstance(start, dict) else None
        seen += 1
    return chain


def _base_model(model: ModelFolder, base_model: str | None) -> tuple[str | None, str]:
    """(Hub id for ``base_model`` metadata or None, the name shown in the card).

    ``base_model`` given wins; else the first Hub id along :func:`base_chain` (a student fine-tuned from a
    local teacher folder names the teacher's Hub encoder), else the recorded name or the config's.
    """
    if base_model:
        hub_id = _hub_id(base_model)
        return (hub_id, base_model) if hub_id else (None, portable_path(base_model))
    chain = base_chain(model.training)
    for enc in chain:
        hub_id = _hub_id(enc.get("name"), bool(enc.get("local")))
        if hub_id:
            return hub_id, str(enc["name"])
    recorded = chain[0].get("name") if chain else None
    name = recorded or model.config.get("_name_or_path") or ""
    hub_id = _hub_id(name) if not recorded else None
    if hub_id:
        return hub_id, name
    return None, portable_path(str(name)) if name else "not recorded"


def start_points(training: dict | None) -> list[dict]:
    """For the card: each model the training started from that silver-ner trained, nearest first, as
    ``{"name", "role", "n_sentences", "sources": [known corpus records or recorded ones], "unknown"}``."""
    out = []
    for enc in base_chain(training):
        start = enc.get("start_point")
        if not isinstance(start, dict):
            continue
        sources, unknown = training_sources(start)
        name = str(enc.get("name") or "?")
        out.append({"name": Path(name).name if enc.get("local") else portable_path(name), "role": start.get("role"),
                    "n_sentences": start.get("n_sentences"), "sources": sources, "unknown": unknown})
    return out


def licence_sources(training: dict | None) -> tuple[list[dict], bool]:
    """The sources whose licences bind the model: its own training data's and that of every model it was
    fine-tuned from (a student's weights start as its teacher's, which were learnt from the teacher's data);
    and whether some of that data names no source."""
    sources, unknown = training_sources(training)
    records = list(sources)
    for start in start_points(training):
        records += start["sources"]
        unknown = unknown or start["unknown"]
    return merge_sources([records]), unknown


def _languages(model: ModelFolder, extra: list[str] | None) -> list[str]:
    langs = list(extra or [])
    langs += [d.get("config") for d in _training_data(model.training) if d.get("config")]
    langs += [r.get("language") for r in model.records if r.get("language")]
    return [lang for lang in dict.fromkeys(langs) if isinstance(lang, str) and lang.isalpha() and 2 <= len(lang) <= 3]


def eval_results(records: list[dict]):
    """``EvalResult`` objects (task token-classification, seqeval f1/precision/recall) for the records."""
    from huggingface_hub import EvalResult

    out = []
    for rec in records:
        for key, name in METRICS:
            out.append(EvalResult(
                task_type="token-classification",
                task_name="Named Entity Recognition",
                dataset_type=hub_dataset_id(str(rec["dataset"])),  # a Hub dataset id, so the result links on the Hub
                dataset_name=f"{corpus_name(str(rec['dataset']))} ({rec['config']}, {rec['split']})",
                dataset_config=str(rec["config"]),
                dataset_split=str(rec["split"]),
                metric_type=key,
                metric_name=f"seqeval {name}",
                metric_value=round(float(rec["metrics"][key]), 4),
                metric_config="entity-level, strict IOB2",
            ))
    return out


def training_sources(training: dict | None) -> tuple[list[dict], bool]:
    """The corpora behind the training data (from the training record), and whether some data names none.

    Known corpora are completed from the corpus table (licence terms, restrictions, citation).
    """
    records, unknown = [], False
    for item in _training_data(training):
        recs = item.get("sources")
        if not isinstance(recs, list) or not recs:
            unknown = True
            continue
        for rec in recs:
            if rec.get("roles") and set(rec["roles"]) <= {"reference"}:
                continue  # reference labels the build measured against: not in the training data
            known = CORPORA.get(str(rec.get("id")))
            records.append(known.record() if known else dict(rec))
            unknown = unknown or not records[-1].get("license") or records[-1]["license"] not in LICENSE_FLAGS
    merged = merge_sources([records])
    return [rec for rec in merged if rec.get("license") in LICENSE_FLAGS], unknown


def _model_license(sources: list[dict], unknown: bool) -> str:
    """The most restrictive licence of the training data's sources; data of unknown sources counts as ``cc-by-nc-4.0``."""
    items = [(rec["license"], source_flags(rec)) for rec in sources]
    if unknown or not items:
        items.append((DEFAULT_MODEL_LICENSE, LICENSE_FLAGS[DEFAULT_MODEL_LICENSE]))
    return combined_license(items)


def render_model_card(model: ModelFolder, repo_id: str, version: Version, *, history: list[dict],
                      license: str | None = None, base_model: str | None = None, languages: list[str] | None = None):
    """The model card (``ModelCard.from_template`` on ``cards/model_card_template.md``)."""
    from huggingface_hub import ModelCard, ModelCardData

    hub_base, base_name = _base_model(model, base_model)
    data_items = _training_data(model.training)
    hub_datasets = [d["repo"] for d in data_items if d.get("repo") and d.get("source", "hub") == "hub"]
    hub_datasets += [d["published"]["repo"] for d in data_items if isinstance(d.get("published"), dict)]
    sources, unknown = training_sources(model.training)
    starts = start_points(model.training)
    binding, binding_unknown = licence_sources(model.training)
    license_id = license or _model_license(binding, binding_unknown)
    extra = {}
    if license_id == "other":
        extra = {"license_name": CUSTOM_LICENSE_NAME, "license_details": "Inherited from the training data" + (
            " and the data of the model it was fine-tuned from" if starts else "") + ": " + "; ".join(
            f"{rec['name']}: {rec.get('license_terms') or rec['license']}" for rec in binding)}
    data = ModelCardData(
        model_name=repo_id.split("/")[1],
        language=_languages(model, languages) or None,
        license=license_id,
        library_name="transformers",
        pipeline_tag="token-classification",
        tags=["token-classification", "named-entity-recognition", "silver-ner", "annotation-projection"],
        datasets=list(dict.fromkeys(hub_datasets)) or None,
        base_model=hub_base,
        metrics=["seqeval"],
        eval_results=eval_results(model.records) or None,
        **extra,
    )
    hyper = dict((model.training or {}).get("hyperparameters") or {})
    if not hyper and model.training_args:
        keys = ("learning_rate", "num_train_epochs", "per_device_train_batch_size", "warmup_ratio", "weight_decay", "seed", "max_steps")
        hyper = {k: model.training_args[k] for k in keys if k in model.training_args}
    records = [{**r, "per_type": (r["metrics"].get("per_type") or {})} for r in model.records]
    return ModelCard.from_template(
        data,
        template_path=template_path("model_card_template.md"),
        repo_id=repo_id,
        title=repo_id.split("/")[1],
        version=str(version),
        tag=version.tag,
        base_name=base_name,
        hub_base=hub_base,
        training_data=data_items,
        n_sentences=(model.training or {}).get("n_sentences"),
        hyperparameters=hyper,
        labels=model.labels,
        records=records,
        history=history,
        license_id=license_id,
        sources=sources,
        unknown_sources=unknown,
        start_points=starts,
        paper_citation=PAPER_CITATION,
        source_citations=list(dict.fromkeys(rec["citation"] for rec in binding if rec.get("citation"))),
    )


@dataclass
class ModelPlan:
    repo_id: str
    version: Version
    model: ModelFolder
    card: Any
    content: dict
    history_entry: dict
    files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        m = self.model
        lines = [f"model {self.repo_id} version {self.version} (tag {self.version.tag}), licence {self.card.data.license}",
                 f"labels: {', '.join(m.labels)}"]
        for d in _training_data(m.training):
            pub = d.get("published")
            if isinstance(pub, dict):
                how = "checked against its release manifest" if pub.get("checked") else "not checked: dry run, no network"
                lines.append(f"training data {portable_path(str(d.get('path', '?')))} (config {d.get('config')}) named as "
                             f"{pub['repo']}@{pub['revision']} config {pub.get('config')} ({how})")
        lines += [
                 f"evaluation records: {len(m.records)}" + ("" if m.records else " (the card says the model was not evaluated)"),
                 "files:"]
        lines += [f"  {f}" for f in self.files]
        if m.skipped:
            lines.append(f"not pushed ({len(m.skipped)}): " + ", ".join(m.skipped))
        return "\n".join(lines)


def plan_model(folder: str | Path, repo_id: str, version: str | Version, *, history: list[dict] | None = None,
               license: str | None = None, base_model: str | None = None, languages: list[str] | None = None,
               dataset_repo: str | None = None, dataset_release: dict | None = None,
               results: list[str | Path] | None = None) -> ModelPlan:
    """Check the folder, render and check the card, list the files; no network.

    ``dataset_repo`` (``ORG/NAME@REVISION``): the dataset release that holds the model's local training
    builds, checked against ``dataset_release`` (its release manifest; ``None``: not checked).
    """
    from datetime import datetime, timezone

    check_repo_id(repo_id)
    version = version if isinstance(version, Version) else parse_version(version)
    model = load_model_folder(folder)
    if results:
        model.add_records(results)
    if dataset_repo:
        model.training = link_release(model.training, *parse_dataset_repo(dataset_repo), dataset_release)
    content = model.content()
    best = max((r["metrics"]["f1"] for r in model.records), default=None)
    entry = {"version": str(version), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
             "configs": {"eval records": len(model.records)} | ({"best f1": round(best, 4)} if best is not None else {}),
             "silver_ner_version": (model.training or {}).get("silver_ner_version", "unknown")}
    history = history_with({"history": history or []}, entry)
    card = render_model_card(model, repo_id, version, history=history, license=license, base_model=base_model, languages=languages)
    require_valid(card, "model", f"model {repo_id}", sources=licence_sources(model.training)[0])
    return ModelPlan(repo_id, version, model, card, content, entry, model.files + ["README.md", RELEASE_MANIFEST])


def publish_model(folder: str | Path, repo_id: str, version: str, *, private: bool = False, branch: bool = False,
                  license: str | None = None, base_model: str | None = None, languages: list[str] | None = None,
                  token: str | None = None, dry_run: bool = False, revision: str | None = None,
                  commit_message: str | None = None, create_pr: bool = False,
                  dataset_repo: str | None = None, results: list[str | Path] | None = None) -> tuple[ReleaseResult, ModelPlan]:
    """Publish a trained student as version ``version`` of ``repo_id`` (one commit, verified, then tagged).

    ``revision``: the branch to commit to; ``commit_message``: the commit's summary; ``dataset_repo``
    (``ORG/NAME@REVISION``): the dataset release that holds the local build folders the model was trained
    on, read from the Hub and named in the card for the builds it holds (see :func:`link_release`);
    ``results``: results files (leaderboard records) whose records of this model (``model`` equal to the
    folder's name) join its ``eval_results.json`` (see :meth:`ModelFolder.add_records`).
    """
    from huggingface_hub import CommitOperationAdd

    opts = dict(license=license, base_model=base_model, languages=languages, dataset_repo=dataset_repo, results=results)
    plan = plan_model(folder, repo_id, version, **opts)
    v = plan.version
    if dry_run:
        return ReleaseResult(repo_id, "model", str(v), v.tag, "dry-run"), plan
    if dataset_repo:  # check the release now: the card names it only for the builds it holds
        data_repo, data_revision = parse_dataset_repo(dataset_repo)
        manifest = Hub(token).read_json(data_repo, "dataset", RELEASE_MANIFEST, data_revision)
        if not manifest:
            raise UserError(f"--dataset-repo {dataset_repo}: no {RELEASE_MANIFEST} at {data_revision} "
                            "(not a dataset released by silver-ner publish dataset)")
        opts["dataset_release"] = manifest
        plan = plan_model(folder, repo_id, version, **opts)
    hub, tags, history = open_release(token, repo_id, "model", plan.card, plan.history_entry)
    card = plan.card = render_model_card(plan.model, repo_id, v, history=history, license=license, base_model=base_model,
                                         languages=languages)
    require_valid(card, "model", f"model {repo_id}", sources=licence_sources(plan.model.training)[0])

    def upload(revision: str | None) -> str:
        manifest = {"format": RELEASE_FORMAT, "kind": "model", "version": str(v), "content": plan.content, "history": history}
        ops = [CommitOperationAdd(f, plan.model.payload(f)) for f in plan.model.files]
        ops += [CommitOperationAdd("README.md", str(card).encode("utf-8")),
                CommitOperationAdd(RELEASE_MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))]
        with hub_errors(repo_id, "upload the model"):
            info = hub.api.create_commit(repo_id, ops, repo_type="model", revision=revision,
                                         commit_message=commit_message or f"silver-ner {v}: model and card")
        return info.oid

    def verify(sha: str) -> None:
        remote = hub.tree(repo_id, "model", sha)
        for f in plan.model.files:
            entry = remote.get(f)
            if entry is None:
                raise PublishError(f"verify {repo_id}@{sha[:12]}: {f} is missing after the upload")
            if entry.lfs is not None:
                ok = entry.lfs.sha256 == plan.content[f]
            else:
                ok = entry.blob_id == git_blob_sha(plan.model.payload(f))
            if not ok:
                raise PublishError(f"verify {repo_id}@{sha[:12]}: {f} differs from the local file")

    result = release(hub, repo_id=repo_id, repo_type="model", version=v, content=plan.content,
                     upload=upload, verify=verify, private=private, branch=branch, tags=tags, card=card, revision=revision,
                     create_pr=create_pr)
    return result, plan
