"""Cache keys for silver builds.

A key is a SHA-256 over a canonical JSON document of everything a result depends on: the
contents of the input files (hashed, so a file edited in place gets a new key), the identity
of the models involved, the build parameters and ``silver_ner.__version__``. Keys are what
the builder hands to ``datasets`` as its ``hash``: since ``datasets`` does not hash inputs or
code itself, a changed input must change the key, or a stale cache would be reused.

Cached artefacts are written atomically (temporary file, then ``os.replace``), so an
interrupted build leaves either a complete entry or none, and a rerun resumes from what is
there.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from silver_ner import __version__

KEY_LENGTH = 16
_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex); a missing file is a clear error naming it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, no whitespace) of plain data; tuples become lists."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    raise TypeError(f"cannot hash an object of type {type(obj).__name__} into a cache key")


def make_key(*parts: Any, length: int = KEY_LENGTH) -> str:
    """Hex key over ``parts`` and the package version."""
    h = hashlib.sha256(canonical({"silver_ner": __version__, "parts": list(parts)}).encode("utf-8"))
    return h.hexdigest()[:length]


def files_fingerprint(paths: dict[str, str | os.PathLike | None]) -> dict[str, str]:
    """``{role: sha256}`` for each named input file (``None`` entries are left out)."""
    return {role: file_digest(p) for role, p in sorted(paths.items()) if p is not None}


def default_cache_dir() -> Path:
    """The user cache folder for builds: the project's one cache root
    (:func:`silver_ner.projection.models.cache_root`; ``SILVER_NER_CACHE`` overrides it)."""
    from silver_ner.projection.models import cache_root

    return cache_root()


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_json(path: str | os.PathLike) -> Any | None:
    """The JSON in ``path``, or ``None`` when the entry is absent or unreadable (a stale partial write)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
