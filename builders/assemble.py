"""One release folder from several build folders: ``silver-ner publish assemble OUT DIR...``.

A release has one config per language, but a language's silver rows may come from several builds
(for example MAFAND-MT lines tagged by a teacher in one folder, CoNLL-2003 projected onto machine
translations in another). :func:`assemble` writes a folder in the layout ``silver-ner build``
writes (``OUT/<lang>/`` saved with ``save_to_disk``, ``OUT/silver_ner_build.json``, ``OUT/README.md``),
so ``publish dataset``, ``train`` and ``datasets.load_from_disk`` take it unchanged:

* the configs of the same language are concatenated split by split, in the order the folders are
  given; every row keeps its columns (``origin``, ``source_id``, ``method``, ...) and gains
  ``build``, the name of the build folder it comes from;
* row ids stay unique: when two folders of a language share an id, every id of that language is
  prefixed with its folder's name (``silver-pool-swa/swa-train.swa:12``), and the part says so
  (``id_prefix``);
* the manifest entry of a language sums the rows and counts of its parts and keeps, under
  ``parts``, each folder's own entry as its manifest has it (sources with licences, fingerprint,
  statistics, aligner, method, reference score), with the folder's name, manifest sha256,
  silver-ner version and build time; ``sources`` unites the parts' sources, so a card lists
  exactly the corpora read; ``fingerprint`` is a hash of the parts' fingerprints;
* the label names of all parts of a language must be equal (same names, same order), and so must
  their columns; otherwise nothing is written and the :class:`UserError` names the folders.

A folder is named by its last path component; two folders of the same name, an input folder as
the output, or an assembled folder as input are refused. The folder is written beside ``OUT`` and
renamed into place at the end, as a build is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from silver_ner import __version__
from silver_ner.projection.errors import UserError

from .cache import file_digest
from .corpora import merge_sources, sources_of
from .manifest import MANIFEST_FORMAT, MANIFEST_NAME, ConfigEntry, Manifest, read_manifest
from .output import _hide, _prepare_output, finish_output, interrupt_guard

SPLITS = ("train", "validation")
BUILD_COLUMN = "build"
# counts summed over the parts; dict-valued ones are summed key by key
_SUMMED = ("sentences_in", "sentences_out", "source_entities", "projected_entities")
_SUMMED_PER_KEY = ("entities_per_class", "source_entities_per_class", "filters", "labels_dropped")


class _Part:
    """One build folder's config of a language."""

    def __init__(self, name: str, folder: Path, manifest: Manifest, manifest_sha256: str, lang: str):
        self.name = name
        self.folder = folder
        self.manifest = manifest
        self.manifest_sha256 = manifest_sha256
        self.lang = lang
        self.entry = manifest.configs[lang]
        self.data: Any = None  # datasets.DatasetDict, once loaded

    @property
    def where(self) -> str:
        return f"{self.folder / MANIFEST_NAME}: config {self.lang!r}"

    def sources(self) -> list[dict]:
        """The entry's ``sources``; for a manifest written before builds recorded them, found from its files."""
        if isinstance(self.entry.sources, list):
            return self.entry.sources
        files: dict[str, list[str]] = {}
        for role, desc in (("source", self.entry.source), ("target", self.entry.target_source)):
            files[role] = [f for f in ((desc or {}).get("files") or []) if isinstance(f, str)]
        ref = self.entry.reference
        if isinstance(ref, dict) and isinstance(ref.get("file"), str):
            files["reference"] = [ref["file"]]
        return sources_of(files)

    def load(self) -> None:
        from datasets import ClassLabel, DatasetDict, List, Sequence as Seq, load_from_disk

        data_dir = self.folder / self.entry.path
        if not data_dir.is_dir():
            raise FileNotFoundError(f"{self.where}: data folder {data_dir} does not exist")
        try:
            data = load_from_disk(os.fspath(data_dir))
        except Exception as exc:  # noqa: BLE001 - datasets raises several kinds
            raise UserError(f"{data_dir}: cannot be loaded with load_from_disk ({exc})") from exc
        if not isinstance(data, DatasetDict) or not data or not set(data) <= set(SPLITS):
            got = sorted(data) if isinstance(data, DatasetDict) else type(data).__name__
            raise UserError(f"{data_dir}: expected the splits of a silver build ({', '.join(SPLITS)}), found {got}")
        for split, ds in data.items():
            if BUILD_COLUMN in ds.column_names:
                raise UserError(f"{data_dir}/{split}: already has a {BUILD_COLUMN!r} column (an assembled folder?); "
                                "assemble from the build folders themselves")
            for col in ("id", "tokens", "ner_tags"):
                if col not in ds.column_names:
                    raise UserError(f"{data_dir}/{split}: column {col!r} is missing")
            tags = ds.features["ner_tags"]
            inner = getattr(tags, "feature", None) if isinstance(tags, (List, Seq)) else None
            if not isinstance(inner, ClassLabel) or list(inner.names) != list(self.entry.label_names):
                raise UserError(f"{data_dir}/{split}: ner_tags {tags} do not match label_names {self.entry.label_names} "
                                f"of {self.folder / MANIFEST_NAME}")
            want = self.entry.num_rows.get(split)
            if want is not None and want != ds.num_rows:
                raise UserError(f"{data_dir}/{split}: {ds.num_rows} rows, but {self.folder / MANIFEST_NAME} says {want}")
        self.data = data

    def record(self, id_prefix: str | None) -> dict[str, Any]:
        """This part as the ``parts`` item of the assembled entry: its own entry, named and dated."""
        entry = self.entry.to_dict()
        entry.pop("path", None)
        head = {"build": self.name, "manifest_sha256": self.manifest_sha256,
                "silver_ner_version": self.manifest.silver_ner_version, "created": self.manifest.created}
        if id_prefix:
            head["id_prefix"] = id_prefix
        return {**head, **entry}


def _common(values: list[Any]) -> Any:
    """The value all parts share, else ``None``."""
    first = values[0]
    return first if all(v == first for v in values[1:]) else None


def _sum_stats(stats: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _SUMMED:
        values = [s.get(key) for s in stats]
        out[key] = sum(values) if all(isinstance(v, int) for v in values) else None
    for key in _SUMMED_PER_KEY:
        if any(isinstance(s.get(key), dict) for s in stats):
            total: dict[str, Any] = {}
            for s in stats:
                for k, v in (s.get(key) or {}).items():
                    if isinstance(v, (int, float)):
                        total[k] = total.get(k, 0) + v
            out[key] = dict(sorted(total.items())) if key.endswith("per_class") else total
    src, proj = out.get("source_entities"), out.get("projected_entities")
    out["projection_rate"] = round(proj / src, 4) if src and proj is not None else None
    return out


def _entry(lang: str, parts: list[_Part], prefixed: bool) -> ConfigEntry:
    entries = [p.entry for p in parts]
    splits = [s for s in SPLITS if any(s in p.data for p in parts)]
    num_rows = {s: sum(p.data[s].num_rows for p in parts if s in p.data) for s in splits}
    methods = list(dict.fromkeys(e.method for e in entries))
    fingerprint = hashlib.sha256("\n".join(f"{p.name}\0{p.entry.fingerprint}" for p in parts).encode()).hexdigest()[:16]
    licenses = list(dict.fromkeys(lic for e in entries for lic in (e.licenses or [])))
    return ConfigEntry(
        path=lang,
        splits=splits,
        num_rows=num_rows,
        label_names=list(entries[0].label_names),
        label_mapping=_common([e.label_mapping for e in entries]),
        stats=_sum_stats([e.stats for e in entries]),
        source={"kind": "assembled", "builds": [p.name for p in parts]},
        aligner=_common([e.aligner for e in entries]),
        method=", ".join(methods),
        method_params=_common([e.method_params for e in entries]),
        validation_fraction=_common([e.validation_fraction for e in entries]),
        fingerprint=fingerprint,
        licenses=licenses,
        sources=merge_sources(p.sources() for p in parts),
        parts=[p.record(f"{p.name}/" if prefixed else None) for p in parts],
    )


def _check_labels(lang: str, parts: list[_Part]) -> None:
    first = parts[0]
    for p in parts[1:]:
        if list(p.entry.label_names) != list(first.entry.label_names):
            raise UserError(f"config {lang!r}: label names differ between {first.folder} ({', '.join(first.entry.label_names)}) "
                            f"and {p.folder} ({', '.join(p.entry.label_names)}); assemble builds made with the same --labels")


def _check_columns(lang: str, parts: list[_Part]) -> None:
    first = parts[0]
    want = next(iter(first.data.values())).features
    for p in parts:
        for split in p.data:
            got = p.data[split].features
            if got != want:
                differ = sorted(set(got) ^ set(want)) or sorted(k for k in got if got[k] != want.get(k))
                raise UserError(f"config {lang!r}: the rows of {p.folder} ({split}) and {first.folder} have different "
                                f"columns ({', '.join(differ)}); assemble builds of the same silver-ner row format")


def _ids_collide(parts: list[_Part]) -> bool:
    seen: set[str] = set()
    for p in parts:
        ids = {i for split in p.data for i in p.data[split]["id"]}
        if seen & ids:
            return True
        seen |= ids
    return False


def _with_build(ds, name: str, prefix: str | None):
    from datasets import Value

    if prefix:  # a table operation in memory: nothing is written beside the input folder's arrow files
        import pyarrow as pa
        from datasets import Dataset

        ids = pa.array([prefix + i for i in ds["id"]], type=pa.string())
        table = ds.data.set_column(ds.column_names.index("id"), "id", ids)
        ds = Dataset(table, info=ds.info.copy(), split=ds.split)
    return ds.add_column(BUILD_COLUMN, [name] * ds.num_rows, feature=Value("string"))


def _open(folders: Sequence[str | os.PathLike], out: Path) -> list[tuple[str, Path, Manifest, str]]:
    if not folders:
        raise UserError("give at least one build folder to assemble")
    opened, names = [], {}
    for f in folders:
        folder = Path(f)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder (expected a folder written by `silver-ner build`)")
        resolved = folder.resolve()
        if resolved == out:
            raise UserError(f"{folder}: is also the output folder; write the release folder elsewhere")
        if resolved.name in names:
            other = names[resolved.name]
            what = "given twice" if other == resolved else f"has the same name as {other}"
            raise UserError(f"{folder}: {what}; the release names each part by its folder name")
        names[resolved.name] = resolved
        manifest = read_manifest(folder)
        if manifest.assembled_from:
            raise UserError(f"{folder / MANIFEST_NAME}: an assembled folder; assemble from the build folders themselves")
        opened.append((resolved.name, folder, manifest, file_digest(folder / MANIFEST_NAME)))
    return opened


def assemble(out: str | os.PathLike, folders: Sequence[str | os.PathLike], *,
             langs: Iterable[str] | None = None) -> Manifest:
    """Write the release folder ``out`` from the build ``folders`` (see the module docstring); returns its manifest.

    ``langs``: only these configs, in this order (each must be in some folder); default every config
    of every folder, in the order first seen.
    """
    from datasets import DatasetDict, concatenate_datasets

    out = Path(out).resolve()
    opened = _open(folders, out)
    by_lang: dict[str, list[_Part]] = {}
    for name, folder, manifest, sha in opened:
        for lang in manifest.configs:
            by_lang.setdefault(lang, []).append(_Part(name, folder, manifest, sha, lang))
    if langs is not None:
        langs = list(dict.fromkeys(langs))
        missing = [lang for lang in langs if lang not in by_lang]
        if missing:
            raise UserError(f"no config {', '.join(map(repr, missing))} in the build folders "
                            f"{', '.join(os.fspath(f) for f in folders)} (configs: {', '.join(by_lang) or 'none'})")
        by_lang = {lang: by_lang[lang] for lang in langs}
    for parts in by_lang.values():
        _check_labels(parts[0].lang, parts)
    for parts in by_lang.values():
        for p in parts:
            p.load()
        _check_columns(parts[0].lang, parts)
    versions = list(dict.fromkeys(m.silver_ner_version for _, _, m, _ in opened if m.silver_ner_version))
    manifest = Manifest(format=MANIFEST_FORMAT, silver_ner_version=", ".join(versions) or __version__,
                        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        assembled_from=[{"build": n, "manifest_sha256": sha, "silver_ner_version": m.silver_ner_version,
                                         "created": m.created, "configs": [lang for lang in m.configs if lang in by_lang]}
                                        for n, _, m, sha in opened],
                        extra={"assembled_with": __version__})
    with interrupt_guard() as guard:
        tmp = _prepare_output(out)
        try:
            for lang, parts in by_lang.items():
                guard.check()
                prefixed = _ids_collide(parts)
                dd = DatasetDict()
                for split in SPLITS:
                    pieces = [_with_build(p.data[split], p.name, f"{p.name}/" if prefixed else None)
                              for p in parts if split in p.data]
                    if pieces:
                        dd[split] = concatenate_datasets(pieces)
                dd.save_to_disk(os.fspath(tmp / lang))
                _hide(tmp / lang)
                manifest.configs[lang] = _entry(lang, parts, prefixed)
            guard.check()
            with guard.deferred():
                finish_output(tmp, out, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return manifest


def describe(manifest: Manifest) -> str:
    """One line per config: rows per split and the build folders they come from."""
    lines = []
    for lang, entry in manifest.configs.items():
        rows = ", ".join(f"{s} {n}" for s, n in entry.num_rows.items())
        parts = "; ".join(f"{p['build']} ({', '.join(f'{s} {n}' for s, n in p['num_rows'].items())})" for p in entry.parts or [])
        lines.append(f"{lang}: {rows} <- {parts}" + (" (ids prefixed with the folder name)" if any(
            p.get("id_prefix") for p in entry.parts or []) else ""))
    return "\n".join(lines)

