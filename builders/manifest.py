"""The build manifest ``silver_ner_build.json``: its name, format, typed form, reader and writer.

:func:`~silver_ner.builders.build.build` writes it through :func:`write_manifest`; publishing
(``publish/``) and training (``students/``) read it through :func:`read_manifest`, so the file's
name, format and checks live here only.

A :class:`Manifest` holds one :class:`ConfigEntry` per target language. ``to_dict()`` gives the
JSON a build writes, key for key and in the same order (a build's file is
``json.dumps(manifest.to_dict(), ensure_ascii=False)``). Keys a reader does not know are kept in
``extra`` and written back after the known ones; a known optional key is omitted when it is
``None``, unless the file held it as ``null``.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from silver_ner.projection.errors import UserError

from . import cache

MANIFEST_NAME = "silver_ner_build.json"
MANIFEST_FORMAT = "silver-ner-build/1"

# the keys every config of a manifest must have, with the JSON type each must be
REQUIRED_CONFIG_KEYS = ("path", "num_rows", "label_names", "stats", "source", "method", "fingerprint")
_REQUIRED_TYPES: dict[str, tuple[type, str]] = {
    "path": (str, "a string"), "num_rows": (dict, "an object"), "label_names": (list, "a list"),
    "stats": (dict, "an object"), "source": (dict, "an object"), "method": (str, "a string"),
    "fingerprint": (str, "a string"),
}
_BOOKKEEPING = ("extra", "null_keys")


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


class _Record:
    """``from_dict``/``to_dict`` over the dataclass fields, in field order, with ``extra`` and ``null_keys``."""

    _required: tuple[str, ...] = ()

    @classmethod
    def _known(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in _BOOKKEEPING]

    @classmethod
    def _split(cls, data: dict[str, Any]) -> dict[str, Any]:
        known = cls._known()
        kwargs = {k: data[k] for k in known if k in data}
        kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        kwargs["null_keys"] = tuple(k for k in known if k in data and data[k] is None and k not in cls._required)
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._known():
            value = getattr(self, name)
            if value is None and name not in self._required and name not in self.null_keys:
                continue
            out[name] = value.to_dict() if isinstance(value, _Record) else value
        out.update(self.extra)
        return copy.deepcopy(out)


@dataclass(kw_only=True)
class ConfigEntry(_Record):
    """One language's entry in the manifest (written by :meth:`LanguageBuild.config_entry`).

    The fields are in the order a build writes them. ``path``, ``num_rows``, ``label_names``,
    ``stats``, ``source``, ``method`` and ``fingerprint`` are required; the other keys a build
    always writes (``splits`` ... ``sources``) are ``None`` in a manifest of an older build that
    lacks them; ``backtranslation``, ``span_conventions``, ``reference`` and ``seconds`` are
    written only when the build has them. ``parts`` is written by :mod:`~silver_ner.builders.assemble`
    only: the entry of each build folder the config's rows come from, as that folder's manifest has it.
    """

    path: str
    splits: list[str] | None = None  # the splits that have rows
    num_rows: dict[str, int]
    label_names: list[str]
    label_mapping: dict[str, str | None] | None = None
    stats: dict[str, Any]
    source: dict[str, Any]
    target_source: dict[str, Any] | None = None
    aligner: str | None = None
    pairing_embedder: str | None = None  # what re-paired a translated corpus with its source
    method: str
    method_params: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None
    validation_fraction: float | None = None
    fingerprint: str
    licenses: list[str] | None = None
    sources: list[dict[str, Any]] | None = None  # the corpora read, with licence and citation
    backtranslation: dict[str, Any] | None = None
    span_conventions: dict[str, list[str]] | None = None
    reference: dict[str, Any] | None = None  # the score against reference labels
    seconds: float | None = None
    parts: list[dict[str, Any]] | None = None  # an assembled config: one entry per build folder whose rows it holds
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as read
    null_keys: tuple[str, ...] = field(default=(), repr=False, compare=False)  # optional keys read as null

    _required = REQUIRED_CONFIG_KEYS

    @classmethod
    def from_dict(cls, data: Any, where: str = "config") -> "ConfigEntry":
        """The entry of ``data``; :class:`UserError` naming ``where`` when it is not an object, lacks a
        required key, or has one of the wrong type."""
        if not isinstance(data, dict):
            raise UserError(f"{where}: expected an object, got {_json_type(data)}")
        missing = [k for k in REQUIRED_CONFIG_KEYS if k not in data]
        if missing:
            raise UserError(f"{where}: missing {', '.join(missing)}")
        for key, (kind, what) in _REQUIRED_TYPES.items():
            if not isinstance(data[key], kind):
                raise UserError(f"{where}: {key!r} must be {what}, got {_json_type(data[key])}")
        return cls(**cls._split(data))


@dataclass(kw_only=True)
class Manifest(_Record):
    """A build folder's manifest: format, the silver-ner version and time that built it, one entry per language
    (and, for a folder made by :mod:`~silver_ner.builders.assemble`, the build folders it holds)."""

    format: str = MANIFEST_FORMAT
    silver_ner_version: str | None = None
    created: str | None = None  # ISO time, UTC
    configs: dict[str, ConfigEntry] = field(default_factory=dict)
    assembled_from: list[dict[str, Any]] | None = None  # an assembled folder: the build folders it was made from
    extra: dict[str, Any] = field(default_factory=dict)
    null_keys: tuple[str, ...] = field(default=(), repr=False, compare=False)

    _required = ("format", "configs")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = MANIFEST_NAME) -> "Manifest":
        """The manifest of ``data`` (already checked for its format); config errors name ``where``."""
        kwargs = cls._split(data)
        kwargs["configs"] = {lang: ConfigEntry.from_dict(entry, f"{where}: config {lang!r}")
                             for lang, entry in (data.get("configs") or {}).items()}
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["configs"] = {lang: entry.to_dict() for lang, entry in self.configs.items()}
        return out


def manifest_path(folder: str | os.PathLike) -> Path:
    return Path(folder) / MANIFEST_NAME


def read_manifest(folder: str | os.PathLike) -> Manifest:
    """The manifest of a build folder, checked: the file exists and is JSON, has format
    :data:`MANIFEST_FORMAT` and at least one config, each with the required keys. Every
    problem is a :class:`UserError` naming the file."""
    folder = Path(folder)
    path = manifest_path(folder)
    if not path.is_file():
        raise UserError(f"{folder}: not a built silver dataset (no {MANIFEST_NAME}; make one with `silver-ner build`)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise UserError(f"{path}: format is {got!r}, expected {MANIFEST_FORMAT!r}")
    if not isinstance(data.get("configs"), dict) or not data["configs"]:
        raise UserError(f"{path}: 'configs' is missing or empty")
    return Manifest.from_dict(data, str(path))


def write_manifest(folder: str | os.PathLike, manifest: Manifest) -> Path:
    """Write ``manifest`` into ``folder`` (atomically); returns the file's path."""
    path = manifest_path(folder)
    cache.write_json_atomic(path, manifest.to_dict())
    return path
