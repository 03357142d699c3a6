"""Publishing leaderboard results (evaluation records) as a small versioned dataset.

The records (the ``eval_results.json`` format) become one table, config ``default``, split
``train``, with the metrics as columns and ``per_type`` kept as a JSON string; the raw records
are uploaded beside it as ``results.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from silver_ner.leaderboard.scoring import read_results_file
from silver_ner.projection.errors import UserError
from silver_ner.builders.corpora import portable
from silver_ner.publish.cards import PAPER_CITATION, require_valid, size_category, template_path
from silver_ner.publish.hub import RELEASE_FORMAT, RELEASE_MANIFEST, PublishError, ReleaseResult, history_with, hub_errors, open_release, release
from silver_ner.publish.model import RECORD_KEYS
from silver_ner.publish.versions import Version, check_repo_id, parse_version

RESULTS_FILE = "results.json"
COLUMNS = ("system", "model", "dataset", "config", "split", "language", "precision", "recall", "f1", "n_sentences", "per_type")


def read_records(path: str | Path) -> list[dict]:
    """Evaluation records of ``path`` (JSON array, JSON object or JSON lines), read as the leaderboard reads them."""
    return read_results_file(path, required=RECORD_KEYS)


def results_table(records: list[dict]):
    """A ``datasets.Dataset`` with one row per record."""
    from datasets import Dataset, Features, Value

    features = Features({c: Value("float64") if c in ("precision", "recall", "f1") else Value("int64") if c == "n_sentences" else Value("string") for c in COLUMNS})
    rows = {c: [] for c in COLUMNS}
    for r in records:
        for c in COLUMNS:
            if c in ("precision", "recall", "f1"):
                rows[c].append(float(r["metrics"][c]))
            elif c == "per_type":
                rows[c].append(json.dumps(r["metrics"].get("per_type") or {}, sort_keys=True))
            elif c == "n_sentences":
                rows[c].append(int(r.get("n_sentences") or 0))
            else:
                rows[c].append(None if r.get(c) is None else str(r.get(c)))
    return Dataset.from_dict(rows, features=features)


@dataclass
class ResultsPlan:
    repo_id: str
    version: Version
    records: list[dict]
    card: Any
    content: dict
    history_entry: dict
    files: list[str]

    def describe(self) -> str:
        systems = sorted({r["system"] for r in self.records})
        lines = [f"results dataset {self.repo_id} version {self.version} (tag {self.version.tag}): {len(self.records)} records, "
                 f"systems {', '.join(systems)}", "files:"]
        return "\n".join(lines + [f"  {f}" for f in self.files])


def render_results_card(records: list[dict], repo_id: str, version: Version, history: list[dict], license: str,
                        dataset_info: list[dict] | None = None):
    from huggingface_hub import DatasetCard, DatasetCardData

    langs = sorted({r["language"] for r in records if isinstance(r.get("language"), str) and r["language"].isalpha()})
    data = DatasetCardData(
        pretty_name="silver-ner leaderboard results",
        language=langs or None,
        license=license,
        size_categories=[size_category(len(records))],
        task_categories=["token-classification"],
        task_ids=["named-entity-recognition"],
        tags=["leaderboard", "evaluation", "silver-ner"],
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
        dataset_info=dataset_info or [{"config_name": "default", "splits": [{"name": "train", "num_examples": len(records)}]}],
    )
    best = sorted(records, key=lambda r: (r["dataset"], r["config"], r["split"], -r["metrics"]["f1"]))
    return DatasetCard.from_template(
        data, template_path=template_path("results_card_template.md"), repo_id=repo_id, version=str(version),
        tag=version.tag, records=best, history=history, paper_citation=PAPER_CITATION,
    )


def plan_results(path: str | Path, repo_id: str, version: str | Version, *, history: list[dict] | None = None,
                 license: str = "cc-by-4.0") -> ResultsPlan:
    check_repo_id(repo_id)
    version = version if isinstance(version, Version) else parse_version(version)
    records = portable(read_records(path))  # model folders and files by name, never a machine path
    if not records:
        raise UserError(f"{path}: no evaluation records to publish")
    raw = json.dumps(records, sort_keys=True, ensure_ascii=False).encode("utf-8")
    content = {"records": len(records), "sha256": hashlib.sha256(raw).hexdigest()}
    entry = {"version": str(version), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
             "configs": {"records": len(records)}, "silver_ner_version": "-"}
    history = history_with({"history": history or []}, entry)
    card = render_results_card(records, repo_id, version, history, license)
    require_valid(card, "dataset", f"results {repo_id}")
    return ResultsPlan(repo_id, version, records, card, content, entry,
                       ["data/train-00000-of-00001.parquet", RESULTS_FILE, "README.md", RELEASE_MANIFEST])


def publish_results(path: str | Path, repo_id: str, version: str, *, private: bool = False, branch: bool = False,
                    license: str = "cc-by-4.0", token: str | None = None, dry_run: bool = False,
                    revision: str | None = None, commit_message: str | None = None,
                    create_pr: bool = False) -> tuple[ReleaseResult, ResultsPlan]:
    """Publish leaderboard records as version ``version`` of the dataset ``repo_id``.

    ``revision``: the branch to commit to; ``commit_message``: the summary of its commits.
    """
    from huggingface_hub import CommitOperationAdd

    plan = plan_results(path, repo_id, version, license=license)
    v = plan.version
    if dry_run:
        return ReleaseResult(repo_id, "dataset", str(v), v.tag, "dry-run"), plan
    hub, tags, history = open_release(token, repo_id, "dataset", plan.card, plan.history_entry)
    plan.card = render_results_card(plan.records, repo_id, v, history, license)  # the history of the repository

    def upload(revision: str | None) -> str:
        from datasets import DatasetDict

        DatasetDict({"train": results_table(plan.records)}).push_to_hub(
            repo_id, config_name="default", token=hub.token, private=private, revision=revision,
            commit_message=commit_message or f"silver-ner results {v}: table")
        with hub_errors(repo_id, "read the uploaded card"):
            from huggingface_hub import DatasetCard

            head = hub.api.repo_info(repo_id, repo_type="dataset", revision=revision).sha
            text = hub.read_file(repo_id, "dataset", "README.md", head) or b""
            info = DatasetCard(text.decode("utf-8")).data.to_dict().get("dataset_info")
        infos = [info] if isinstance(info, dict) else list(info or [])
        infos = [{"config_name": "default", **i} for i in infos]  # a single config is written without its name
        card = plan.card = render_results_card(plan.records, repo_id, v, history, license, infos)
        require_valid(card, "dataset", f"results {repo_id}")
        manifest = {"format": RELEASE_FORMAT, "kind": "results", "version": str(v), "content": plan.content, "history": history}
        ops = [CommitOperationAdd(RESULTS_FILE, json.dumps(plan.records, indent=1, ensure_ascii=False).encode("utf-8")),
               CommitOperationAdd("README.md", str(card).encode("utf-8")),
               CommitOperationAdd(RELEASE_MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))]
        with hub_errors(repo_id, "commit the results"):
            return hub.api.create_commit(repo_id, ops, repo_type="dataset", parent_commit=head, revision=revision,
                                         commit_message=commit_message or f"silver-ner results {v}: records, card, manifest").oid

    def verify(sha: str) -> None:
        got = hub.read_file(repo_id, "dataset", RESULTS_FILE, sha)
        if got is None or json.loads(got) != plan.records:
            raise PublishError(f"verify {repo_id}@{sha[:12]}: {RESULTS_FILE} differs from the local records")
        manifest = hub.read_json(repo_id, "dataset", RELEASE_MANIFEST, sha) or {}
        if manifest.get("content") != plan.content:
            raise PublishError(f"verify {repo_id}@{sha[:12]}: the release manifest does not match the local records")

    result = release(hub, repo_id=repo_id, repo_type="dataset", version=v, content=plan.content,
                     upload=upload, verify=verify, private=private, branch=branch, tags=tags, card=plan.card,
                     revision=revision, create_pr=create_pr)
    return result, plan

