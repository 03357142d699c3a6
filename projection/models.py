"""The model layer: where a model comes from, what it is, where it runs and at what precision.

Every model user (the aligner, the re-pairing sentence embedder, the tagger, the translator,
prediction, weight averaging, training) goes through these functions, so that a model is
found, identified and placed the same way everywhere:

``resolve_model(name_or_path)``
    A local model folder as it is; anything else is a Hub repository id, downloaded once into
    the Hugging Face cache with ``huggingface_hub.snapshot_download`` (offline, a repository
    already in that cache is used; one that is not is a one-line :class:`UserError`).
``fingerprint(path)``
    What a model *is*, for cache keys and records: SHA-256 over the relative path, size and
    full contents of every file under the folder (hidden files and folders, ``.name``, are
    not part of a model). Content only: copying, touching or moving a folder keeps it; any
    changed byte changes it.
``pick_device(requested)``
    ``"cuda"`` when torch sees a GPU, else ``"cpu"``; an explicit request is honoured, and a
    CUDA request on a machine without CUDA is a :class:`UserError`.
``pick_precision(requested, device)``
    ``"float32"``, ``"bfloat16"`` or ``"auto"``. ``auto`` is ``bfloat16`` only where it runs
    natively: on CUDA when ``torch.cuda.is_bf16_supported()``, on a CPU with the
    ``avx512_bf16`` or ``amx_bf16`` instructions (``/proc/cpuinfo`` flags; elsewhere torch's
    own CPU checks); otherwise ``float32``. bfloat16 encoders give links that agree with
    float32's on 99.86 % of itermax links (English-German, docs/aligner.md), twice as fast on
    a CPU with AVX512-BF16 and much slower on one without.
``cache_root(cache_dir)``
    The one cache folder of the project: ``cache_dir``, else ``$SILVER_NER_CACHE``, else the
    platform's user cache for ``silver-ner`` (converted encoders, alignments, translations,
    build chunks all live under it).

torch and huggingface_hub are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import UserError

CACHE_ENV = "SILVER_NER_CACHE"
APP_NAME = "silver-ner"
PRECISIONS = ("float32", "bfloat16")
PRECISION_CHOICES = PRECISIONS + ("auto",)
FINGERPRINT_LENGTH = 16
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# weights of other frameworks that a snapshot of a Hub repository leaves out
_HUB_IGNORE = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.onnx_data", "*.gguf", "*.tflite", "*.mlmodel",
               "tf_model*", "flax_model*", "rust_model*", "onnx/*", "openvino/*", "coreml/*"]
_CHUNK = 1 << 20
_DIGESTS: dict = {}  # fingerprints computed in this process, by the files' stat signature


# --------------------------------------------------------------------------- cache


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else ``$SILVER_NER_CACHE``, else the platform's user cache for silver-ner."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


# --------------------------------------------------------------------------- where a model comes from


def _looks_like_path(value: str) -> bool:
    """A value that can only be meant as a file-system path (a Hub id is ``name`` or ``owner/name``)."""
    return (value.startswith((".", "/", "~", "\\")) or value.count("/") > 1 or "\\" in value
            or (len(value) > 1 and value[1] == ":"))


def resolve_model(name_or_path: str | os.PathLike, *, revision: str | None = None,
                  hub_cache_dir: str | os.PathLike | None = None) -> Path:
    """The local folder of a model: a folder as it is, a Hub repository id downloaded (or found) in the Hub cache.

    ``revision`` (branch, tag or commit) and ``hub_cache_dir`` (instead of the Hugging Face
    cache) apply to Hub ids only.
    A path that is a file, or that names no existing folder, is a :class:`UserError`; so is a
    Hub id that cannot be fetched (offline and not cached, unknown, gated), in one line.
    """
    if name_or_path is None or not str(name_or_path).strip():
        raise UserError("no model given: pass a local model folder or a Hub repository id")
    value = os.fspath(name_or_path)
    path = Path(value).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise UserError(f"{value}: a file, not a model folder")
    if _looks_like_path(value):
        raise UserError(f"{value}: no such model folder")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - a dependency
        raise UserError(f"{value}: not a local folder, and huggingface_hub is not installed to fetch it ({exc})") from None
    try:
        return Path(snapshot_download(value, revision=revision, ignore_patterns=_HUB_IGNORE,
                                      cache_dir=os.fspath(hub_cache_dir) if hub_cache_dir is not None else None))
    except Exception as exc:  # offline, unknown or gated repository, invalid id, network error
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        offline = _hub_offline()
        hint = ("the Hub is switched off (HF_HUB_OFFLINE) and the model is not in the Hub cache"
                if offline else f"cannot fetch it from the Hub ({type(exc).__name__}: {reason})")
        raise UserError(f"{value}: not a local model folder, and {hint}; pass a local folder or connect once to download it") from None


def _hub_offline() -> bool:
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except (ImportError, AttributeError):  # pragma: no cover - a dependency
        return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------- what a model is


def _model_files(root: Path) -> list[tuple[str, Path]]:
    """``(relative posix path, file)`` of every file under ``root`` outside hidden files and folders, sorted."""
    out = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            f = Path(folder) / name
            if f.is_file():
                out.append((f.relative_to(root).as_posix(), f))
    return sorted(out)


def fingerprint(path: str | os.PathLike) -> str:
    """A digest of what a model is: the relative paths, sizes and contents of its files.

    ``path`` is a model folder (a single file is hashed alone). Hidden files and folders
    (``.name``: locks, tool marks, ``.git``) are left out; modification times never count.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise UserError(f"{os.fspath(path)}: no such model folder")
    files = [(root.name, root)] if root.is_file() else _model_files(root)
    # Within one process a folder whose files all keep their inode, size and change times is not
    # read again (a write always moves st_ctime, which no tool can set back).
    stats = [(rel, f.stat()) for rel, f in files]
    seen = (os.fspath(root.resolve()),
            tuple((rel, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) for rel, st in stats))
    if seen in _DIGESTS:
        return _DIGESTS[seen]
    digest = hashlib.sha256()
    for (rel, f), (_, st) in zip(files, stats):
        digest.update(rel.encode("utf-8") + b"\0")
        digest.update(str(st.st_size).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(block)
    _DIGESTS[seen] = digest.hexdigest()[:FINGERPRINT_LENGTH]
    return _DIGESTS[seen]


# --------------------------------------------------------------------------- where and how it runs


def model_identity(name_or_path: str | os.PathLike, *, revision: str | None = None,
                   hub_cache_dir: str | os.PathLike | None = None) -> str:
    """``NAME@DIGEST``: what a model is, for cache keys and provenance. A local folder is named by its folder
    name, a Hub id by the id (and ``@revision`` when given); the digest is :func:`fingerprint` of the files in
    both cases (a Hub id is first found in, or fetched into, the Hub cache by :func:`resolve_model`), so
    a moved folder keeps its identity and a Hub repository whose files changed gets a new one."""
    value = os.fspath(name_or_path)
    path = Path(value).expanduser()
    if path.is_dir():
        return f"{path.resolve().name}@{fingerprint(path)}"
    local = resolve_model(value, revision=revision, hub_cache_dir=hub_cache_dir)
    return f"{value}{'@' + revision if revision else ''}@{fingerprint(local)}"


def pick_device(requested: str | None = None) -> str:
    """``requested`` when it can run here; ``None``/``"auto"``: ``"cuda"`` when available, else ``"cpu"``."""
    value = (requested or "auto").strip().lower()
    if value == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:  # pragma: no cover - a dependency
        torch = None
    cuda = torch is not None and torch.cuda.is_available()
    if value == "auto":
        return "cuda" if cuda else "cpu"
    if value == "cuda" or value.startswith("cuda:"):
        if not cuda:
            raise UserError(f"device {requested!r}: CUDA is not available here (torch sees no GPU); use --device cpu")
        if value != "cuda":
            index = value.split(":", 1)[1]
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise UserError(f"device {requested!r}: torch sees {torch.cuda.device_count()} CUDA device(s)")
        return value
    if value == "mps":
        if torch is None or not torch.backends.mps.is_available():
            raise UserError(f"device {requested!r}: MPS is not available here; use --device cpu")
        return "mps"
    raise UserError(f"device {requested!r}: expected cpu, cuda, cuda:N, mps or auto")


def cpu_flags() -> set[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (empty where there is no such file)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16)."""
    flags = cpu_flags()
    if flags:
        return any(f in flags for f in BF16_CPU_FLAGS)
    try:  # no /proc/cpuinfo (macOS, Windows): ask torch
        import torch
    except ImportError:  # pragma: no cover - a dependency
        return False
    capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    if "BF16" in capability or "AMX" in capability:
        return True
    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(bool(check()) for check in checks if check is not None)


def check_precision(precision: str) -> str:
    if precision not in PRECISION_CHOICES:
        raise UserError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, got {precision!r}")
    return precision


def pick_precision(requested: str | None = "auto", device: str | None = None) -> str:
    """``float32`` or ``bfloat16`` for ``requested``; ``auto`` (or ``None``) is bfloat16 only where it runs natively.

    On CUDA devices: ``torch.cuda.is_bf16_supported()``; on the CPU: :func:`cpu_has_native_bf16`.
    """
    value = check_precision(requested or "auto")
    if value != "auto":
        return value
    dev = pick_device(device)
    if dev.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if dev == "cpu":
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    return "float32"


def precision_reason(device: str | None = None) -> str:
    """Why ``auto`` picks what it picks on ``device`` (for ``silver-ner env`` and logs)."""
    dev = pick_device(device)
    if dev.startswith("cuda"):
        return "CUDA device with bfloat16 support" if pick_precision("auto", dev) == "bfloat16" else "CUDA device without bfloat16 support"
    if dev != "cpu":
        return f"{dev}: float32"
    flags = cpu_flags()
    found = [f for f in BF16_CPU_FLAGS if f in flags]
    if found:
        return f"CPU flags {', '.join(found)}"
    if flags:
        return f"CPU without {' or '.join(BF16_CPU_FLAGS)}"
    return "CPU capability reported by torch"


# --------------------------------------------------------------------------- the one on-disk cache of model outputs


class SQLiteStore:
    """Key-value tables (text keys, text values) in one SQLite file: the cache every model user keeps its outputs
    in (the aligner's alignments, the translator's translations).

    WAL mode, so readers never block a writer; one connection per process (a store handed to a worker process
    opens its own), shared by the threads of a process under a lock. SQLite does not work on network
    filesystems: keep the file on a local disk (the Ray engine's workers run without one).
    """

    def __init__(self, path: str | os.PathLike, tables: tuple[str, ...], *, timeout: float = 120):
        import threading

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for name in tables:
            if not name.isidentifier():
                raise ValueError(f"table name {name!r} is not an identifier")
        self.tables, self.timeout = tuple(tables), timeout
        self._conn = None
        self._pid = None
        self._lock = threading.Lock()

    def _connection(self):
        import sqlite3

        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            for name in self.tables:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {name} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.commit()
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _table(self, table: str) -> str:
        if table not in self.tables:
            raise KeyError(f"{self.path}: no table {table!r} (tables: {', '.join(self.tables)})")
        return table

    def get_many(self, table: str, keys) -> dict[str, str]:
        """The stored values of those of ``keys`` that are present."""
        table, keys, found = self._table(table), list(dict.fromkeys(keys)), {}
        with self._lock:
            conn = self._connection()
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                found.update(conn.execute(f"SELECT key, value FROM {table} WHERE key IN ({marks})", chunk))
        return found

    def put_many(self, table: str, items) -> None:
        """Store ``(key, value)`` pairs (a key already present gets the new value)."""
        table, rows = self._table(table), [(k, v) for k, v in items]
        with self._lock:
            conn = self._connection()
            with conn:
                conn.executemany(f"INSERT OR REPLACE INTO {table} (key, value) VALUES (?, ?)", rows)

    def count(self, table: str) -> int:
        table = self._table(table)
        with self._lock:
            return self._connection().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __getstate__(self):  # connections and locks do not cross processes
        return {"path": self.path, "tables": self.tables, "timeout": self.timeout}

    def __setstate__(self, state) -> None:
        self.__init__(state["path"], state["tables"], timeout=state["timeout"])


def cache_key(*parts) -> str:
    """A SHA-256 key over JSON-encoded ``parts`` (lists and strings keep their boundaries: ``["a b"]`` and
    ``["a", "b"]`` differ)."""
    import json

    return hashlib.sha256(json.dumps(list(parts), ensure_ascii=False).encode("utf-8")).hexdigest()
