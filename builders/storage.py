"""Where a build keeps its chunk cache and writes its output: a local folder or an fsspec URL.

A location is a plain path or a URL. A plain path and a ``file://`` URL (any URL whose fsspec filesystem
is the local one) are a local folder, returned as a :class:`~pathlib.Path`: a file is written under a
temporary name in the same folder and renamed into place (``os.replace``), and the build's SQLite caches
(the aligner's, ``translations.sqlite``) and the ``datasets`` builder's cache live there. Any other URL
(``s3://bucket/cache``, ``gs://...``, ``memory://...``) stays a URL string and is opened with fsspec:
a file is written with one ``put`` (atomic per object on an object store, which has no rename), and the
SQLite caches go to the node-local cache folder (:func:`local_home`), since SQLite needs a local
filesystem with working locks. A protocol whose fsspec implementation is not installed is a
:class:`UserError` with the package to install.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
from pathlib import Path
from typing import Any, Union

from silver_ner.projection.errors import UserError

from . import cache

log = logging.getLogger("silver_ner.builders.build")

Location = Union[Path, str]  # a local folder or file, or the URL of one on another filesystem
MARKER_FILES = ("dataset_dict.json", "state.json")  # what load_from_disk recognises a saved dataset by
_LOGGED: set[tuple[str, str]] = set()


def is_url(location: str | os.PathLike) -> bool:
    """Whether ``location`` is written as a URL (``PROTOCOL://...``) rather than a plain path."""
    return not isinstance(location, os.PathLike) and "://" in str(location)


def _install_hint(protocol: str) -> str:
    from fsspec.registry import known_implementations

    known = known_implementations.get(protocol)
    if known is None:
        return f"no fsspec implementation knows the protocol {protocol!r}"
    package = known["class"].split(".")[0]
    if package != "fsspec":
        return f"the fsspec implementation of {protocol!r} is not installed: pip install {package}"
    return f"the fsspec implementation of {protocol!r} cannot be loaded ({known.get('err', 'import failed')})"


def filesystem(url: str) -> tuple[Any, str]:
    """``(fsspec filesystem, path on it)`` of ``url``; a :class:`UserError` naming the package to install when a
    protocol of the URL has no installed fsspec implementation."""
    import fsspec

    for part in url.split("::"):  # a chained URL (simplecache::s3://...) needs every protocol
        proto = part.split("://", 1)[0] if "://" in part else part
        try:
            fsspec.get_filesystem_class(proto)
        except (ImportError, ValueError) as exc:
            raise UserError(f"{url}: {_install_hint(proto)}") from exc
    return fsspec.core.url_to_fs(url)


def location(loc: str | os.PathLike) -> Location:
    """``loc`` as a :class:`Path` when it is local (a plain path or a ``file://`` URL), else as its URL."""
    if not is_url(loc):
        return Path(loc)
    url = str(loc)
    fs, path = filesystem(url)
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem):
        return Path(path)
    return url.rstrip("/")


def is_local(loc: Location) -> bool:
    return isinstance(loc, Path)


def protocol(loc: Location) -> str:
    """``file`` for a local location, else the URL's protocol (``s3``, ``memory``, ...)."""
    return "file" if isinstance(loc, Path) else str(loc).split("://", 1)[0]


def join(base: Location, *parts: str) -> Location:
    """``base/part/...`` (a :class:`Path` under a local folder, a URL under a URL)."""
    if isinstance(base, Path):
        return base.joinpath(*parts)
    return posixpath.join(base, *parts)


def local_home(loc: Location) -> Path:
    """The local folder for what needs a local filesystem (SQLite caches, the ``datasets`` builder's cache,
    staging an output): ``loc`` itself when it is local, else the node-local cache folder
    (:func:`silver_ner.projection.models.cache_root`, ``$SILVER_NER_CACHE`` overrides it), said once per
    process and location in a log line."""
    if isinstance(loc, Path):
        return loc
    home = cache.default_cache_dir()
    if (str(loc), os.fspath(home)) not in _LOGGED:
        _LOGGED.add((str(loc), os.fspath(home)))
        log.info("cache %s is not a local folder: the SQLite caches (aligner, translations) and the datasets "
                 "cache go to the node-local %s", loc, home)
    return home


def exists(loc: Location) -> bool:
    if isinstance(loc, Path):
        return loc.exists()
    fs, path = filesystem(loc)
    return fs.exists(path)


def names(folder: Location) -> set[str]:
    """The names of the files directly in ``folder`` (empty when it does not exist): one listing instead of one
    request per file on an object store."""
    if isinstance(folder, Path):
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    fs, path = filesystem(folder)
    try:
        return {posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False)}
    except FileNotFoundError:
        return set()


def read_json(loc: Location) -> Any | None:
    """The JSON in ``loc``, or ``None`` when the entry is absent or unreadable (see :func:`cache.read_json`)."""
    if isinstance(loc, Path):
        return cache.read_json(loc)
    fs, path = filesystem(loc)
    try:
        return json.loads(fs.cat_file(path).decode("utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_json_atomic(loc: Location, obj: Any) -> None:
    """Write JSON to ``loc``: a temporary file and a rename in a local folder, one ``put`` on another filesystem
    (an object store's put is atomic per object)."""
    if isinstance(loc, Path):
        cache.write_json_atomic(loc, obj)
        return
    fs, path = filesystem(loc)
    fs.pipe_file(path, json.dumps(obj, ensure_ascii=False).encode("utf-8"))


UPLOADING = ".silver-ner-uploading"  # in an output folder while an upload is under way (or was cut short)


def check_output(url: str) -> None:
    """:class:`UserError` when the output URL is a file, or a non-empty folder that is neither a silver-ner build
    nor an upload of one that was cut short."""
    from .manifest import MANIFEST_NAME

    fs, path = filesystem(url)
    if not fs.exists(path):
        return
    if fs.isfile(path):
        raise UserError(f"{url}: exists and is not a folder; choose a new or empty folder for the output")
    if fs.ls(path, detail=False) and not any(fs.exists(posixpath.join(path, name)) for name in (MANIFEST_NAME, UPLOADING)):
        raise UserError(f"{url}: exists and is not a silver-ner build folder; choose an empty or new folder")


def upload_folder(local: Path, url: str) -> None:
    """Put the finished output folder ``local`` at ``url``, replacing a previous build there.

    An object store has no folder rename, so this is not one step: the previous build's files are removed,
    a marker file :data:`UPLOADING` is put, then every file (each put atomic): the data first, then the files
    by which ``load_from_disk`` recognises a dataset, the README and last the manifest; then the marker is
    removed. A folder with a manifest and no marker is complete; one cut short keeps its marker, so the next
    build may replace it.
    """
    from .manifest import MANIFEST_NAME

    check_output(url)
    fs, path = filesystem(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)
    marker = posixpath.join(path, UPLOADING)
    fs.pipe_file(marker, b"")

    def rank(p: Path) -> tuple[int, str]:
        rel = p.relative_to(local).as_posix()
        return ({MANIFEST_NAME: 3, "README.md": 2}.get(rel, 1 if p.name in MARKER_FILES else 0), rel)

    for p in sorted((p for p in local.rglob("*") if p.is_file()), key=rank):
        fs.put_file(os.fspath(p), posixpath.join(path, p.relative_to(local).as_posix()))
    fs.rm_file(marker)
