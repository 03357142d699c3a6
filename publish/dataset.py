"""Publishing a built silver dataset: one Hub config per target language, versioned by tags.

``load_built_dataset`` checks a folder written by ``silver-ner build``; ``plan_dataset`` renders
the card and lists what would be pushed (no network); ``publish_dataset`` pushes each language
with ``DatasetDict.push_to_hub(repo, config_name=lang)``, writes the final card and the release
manifest in one last commit, verifies that commit and only then tags it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from silver_ner.builders.corpora import configs_yaml, merge_sources, portable, portable_path, sources_of
from silver_ner.builders.manifest import MANIFEST_NAME, read_manifest
from silver_ner.projection.errors import UserError
from silver_ner.publish.cards import (
    CUSTOM_LICENSE_NAME,
    LICENSE_FLAGS,
    PAPER_CITATION,
    combined_license,
    require_valid,
    size_category,
    source_flags,
    template_path,
)
from silver_ner.publish.hub import RELEASE_FORMAT, RELEASE_MANIFEST, Hub, PublishError, ReleaseResult
from silver_ner.publish.hub import history_with, hub_errors, open_release, release
from silver_ner.publish.versions import Version, check_repo_id, parse_version

SPLITS = ("train", "validation")
MAX_SHARD_BYTES = 500 * 1024 * 1024  # the datasets default shard size


@dataclass
class BuiltConfig:
    lang: str
    meta: dict[str, Any]
    data: Any  # datasets.DatasetDict

    @property
    def splits(self) -> list[str]:
        """The splits this config has, in :data:`SPLITS` order (a build writes only the splits that got rows)."""
        return [split for split in SPLITS if split in self.data]

    @property
    def num_rows(self) -> dict[str, int]:
        return {split: self.data[split].num_rows for split in self.splits}

    def num_shards(self) -> dict[str, int]:
        return {split: max(1, math.ceil(self.data[split].data.nbytes / MAX_SHARD_BYTES)) for split in self.splits}

    def data_files(self) -> list[str]:
        return [f"{self.lang}/{split}-{i:05d}-of-{n:05d}.parquet" for split, n in self.num_shards().items() for i in range(n)]

    def content_hash(self) -> str:
        """sha256 over the features and every row of every split (stable across saves and machines)."""
        h = hashlib.sha256()
        h.update(json.dumps(self.data[self.splits[0]].features.to_dict(), sort_keys=True).encode())
        for split in self.splits:
            h.update(f"\0split:{split}\0".encode())
            for batch in self.data[split].with_format("arrow").iter(batch_size=1000):
                h.update(json.dumps(batch.to_pylist(), sort_keys=True, ensure_ascii=False).encode())
        return h.hexdigest()


@dataclass
class BuiltDataset:
    path: Path
    meta: dict[str, Any]
    configs: dict[str, BuiltConfig]

    @property
    def sources(self) -> list[dict]:
        """Every source corpus of the build, one record each, as the manifest names them."""
        return merge_sources(config_sources(c.meta) for c in self.configs.values())

    def with_source_license(self, license_id: str | None) -> "BuiltDataset":
        """Declare the licence of the user sources whose licence the build did not record."""
        if license_id:
            for cfg in self.configs.values():
                for meta in [cfg.meta] + list(cfg.meta.get("parts") or []):  # an assembled config's parts too
                    meta["sources"] = [{**rec, "license": rec.get("license") or license_id} for rec in config_sources(meta)]
        return self

    @property
    def data_sources(self) -> list[dict]:
        """The sources the rows come from: all but those used only as reference labels to measure quality."""
        return [rec for rec in self.sources if in_data(rec)]

    def check_sources(self) -> None:
        """Refuse a build whose data sources lack a licence, or name one that is not a Hub licence id."""
        where = self.path / MANIFEST_NAME
        sources = self.data_sources
        if not sources:
            raise UserError(f"{where}: the build records no source files (in-memory pairs); "
                            "declare the licence of its data with --source-license ID")
        missing = [rec["name"] for rec in sources if not rec.get("license")]
        if missing:
            raise UserError(f"{where}: no licence recorded for the source file(s) {', '.join(missing)}; "
                            "declare it with --source-license ID (e.g. cc-by-4.0) when building or publishing")
        bad = [f"{rec['name']}: {rec['license']!r}" for rec in sources if rec["license"] not in LICENSE_FLAGS]
        if bad:
            raise UserError(f"{where}: source licence {'; '.join(bad)} is not a Hub licence id "
                            f"({', '.join(sorted(LICENSE_FLAGS))})")

    @property
    def license(self) -> str:
        """The most restrictive licence of the sources (see :func:`~silver_ner.publish.cards.combined_license`)."""
        return combined_license([(rec["license"], source_flags(rec)) for rec in self.data_sources])


def in_data(record: dict) -> bool:
    """Whether a source's text or labels are in the rows (not only a reference to measure against)."""
    roles = record.get("roles") or []
    return not roles or any(role != "reference" for role in roles)


def config_sources(cmeta: dict) -> list[dict]:
    """A config's ``sources``; for a manifest written before builds recorded them, found from its files."""
    if isinstance(cmeta.get("sources"), list):
        return cmeta["sources"]
    files: dict[str, list[str]] = {}
    for role, key in (("source", "source"), ("target", "target_source")):
        files[role] = [f for f in ((cmeta.get(key) or {}).get("files") or []) if isinstance(f, str)]
    ref = cmeta.get("reference")
    if isinstance(ref, dict) and isinstance(ref.get("file"), str):
        files["reference"] = [ref["file"]]
    return sources_of(files)



def load_built_dataset(folder: str | Path) -> BuiltDataset:
    """Open and check a folder written by ``silver-ner build``; errors name the file and the problem."""
    from datasets import ClassLabel, DatasetDict, List, Sequence, load_from_disk

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected a built silver dataset)")
    manifest = read_manifest(folder)  # the file, its format, configs and their required keys
    manifest_path = folder / MANIFEST_NAME
    meta = manifest.to_dict()
    configs = {}
    for lang, entry in manifest.configs.items():
        where = f"{manifest_path}: config {lang!r}"
        cmeta = meta["configs"][lang]
        data_dir = folder / entry.path
        if not data_dir.is_dir():
            raise FileNotFoundError(f"{where}: data folder {data_dir} does not exist")
        try:
            data = load_from_disk(str(data_dir))
        except Exception as exc:  # noqa: BLE001 - datasets raises several kinds
            raise UserError(f"{data_dir}: cannot be loaded with load_from_disk ({exc})") from exc
        want_splits = entry.splits or [s for s in SPLITS if s in entry.num_rows]
        if not isinstance(data, DatasetDict) or set(data) != set(want_splits) or not set(data) <= set(SPLITS) or not data:
            got = sorted(data) if isinstance(data, DatasetDict) else type(data).__name__
            raise UserError(f"{data_dir}: expected splits {list(want_splits)} (of {', '.join(SPLITS)}), found {got}")
        for split in data:
            feats = data[split].features
            for col in ("id", "tokens", "ner_tags"):
                if col not in feats:
                    raise UserError(f"{data_dir}/{split}: column {col!r} is missing")
            tags = feats["ner_tags"]
            inner = getattr(tags, "feature", None) if isinstance(tags, (List, Sequence)) else None
            if not isinstance(inner, ClassLabel):
                raise UserError(f"{data_dir}/{split}: ner_tags must be a list of ClassLabel, got {tags}")
            if list(inner.names) != list(entry.label_names):
                raise UserError(f"{data_dir}/{split}: ner_tags names {inner.names} differ from label_names {entry.label_names} in {manifest_path}")
            want = entry.num_rows.get(split)
            if want is not None and want != data[split].num_rows:
                raise UserError(f"{data_dir}/{split}: {data[split].num_rows} rows, but {manifest_path} says {want}")
        configs[lang] = BuiltConfig(lang, cmeta, data)
    return BuiltDataset(folder, meta, configs)


def _config_yaml(cfg: BuiltConfig) -> dict:
    return configs_yaml({cfg.lang: cfg.splits})[0]


def _local_dataset_info(cfg: BuiltConfig) -> dict:
    """``dataset_info`` as far as it is known before the upload (sizes come from the Hub after it)."""
    return {
        "config_name": cfg.lang,
        "features": cfg.data[cfg.splits[0]].features._to_yaml_list(),
        "splits": [{"name": s, "num_bytes": cfg.data[s].data.nbytes, "num_examples": cfg.data[s].num_rows} for s in cfg.splits],
    }


def _citations(built: BuiltDataset) -> list[str]:
    """The citations of exactly the corpora the build read."""
    return list(dict.fromkeys(rec["citation"] for rec in built.sources if rec.get("citation")))


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return portable(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_describe(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, (list, tuple)):
        return ", ".join(_describe(v) for v in value)
    return str(value)


@dataclass
class DatasetPlan:
    """Everything a dataset publish would do, computed without network."""

    repo_id: str
    version: Version
    built: BuiltDataset
    card: Any  # huggingface_hub.DatasetCard
    license: str
    content: dict
    history_entry: dict
    files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"dataset {self.repo_id} version {self.version} (tag {self.version.tag}), licence {self.license}", "configs:"]
        for lang, cfg in self.built.configs.items():
            rows = ", ".join(f"{s} {n}" for s, n in cfg.num_rows.items())
            lines.append(f"  {lang}: {rows}; load_dataset({self.repo_id!r}, {lang!r}, revision={self.version.tag!r})")
        lines.append("files:")
        lines += [f"  {f}" for f in self.files]
        return "\n".join(lines)


def _card_data(built: BuiltDataset, license_id: str, dataset_info: list[dict], pretty_name: str | None):
    from huggingface_hub import DatasetCardData

    langs = list(built.configs)
    total = sum(sum(c.num_rows.values()) for c in built.configs.values())
    extra: dict[str, Any] = {}
    if license_id == "other":
        extra["license_name"] = CUSTOM_LICENSE_NAME
        extra["license_details"] = "Inherited from the sources: " + "; ".join(
            f"{rec['name']}: {rec.get('license_terms') or rec['license']}" for rec in built.data_sources)
    return DatasetCardData(
        pretty_name=pretty_name or f"Silver NER by annotation projection ({', '.join(langs)})",
        language=langs,
        license=license_id,
        annotations_creators=["machine-generated"],
        multilinguality="multilingual" if len(langs) > 1 else "monolingual",
        size_categories=[size_category(total)],
        task_categories=["token-classification"],
        task_ids=["named-entity-recognition"],
        tags=["silver-data", "annotation-projection", "cross-lingual-transfer", "low-resource"],
        configs=[_config_yaml(cfg) for cfg in built.configs.values()],
        dataset_info=dataset_info,
        **extra,
    )


def _config_view(m: dict) -> dict:
    """What the card shows of a manifest config entry (or of one part of an assembled one)."""
    stats = m.get("stats") or {}
    return {
        "label_names": m.get("label_names", []),
        "entities": stats.get("entities_per_class", {}),
        "sentences_in": stats.get("sentences_in"),
        "sentences_out": stats.get("sentences_out"),
        "projection_rate": stats.get("projection_rate"),
        "filters": stats.get("filters", {}),
        "source": _describe(m.get("source", {})),
        "target_source": _describe(m.get("target_source", {})),
        "aligner": _describe(m.get("aligner", "")),
        "method": m.get("method", ""),
        "method_params": _describe(m.get("method_params", {})) or "defaults",
        "label_mapping": _describe({k: v or "dropped" for k, v in (m.get("label_mapping") or {}).items()}),
        "fingerprint": m.get("fingerprint", ""),
        "reference": m.get("reference") if isinstance(m.get("reference"), dict) else None,
        "sources": ", ".join(f"{rec['name']} ({rec.get('license') or 'licence not recorded'})" for rec in config_sources(m)),
    }


def render_dataset_card(
    built: BuiltDataset,
    repo_id: str,
    version: Version,
    *,
    history: list[dict],
    dataset_info: list[dict] | None = None,
    quality: dict[str, Any] | None = None,
    license: str | None = None,
    pretty_name: str | None = None,
):
    """The dataset card (``DatasetCard.from_template`` on ``cards/dataset_card_template.md``)."""
    from huggingface_hub import DatasetCard

    license_id = license or built.license
    infos = dataset_info if dataset_info is not None else [_local_dataset_info(c) for c in built.configs.values()]
    data = _card_data(built, license_id, infos, pretty_name)
    configs = []
    for lang, cfg in built.configs.items():
        configs.append({
            "lang": lang,
            "train": cfg.num_rows.get("train", 0),
            "validation": cfg.num_rows.get("validation", 0),
            **_config_view(cfg.meta),
            "parts": [{"build": part.get("build", "?"), "id_prefix": part.get("id_prefix"),
                       "silver_ner_version": part.get("silver_ner_version"), "created": part.get("created"),
                       "rows": ", ".join(f"{s} {n}" for s, n in (part.get("num_rows") or {}).items()),
                       **_config_view(part)} for part in cfg.meta.get("parts") or []],
        })
    sources = [{**rec, "files": ", ".join(rec.get("files", [])), "roles": ", ".join(rec.get("roles", [])),
                "in_data": in_data(rec), "nc": in_data(rec) and "nc" in source_flags(rec)} for rec in built.sources]
    return DatasetCard.from_template(
        data,
        template_path=template_path("dataset_card_template.md"),
        repo_id=repo_id,
        version=str(version),
        tag=version.tag,
        first_config=next(iter(built.configs)),
        configs=configs,
        history=history,
        quality=_quality_table(built, quality),
        license_id=license_id,
        license_name=CUSTOM_LICENSE_NAME if license_id == "other" else None,
        sources=sources,
        non_commercial=[rec["name"] for rec in sources if rec["nc"]],
        silver_ner_version=built.meta.get("silver_ner_version", "unknown"),
        built=built.meta.get("created", "unknown"),
        assembled_from=built.meta.get("assembled_from") or [],
        paper_citation=PAPER_CITATION,
        source_citations=_citations(built),
    )


def _quality_table(built: BuiltDataset, quality: dict[str, Any] | None) -> dict[str, Any]:
    """Figures passed in, plus each config's own measurement against gold target labels (``reference``)."""
    table = dict(quality or {})
    for lang, cfg in built.configs.items():
        measured = [(lang, cfg.meta)] + [(f"{lang} ({p.get('build', '?')})", p) for p in cfg.meta.get("parts") or []]
        for name, meta in measured:
            ref = meta.get("reference")
            if isinstance(ref, dict) and isinstance(ref.get("f1"), (int, float)):
                gold = portable_path(str(ref.get("file", "gold")))
                table[f"{name}: projected vs gold {gold} ({ref.get('sentences', '?')} sentences), F1"] = ref["f1"]
    return table


def _content(built: BuiltDataset) -> dict:
    """The content identity per config; an assembled config also names its parts (build folder, fingerprint,
    rows), so a model trained on one of those build folders can name the release (``publish model --dataset-repo``)."""
    content = {}
    for lang, cfg in built.configs.items():
        content[lang] = {"rows": cfg.num_rows, "label_names": list(cfg.meta["label_names"]), "sha256": cfg.content_hash(),
                         "fingerprint": cfg.meta.get("fingerprint")}
        if cfg.meta.get("parts"):
            content[lang]["parts"] = [{"build": p.get("build"), "fingerprint": p.get("fingerprint"), "rows": p.get("num_rows"),
                                       "manifest_sha256": p.get("manifest_sha256")} for p in cfg.meta["parts"]]
    return content


def plan_dataset(
    folder: str | Path,
    repo_id: str,
    version: str | Version,
    *,
    history: list[dict] | None = None,
    quality: dict[str, Any] | None = None,
    license: str | None = None,
    pretty_name: str | None = None,
    source_license: str | None = None,
) -> DatasetPlan:
    """Check the inputs, render and check the card, list the files; no network.

    ``source_license`` declares the licence of sources the build recorded none for (user files).
    """
    check_repo_id(repo_id)
    version = version if isinstance(version, Version) else parse_version(version)
    built = load_built_dataset(folder).with_source_license(source_license)
    built.check_sources()
    content = _content(built)
    entry = {
        "version": str(version),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "configs": {lang: sum(c["rows"].values()) for lang, c in content.items()},
        "silver_ner_version": built.meta.get("silver_ner_version", "unknown"),
    }
    history = history_with({"history": history or []}, entry)
    card = render_dataset_card(built, repo_id, version, history=history, quality=quality, license=license, pretty_name=pretty_name)
    license_id = card.data.license
    require_valid(card, "dataset", f"dataset {repo_id}", sources=built.data_sources)
    files = [f for c in built.configs.values() for f in c.data_files()] + ["README.md", RELEASE_MANIFEST]
    return DatasetPlan(repo_id, version, built, card, license_id, content, entry, files)


def _hub_dataset_info(hub: Hub, repo_id: str, revision: str) -> list[dict]:
    from huggingface_hub import DatasetCard

    text = hub.read_file(repo_id, "dataset", "README.md", revision)
    if text is None:
        raise PublishError(f"{repo_id}@{revision}: README.md is missing after the upload")
    info = DatasetCard(text.decode("utf-8")).data.to_dict().get("dataset_info") or []
    return info if isinstance(info, list) else [info]


def publish_dataset(
    folder: str | Path,
    repo_id: str,
    version: str,
    *,
    private: bool = False,
    branch: bool = False,
    quality: dict[str, Any] | None = None,
    license: str | None = None,
    pretty_name: str | None = None,
    source_license: str | None = None,
    token: str | None = None,
    dry_run: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
) -> tuple[ReleaseResult, DatasetPlan]:
    """Publish a built silver dataset as version ``version`` of ``repo_id``; see the module docstring.

    ``revision``: the branch to commit to (default: the repository's default branch);
    ``commit_message``: the summary of every commit of the release (default: one naming the step).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    plan = plan_dataset(folder, repo_id, version, quality=quality, license=license, pretty_name=pretty_name,
                        source_license=source_license)
    v = plan.version
    if dry_run:
        return ReleaseResult(repo_id, "dataset", str(v), v.tag, "dry-run"), plan
    hub, tags, history = open_release(token, repo_id, "dataset", plan.card, plan.history_entry)
    render = dict(quality=quality, license=license, pretty_name=pretty_name, history=history)
    card_inputs = {"quality": dict(quality or {})}  # shown in the card's body only: a change is a new card
    if len(history) > 1:
        plan.card = render_dataset_card(plan.built, repo_id, v, **render)
        require_valid(plan.card, "dataset", f"dataset {repo_id}", sources=plan.built.data_sources)
        hub.validate_card(plan.card, "dataset", repo_id)

    def message(step: str) -> str:
        return commit_message or f"silver-ner {v}: {step}"

    def upload(revision: str | None) -> str:
        for lang, cfg in plan.built.configs.items():
            cfg.data.push_to_hub(
                repo_id, config_name=lang, token=hub.token, private=private, num_shards=cfg.num_shards(),
                commit_message=message(f"config {lang}"), revision=revision,
            )
        with hub_errors(repo_id, "read the uploaded card"):
            head = hub.api.repo_info(repo_id, repo_type="dataset", revision=revision).sha
            infos = [i for i in _hub_dataset_info(hub, repo_id, head) if i.get("config_name") in plan.built.configs]
            stale = sorted({p.split("/")[0] for p in hub.tree(repo_id, "dataset", head)
                            if "/" in p and p.split("/")[0] not in plan.built.configs and p.endswith(".parquet")})
        card = plan.card = render_dataset_card(plan.built, repo_id, v, dataset_info=infos, **render)
        require_valid(card, "dataset", f"dataset {repo_id}", sources=plan.built.data_sources)
        manifest = {"format": RELEASE_FORMAT, "kind": "dataset", "version": str(v), "content": plan.content,
                    "history": history, "build": {k: plan.built.meta.get(k) for k in ("silver_ner_version", "created")},
                    "card_inputs": card_inputs,
                    "sources": [{k: rec.get(k) for k in ("id", "name", "license", "hub_id", "files", "roles")}
                                for rec in plan.built.sources]}
        ops = [
            CommitOperationAdd("README.md", str(card).encode("utf-8")),
            CommitOperationAdd(RELEASE_MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")),
        ] + [CommitOperationDelete(f"{d}/", is_folder=True) for d in stale]
        with hub_errors(repo_id, "commit the card"):
            info = hub.api.create_commit(repo_id, ops, repo_type="dataset", parent_commit=head, revision=revision,
                                         commit_message=message("card and release manifest"))
        return info.oid

    def verify(sha: str) -> None:
        files = hub.tree(repo_id, "dataset", sha)
        for lang, cfg in plan.built.configs.items():
            for split in cfg.splits:
                if not any(p.startswith(f"{lang}/{split}-") and p.endswith(".parquet") for p in files):
                    raise PublishError(f"verify {repo_id}@{sha[:12]}: no parquet files for {lang}/{split}")
        infos = {i.get("config_name"): i for i in _hub_dataset_info(hub, repo_id, sha)}
        for lang, cfg in plan.built.configs.items():
            got = {s.get("name"): s.get("num_examples") for s in (infos.get(lang) or {}).get("splits", [])}
            if got != cfg.num_rows:
                raise PublishError(f"verify {repo_id}@{sha[:12]}: config {lang} has rows {got} on the Hub, {cfg.num_rows} locally")
        manifest = hub.read_json(repo_id, "dataset", RELEASE_MANIFEST, sha)
        if not manifest or manifest.get("content") != plan.content:
            raise PublishError(f"verify {repo_id}@{sha[:12]}: the release manifest does not match the local content")

    result = release(hub, repo_id=repo_id, repo_type="dataset", version=v, content=plan.content,
                     upload=upload, verify=verify, private=private, branch=branch, tags=tags, card=plan.card,
                     card_inputs=card_inputs,
                     revision=revision, create_pr=create_pr)
    return result, plan
