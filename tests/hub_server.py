"""A small Hugging Face Hub-compatible HTTP server for offline tests.

It speaks the subset of the Hub protocol that ``huggingface_hub`` and ``datasets`` use to create
repositories, upload commits (regular files inline, LFS files through the basic LFS transfer),
list trees, create branches, tags and pull requests (commits to ``refs/pr/N``) and download files
(with ``Range``).  Storage is in memory
and git-like: a commit is a full snapshot ``{path: blob}`` with a sha and a parent; branches and
tags are names pointing at commit shas.

Tokens: ``WRITE_TOKEN`` may read and write, ``READ_TOKEN`` may only read (403 on writes); any other
token gets 401.  Private repositories are invisible (404 ``RepoNotFound``) without a valid token.

Fault injection: :meth:`HubServer.inject` makes the Nth request matching a method and a path
pattern answer an HTTP error or drop the connection without an answer.

Run ``python tests/hub_server.py`` to serve on a port for manual experiments.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

USER = "tester"
ORGS = ("silver-org",)
WRITE_TOKEN = "hf_test_write_token"
READ_TOKEN = "hf_test_read_token"

# Files that the Hub stores through LFS whatever their size (a subset of its default .gitattributes).
LFS_SUFFIXES = (".parquet", ".safetensors", ".bin", ".arrow", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".npy", ".npz", ".zip", ".gz", ".tar")
LFS_MIN_SIZE = 10 * 1024 * 1024

# Metadata values the validator accepts (a subset of the Hub's lists).
LICENSES = {
    "apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0",
    "cc0-1.0", "odc-by", "openrail", "other", "unknown", "bsd-3-clause", "gpl-3.0", "lgpl-3.0", "agpl-3.0",
}
SIZE_CATEGORIES = {"n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B", "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T"}


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Blob:
    content: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def pointer(self) -> bytes:
        return lfs_pointer(self.sha256, len(self.content))

    @property
    def oid(self) -> str:
        return git_blob_sha(self.pointer if self.lfs else self.content)


@dataclass
class Commit:
    sha: str
    parent: str | None
    files: dict[str, Blob]
    title: str
    message: str
    date: str
    author: str


@dataclass
class Repo:
    repo_type: str  # "model" or "dataset"
    repo_id: str
    private: bool
    owner: str
    created: str = field(default_factory=now_iso)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pulls: dict[int, "Pull"] = field(default_factory=dict)  # pull requests by number; their ref is refs/pr/N

    def resolve(self, rev: str) -> Commit | None:
        pull = self.pull(rev)
        if pull is not None:
            return self.commits[pull.head]
        for prefix in ("refs/heads/", "refs/tags/"):
            if rev.startswith(prefix):
                rev = rev[len(prefix):]
        if rev in self.branches:
            return self.commits[self.branches[rev]]
        if rev in self.tags:
            return self.commits[self.tags[rev]]
        if len(rev) == 40 and rev in self.commits:
            return self.commits[rev]
        return None

    def pull(self, rev: str) -> "Pull | None":
        m = re.fullmatch(r"refs/pr/(\d+)", rev)
        return self.pulls.get(int(m.group(1))) if m else None

    def open_pull(self, title: str, base: str, author: str) -> "Pull":
        num = max([0, *self.pulls]) + 1  # discussions and pull requests share numbers; this server has only pull requests
        pull = Pull(num, title, base, self.branches[base], author)
        self.pulls[num] = pull
        return pull


@dataclass
class Pull:
    num: int
    title: str
    base: str  # the branch it targets
    head: str  # the commit its ref refs/pr/N names
    author: str
    status: str = "open"
    created: str = field(default_factory=now_iso)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern
    nth: int
    action: str  # "status" or "drop"
    status: int
    times: int
    seen: int = 0
    fired: int = 0


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


class DropConnection(Exception):
    """Close the connection without any answer."""


class HubServer:
    """The server state and the threaded HTTP server around it; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_store: dict[tuple[str, str, str], bytes] = {}  # (repo type, repo id, sha256) -> bytes
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.RLock()
        self._counter = 0
        handler = type("Handler", (_Handler,), {"hub": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "HubServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- test helpers ----------------------------------------------------------------------
    def inject(self, method: str, pattern: str, *, nth: int = 1, action: str = "status", status: int = 503, times: int = 1) -> Fault:
        """From the ``nth`` request matching ``method`` and the regex ``pattern`` on, fail ``times`` requests."""
        if action not in ("status", "drop"):
            raise ValueError(f"unknown fault action {action!r}")
        fault = Fault(method.upper(), re.compile(pattern), nth, action, status, times)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def requests(self, method: str | None = None, pattern: str = "") -> list[tuple[str, str, int]]:
        rx = re.compile(pattern)
        return [r for r in self.log if (method is None or r[0] == method) and rx.search(r[1])]

    def _check_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.pattern.search(path):
                    fault.seen += 1
                    if fault.seen >= fault.nth and fault.fired < fault.times:
                        fault.fired += 1
                        return fault
        return None

    def _new_sha(self, seed: str) -> str:
        with self.lock:
            self._counter += 1
            return hashlib.sha1(f"{seed}:{self._counter}:{time.time_ns()}".encode()).hexdigest()

    # -- storage operations ----------------------------------------------------------------
    def create_repo(self, repo_type: str, repo_id: str, private: bool, owner: str) -> Repo:
        repo = Repo(repo_type, repo_id, private, owner)
        gitattributes = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES).encode()
        sha = self._new_sha(repo_id)
        repo.commits[sha] = Commit(sha, None, {".gitattributes": Blob(gitattributes, False)}, "initial commit", "", now_iso(), owner)
        repo.branches["main"] = sha
        self.repos[(repo_type, repo_id)] = repo
        return repo


def _tree_entries(files: dict[str, Blob], folder: str, recursive: bool) -> list[dict]:
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    entries, dirs = [], set()
    for path in sorted(files):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix):]
        parts = rest.split("/")
        for i in range(1, len(parts)):
            if not recursive and i > 1:
                break
            dirs.add(prefix + "/".join(parts[:i]))
        if recursive or len(parts) == 1:
            entries.append(_file_entry(path, files[path]))
    for d in sorted(dirs):
        entries.append({"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d})
    return entries


def _file_entry(path: str, blob: Blob) -> dict:
    entry = {"type": "file", "oid": blob.oid, "size": len(blob.content), "path": path}
    if blob.lfs:
        entry["lfs"] = {"oid": blob.sha256, "size": len(blob.content), "pointerSize": len(blob.pointer)}
    return entry


def _is_folder(files: dict[str, Blob], folder: str) -> bool:
    prefix = folder.strip("/") + "/"
    return any(p.startswith(prefix) for p in files)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def validate_card(content: str, repo_type: str) -> list[str]:
    """The metadata checks of ``/api/validate-yaml``: a list of problems (empty when valid)."""
    if not content.startswith("---"):
        return []
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.S)
    if not match:
        return ["YAML front matter is not closed by '---'"]
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        return [f"invalid YAML: {exc}"]
    if not isinstance(meta, dict):
        return ["YAML metadata must be a mapping"]
    problems = []
    for value in _as_list(meta.get("license")):
        if value not in LICENSES:
            problems.append(f'"license" must be one of the Hub licence identifiers, got {value!r}')
    for value in _as_list(meta.get("language")):
        if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", value):
            problems.append(f'"language" must be ISO 639 codes, got {value!r}')
    for key in ("task_categories", "task_ids", "tags", "datasets"):
        if key in meta and not (isinstance(meta[key], list) and all(isinstance(v, str) for v in meta[key])):
            problems.append(f'"{key}" must be a list of strings')
    if repo_type == "dataset":
        for value in _as_list(meta.get("size_categories")):
            if value not in SIZE_CATEGORIES:
                problems.append(f'"size_categories" has an unknown value {value!r}')
        configs = meta.get("configs")
        if configs is not None:
            if not isinstance(configs, list):
                problems.append('"configs" must be a list')
            else:
                for cfg in configs:
                    if not isinstance(cfg, dict) or not isinstance(cfg.get("config_name"), str):
                        problems.append('"configs" items need a "config_name"')
                    elif "data_files" in cfg and not isinstance(cfg["data_files"], (str, list, dict)):
                        problems.append(f'"data_files" of config {cfg["config_name"]!r} is malformed')
    if repo_type == "model" and "model-index" in meta:
        index = meta["model-index"]
        if not isinstance(index, list):
            problems.append('"model-index" must be a list')
        else:
            for model in index:
                if not isinstance(model, dict) or "name" not in model or not isinstance(model.get("results"), list):
                    problems.append('"model-index" items need "name" and a list of "results"')
                    continue
                for res in model["results"]:
                    task, ds, metrics = res.get("task"), res.get("dataset"), res.get("metrics")
                    if not (isinstance(task, dict) and "type" in task):
                        problems.append('"model-index" results need "task.type"')
                    if not (isinstance(ds, dict) and "type" in ds and "name" in ds):
                        problems.append('"model-index" results need "dataset.type" and "dataset.name"')
                    if not (isinstance(metrics, list) and all(isinstance(m, dict) and "type" in m and "value" in m for m in metrics)):
                        problems.append('"model-index" metrics need "type" and "value"')
    return problems


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid the delayed-ACK stall

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- plumbing ----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type: str = "application/json") -> None:
        self._status = status
        self._log()  # before answering: a client that saw the answer finds its request in the log
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _log(self) -> None:
        if not self._logged:
            self._logged = True
            self.hub.log.append((self.command, urlsplit(self.path).path, self._status))

    def _json(self, status: int, obj, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def _role(self) -> str | None:
        """'write', 'read' or None (anonymous); raises 401 for an unknown token."""
        token = self._token()
        if token is None:
            return None
        if token == WRITE_TOKEN:
            return "write"
        if token == READ_TOKEN:
            return "read"
        raise HttpError(401, "Invalid credentials in Authorization header", None)

    def _need_write(self) -> None:
        role = self._role()
        if role is None:
            raise HttpError(401, "You must be authenticated to perform this action")
        if role != "write":
            raise HttpError(403, "You don't have the rights to perform this action: the token is read-only")

    def _repo(self, repo_type: str, repo_id: str, write: bool = False) -> Repo:
        role = self._role()
        repo = self.hub.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and role is None):
            raise HttpError(404, "Repository not found", "RepoNotFound")
        if write:
            self._need_write()
        return repo

    def _commit(self, repo: Repo, rev: str) -> Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return commit

    def _handle(self) -> None:
        self._status, self._logged = 0, False
        body = self._read_body()  # always consume the request, even when answering an error
        split = urlsplit(self.path)
        raw_path, query = split.path, parse_qs(split.query)
        try:
            fault = self.hub._check_fault(self.command, raw_path)
            if fault is not None:
                if fault.action == "drop":
                    raise DropConnection
                raise HttpError(fault.status, "Injected server error")
            with self.hub.lock:
                self._route(raw_path, query, body)
        except DropConnection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._status = -1
        except HttpError as err:
            self._error(err)
        except (ValueError, KeyError, TypeError) as exc:  # malformed request bodies (JSON, NDJSON, base64)
            self._error(HttpError(400, f"Bad request: {type(exc).__name__}: {exc}"))
        except Exception as exc:  # noqa: BLE001 - a server bug still answers, as a 500
            self._error(HttpError(500, f"Internal error: {type(exc).__name__}: {exc}"))
        finally:
            self._log()

    def _error(self, err: HttpError) -> None:
        headers = {"X-Error-Message": err.message}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._json(err.status, {"error": err.message, **err.extra}, headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    # -- routing -----------------------------------------------------------------------------
    def _route(self, raw_path: str, query: dict, body: bytes) -> None:
        parts = [unquote(p) for p in raw_path.strip("/").split("/")]
        method = self.command
        if parts[:2] == ["api", "whoami-v2"]:
            return self._whoami()
        if parts[:2] == ["api", "validate-yaml"] and method == "POST":
            payload = json.loads(body or b"{}")
            problems = validate_card(payload.get("content", ""), payload.get("repoType", "model"))
            status = 400 if problems else 200
            headers = {"X-Error-Message": problems[0]} if problems else None
            return self._json(status, {"errors": [{"message": p} for p in problems], "warnings": []}, headers)
        if parts[:2] == ["api", "repos"] and len(parts) == 3:
            return self._repos_crud(parts[2], method, json.loads(body or b"{}"))
        if parts[0] == "api" and len(parts) >= 4 and parts[1] in ("models", "datasets"):
            repo_type = parts[1][:-1]
            return self._api(repo_type, f"{parts[2]}/{parts[3]}", parts[4:], method, query, body)
        if parts[0] == "lfs-upload" and method == "PUT" and len(parts) == 5:
            return self._lfs_put((parts[1], f"{parts[2]}/{parts[3]}", parts[4]), body)
        # git LFS batch and file downloads: [datasets/]ns/name/...
        repo_type = "model"
        if parts[0] == "datasets":
            repo_type, parts = "dataset", parts[1:]
        if len(parts) >= 5 and parts[1].endswith(".git") and parts[2:] == ["info", "lfs", "objects", "batch"]:
            return self._lfs_batch(repo_type, f"{parts[0]}/{parts[1][:-4]}", json.loads(body))
        if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(repo_type, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        raise HttpError(404, f"Not found: {method} {raw_path}")

    def _whoami(self) -> None:
        role = self._role()
        if role is None:
            raise HttpError(401, "Invalid credentials in Authorization header")
        self._json(200, {
            "type": "user", "id": "0" * 24, "name": USER, "fullname": "Test User",
            "orgs": [{"type": "org", "name": org} for org in ORGS],
            "auth": {"type": "access_token", "accessToken": {"displayName": role, "role": role}},
        })

    def _repos_crud(self, action: str, method: str, payload: dict) -> None:
        self._need_write()
        repo_type = payload.get("type") or "model"
        name, org = payload.get("name"), payload.get("organization") or USER
        repo_id = f"{org}/{name}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.hub.endpoint}/{prefix}{repo_id}"
        if org != USER and org not in ORGS:
            raise HttpError(403, f"You don't have the rights to create a repo under the namespace {org!r}")
        if action == "create" and method == "POST":
            if (repo_type, repo_id) in self.hub.repos:
                raise HttpError(409, "You already created this repo", None, {"url": url})
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            self.hub.create_repo(repo_type, repo_id, private, USER)
            return self._json(200, {"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]})
        if action == "delete" and method == "DELETE":
            if self.hub.repos.pop((repo_type, repo_id), None) is None:
                raise HttpError(404, "Repository not found", "RepoNotFound")
            return self._send(200, b"")
        raise HttpError(404, f"Not found: {method} /api/repos/{action}")

    def _api(self, repo_type: str, repo_id: str, rest: list[str], method: str, query: dict, body: bytes) -> None:
        write = method in ("POST", "PUT", "DELETE") and (not rest or rest[0] not in ("paths-info",))
        repo = self._repo(repo_type, repo_id, write=write)
        op = rest[0] if rest else ""
        if method == "GET" and op in ("", "revision"):
            rev = rest[1] if op == "revision" and len(rest) > 1 else "main"
            return self._json(200, self._info(repo, self._commit(repo, rev)))
        if method == "GET" and op == "refs":
            def refs(kind, names):
                return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": sha} for n, sha in sorted(names.items())]
            return self._json(200, {"branches": refs("heads", repo.branches), "tags": refs("tags", repo.tags), "converts": []})
        if method == "GET" and op == "tree" and len(rest) >= 2:
            commit = self._commit(repo, rest[1])
            folder = "/".join(rest[2:])
            if folder and not _is_folder(commit.files, folder):
                raise HttpError(404, f"{folder} does not exist on {rest[1]}", "EntryNotFound")
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            return self._json(200, _tree_entries(commit.files, folder, recursive))
        if method == "POST" and op == "paths-info" and len(rest) == 2:
            commit = self._commit(repo, rest[1])
            paths = self._paths_from(body)
            out = []
            for path in paths:
                path = path.strip("/")
                if path in commit.files:
                    out.append(_file_entry(path, commit.files[path]))
                elif _is_folder(commit.files, path):
                    out.append({"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path})
            return self._json(200, out)
        if method == "GET" and op == "commits" and len(rest) == 2:
            commit, out = self._commit(repo, rest[1]), []
            while commit is not None:
                out.append({"id": commit.sha, "title": commit.title, "message": commit.message,
                            "authors": [{"user": commit.author}], "date": commit.date})
                commit = repo.commits.get(commit.parent) if commit.parent else None
            return self._json(200, out)
        if method == "POST" and op == "preupload" and len(rest) == 2:
            commit = self._commit(repo, rest[1])
            files = []
            for f in json.loads(body)["files"]:
                sample = base64.b64decode(f.get("sample", ""))
                lfs = f["path"].endswith(LFS_SUFFIXES) or f["size"] >= LFS_MIN_SIZE or b"\0" in sample
                existing = commit.files.get(f["path"])
                files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                              "oid": existing.oid if existing else None})
            return self._json(200, {"files": files, "commitOid": commit.sha})
        if method == "POST" and op == "commit" and len(rest) == 2:
            create_pr = query.get("create_pr", ["0"])[0].lower() in ("1", "true")
            return self._apply_commit(repo, rest[1], body, create_pr=create_pr)
        if op == "discussions":
            return self._discussions(repo, rest[1:], method, body)
        if op == "branch" and len(rest) == 2:
            branch = rest[1]
            if method == "POST":
                if branch in repo.branches:
                    raise HttpError(409, f"Branch {branch} already exists")
                start = (json.loads(body or b"{}") or {}).get("startingPoint") or "main"
                repo.branches[branch] = self._commit(repo, start).sha
                return self._json(200, {})
            if method == "DELETE":
                if repo.branches.pop(branch, None) is None:
                    raise HttpError(404, f"Branch {branch} not found", "RevisionNotFound")
                return self._json(200, {})
        if op == "tag" and len(rest) == 2:
            if method == "POST":
                payload = json.loads(body or b"{}")
                tag = payload.get("tag")
                if not tag:
                    raise HttpError(400, "Missing tag name")
                if tag in repo.tags:
                    raise HttpError(409, f"Tag {tag} already exists")
                repo.tags[tag] = self._commit(repo, rest[1]).sha
                return self._json(200, {})
            if method == "DELETE":
                if repo.tags.pop(rest[1], None) is None:
                    raise HttpError(404, f"Tag {rest[1]} not found", "RevisionNotFound")
                return self._json(200, {})
        if method == "PUT" and op == "settings":
            payload = json.loads(body or b"{}")
            if "private" in payload:
                repo.private = bool(payload["private"])
            if "visibility" in payload:
                repo.private = payload["visibility"] == "private"
            return self._json(200, {"private": repo.private})
        raise HttpError(404, f"Not found: {method} /api/{repo_type}s/{repo_id}/{'/'.join(rest)}")

    @staticmethod
    def _paths_from(body: bytes) -> list[str]:
        text = body.decode()
        if text.startswith("{"):
            return list(json.loads(text).get("paths", []))
        return parse_qs(text).get("paths", [])

    def _info(self, repo: Repo, commit: Commit) -> dict:
        card = None
        readme = commit.files.get("README.md")
        if readme is not None:
            m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", readme.content.decode("utf-8", "replace"), re.S)
            if m:
                try:
                    card = yaml.safe_load(m.group(1))
                except yaml.YAMLError:
                    card = None
        info = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id, "author": repo.owner,
            "sha": commit.sha, "private": repo.private, "gated": False, "disabled": False, "downloads": 0, "likes": 0,
            "tags": [], "createdAt": repo.created, "lastModified": commit.date,
            "siblings": [{"rfilename": p} for p in sorted(commit.files)],
        }
        if card is not None:
            info["cardData"] = card
        if repo.repo_type == "model":
            info["modelId"] = repo.repo_id
        return info

    def _discussions(self, repo: Repo, rest: list[str], method: str, body: bytes) -> None:
        """Pull requests: ``POST discussions`` opens one (``pullRequest: true``), ``GET discussions/N`` shows it."""
        if method == "POST" and not rest:
            payload = json.loads(body or b"{}")
            if not payload.get("pullRequest"):
                raise HttpError(400, "This server supports pull requests only, not discussions")
            pull = repo.open_pull(str(payload.get("title") or "").strip() or "Pull request", "main", USER)
            return self._json(200, {"num": pull.num, "pullRequest": True, "url": self._pull_url(repo, pull)})
        if method == "GET" and len(rest) == 1 and rest[0].isdigit() and int(rest[0]) in repo.pulls:
            pull = repo.pulls[int(rest[0])]
            event = {"id": f"{pull.num:024d}", "type": "status-change", "createdAt": pull.created,
                     "author": {"name": pull.author}, "data": {"status": pull.status}}
            return self._json(200, {
                "num": pull.num, "title": pull.title, "status": pull.status, "isPullRequest": True,
                "createdAt": pull.created, "author": {"name": pull.author},
                "repo": {"name": repo.repo_id, "type": repo.repo_type}, "events": [event],
                "changes": {"base": f"refs/heads/{pull.base}"}, "filesWithConflicts": [], "diff": "",
            })
        raise HttpError(404, f"Discussion not found: {'/'.join(rest)}")

    def _pull_url(self, repo: Repo, pull: Pull) -> str:
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return f"{self.hub.endpoint}/{prefix}{repo.repo_id}/discussions/{pull.num}"

    def _apply_commit(self, repo: Repo, rev: str, body: bytes, create_pr: bool = False) -> None:
        branch = rev
        pull = repo.pull(rev)
        if create_pr:
            if branch not in repo.branches:
                raise HttpError(400, f"A pull request targets a branch, not {rev}")
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            title = (lines[0].get("value") or {}).get("summary", "") if lines else ""
            pull = repo.open_pull(title, branch, USER)
        elif pull is None and branch not in repo.branches:
            if repo.resolve(rev) is None:
                raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            raise HttpError(400, f"Can only commit to a branch, not {rev}")
        head = repo.commits[pull.head if pull is not None else repo.branches[branch]]
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HttpError(400, "Commit payload must start with a header line")
        header = lines[0]["value"]
        parent = header.get("parentCommit")
        if parent and parent != head.sha:
            raise HttpError(412, "A commit has happened since the parent commit. Please retry.")
        files = dict(head.files)
        for item in lines[1:]:
            key, value = item["key"], item["value"]
            path = value["path"].strip("/")
            if key == "file":
                files[path] = Blob(base64.b64decode(value["content"]), False)
            elif key == "lfsFile":
                data = self.hub.lfs_store.get((repo.repo_type, repo.repo_id, value["oid"]))
                if data is None:
                    raise HttpError(422, f"LFS object {value['oid']} for {path} was never uploaded")
                files[path] = Blob(data, True)
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HttpError(404, f"File {path} does not exist", "EntryNotFound")
            elif key == "deletedFolder":
                for p in [p for p in files if p.startswith(path + "/")]:
                    del files[p]
            else:
                raise HttpError(400, f"Unknown commit operation {key!r}")
        sha = self.hub._new_sha(repo.repo_id)
        repo.commits[sha] = Commit(sha, head.sha, files, header.get("summary", ""), header.get("description", ""), now_iso(), USER)
        if pull is not None:
            pull.head = sha
        else:
            repo.branches[branch] = sha
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        self._json(200, {"commitOid": sha, "commitUrl": f"{self.hub.endpoint}/{prefix}{repo.repo_id}/commit/{sha}",
                         "pullRequestUrl": self._pull_url(repo, pull) if create_pr else None, "success": True})

    def _lfs_batch(self, repo_type: str, repo_id: str, payload: dict) -> None:
        self._repo(repo_type, repo_id, write=payload.get("operation") == "upload")
        objects = []
        for obj in payload.get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if (repo_type, repo_id, obj["oid"]) not in self.hub.lfs_store:
                href = f"{self.hub.endpoint}/lfs-upload/{repo_type}/{repo_id}/{obj['oid']}"
                entry["actions"] = {"upload": {"href": href, "header": {}}}
            objects.append(entry)
        self._json(200, {"transfer": "basic", "objects": objects})

    def _lfs_put(self, key: tuple[str, str, str], body: bytes) -> None:
        if hashlib.sha256(body).hexdigest() != key[2]:
            raise HttpError(400, f"Uploaded content does not match the sha256 {key[2]}")
        self.hub.lfs_store[key] = body
        self._send(200, b"")

    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit(repo, rev)
        blob = commit.files.get(path)
        if blob is None:
            raise HttpError(404, f"Entry not found: {path}", "EntryNotFound")
        data = blob.content
        headers = {"X-Repo-Commit": commit.sha, "Accept-Ranges": "bytes"}
        if blob.lfs:
            headers.update({"ETag": f'"{blob.sha256}"', "X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(len(data))})
        else:
            headers["ETag"] = f'"{blob.oid}"'
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip()) if rng else None
        if m and data:
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            else:
                start, end = max(0, len(data) - int(m.group(2))), len(data) - 1
            if start >= len(data):
                raise HttpError(416, "Requested range not satisfiable")
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start:end + 1], headers, "application/octet-stream")
        self._send(200, data, headers, "application/octet-stream")


def main() -> None:  # pragma: no cover - manual use
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with HubServer(port=args.port) as hub:
        print(f"serving on {hub.endpoint}  write token {WRITE_TOKEN}  read token {READ_TOKEN}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()


# -- pointing the real clients at a server ------------------------------------------------------

_PATCHES = (
    ("huggingface_hub.constants", "ENDPOINT", lambda e, h: e),
    ("huggingface_hub.constants", "HUGGINGFACE_CO_URL_TEMPLATE", lambda e, h: e + "/{repo_id}/resolve/{revision}/{filename}"),
    ("huggingface_hub.constants", "HF_HUB_DISABLE_XET", lambda e, h: True),
    ("huggingface_hub.constants", "HF_HUB_OFFLINE", lambda e, h: False),
    ("huggingface_hub.constants", "HF_HOME", lambda e, h: str(h)),
    ("huggingface_hub.constants", "HF_HUB_CACHE", lambda e, h: str(h / "hub")),
    ("huggingface_hub.constants", "HF_TOKEN_PATH", lambda e, h: str(h / "token")),
    ("huggingface_hub.constants", "HF_STORED_TOKENS_PATH", lambda e, h: str(h / "stored_tokens")),
    ("datasets.config", "HF_ENDPOINT", lambda e, h: e),
    ("datasets.config", "HUB_DATASETS_URL", lambda e, h: e + "/datasets/{repo_id}/resolve/{revision}/{path}"),
    ("datasets.config", "HF_HUB_OFFLINE", lambda e, h: False),
    ("datasets.config", "HF_DATASETS_CACHE", lambda e, h: h / "datasets"),
    ("datasets.config", "HF_CACHE_HOME", lambda e, h: str(h)),
    ("datasets.config", "DOWNLOADED_DATASETS_PATH", lambda e, h: h / "datasets" / "downloads"),
    ("datasets.config", "EXTRACTED_DATASETS_PATH", lambda e, h: h / "datasets" / "downloads" / "extracted"),
)
ENV_KEYS = ("HF_ENDPOINT", "HF_HUB_DISABLE_XET", "HF_HOME", "HF_DATASETS_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


class ClientEnvironment:
    """Point ``huggingface_hub``, ``datasets`` and ``transformers`` of this process at ``endpoint``.

    The libraries read ``HF_ENDPOINT`` and the cache paths into module constants when they are
    imported, so besides setting the environment (inherited by subprocesses) the constants they
    read at call time are patched, and restored by :meth:`restore`.  ``home`` isolates every cache.
    """

    def __init__(self, endpoint: str, home, token: str | None = WRITE_TOKEN):
        import importlib
        from pathlib import Path

        self.home = Path(home)
        self.endpoint = endpoint
        self._saved_env = {k: __import__("os").environ.get(k) for k in ENV_KEYS}
        self._saved = []
        env = __import__("os").environ
        env.update({"HF_ENDPOINT": endpoint, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(self.home),
                    "HF_DATASETS_CACHE": str(self.home / "datasets"), "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"})
        self.set_token(token)
        for module_name, attr, value in _PATCHES:
            module = importlib.import_module(module_name)
            self._saved.append((module, attr, getattr(module, attr)))
            setattr(module, attr, value(endpoint, self.home))
        # transformers keeps one HfApi, made on first use with the endpoint of that moment: drop it so that it is
        # made again against this endpoint, and drop the one made here on restore
        hub = sys.modules.get("transformers.utils.hub")
        self._transformers_api = getattr(hub, "_hf_api", None)
        if hub is not None:
            hub._hf_api = None

    def set_token(self, token: str | None) -> None:
        env = __import__("os").environ
        if token is None:
            env.pop("HF_TOKEN", None)
        else:
            env["HF_TOKEN"] = token

    def restore(self) -> None:
        env = __import__("os").environ
        for module, attr, value in reversed(self._saved):
            setattr(module, attr, value)
        hub = sys.modules.get("transformers.utils.hub")
        if hub is not None:
            hub._hf_api = self._transformers_api
        for key, value in self._saved_env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value


# -- small inputs the publish tests share -------------------------------------------------------

IOB2 = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
DEFAULT_ROWS = {
    "train": [(["Rais", "Kenyatta", "alisema", "leo"], [1, 2, 0, 0]), (["Bunge", "la", "Ulaya", "Nairobi"], [3, 4, 4, 5])],
    "validation": [(["Amina", "yuko", "Lagos"], [1, 0, 5])],
}


def write_built_dataset(folder, langs=("swa", "yor"), rows=None, licenses=("CC BY-NC 4.0", "Reuters Corpus terms (research use)"),
                        fingerprint_suffix: str = ""):
    """A folder shaped like the output of ``silver-ner build``: manifest + one ``save_to_disk`` DatasetDict per language.

    ``rows`` maps a language to ``{split: [(tokens, tag ids), ...]}`` (default: three small sentences).
    """
    from pathlib import Path

    from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    features = Features({"id": Value("string"), "tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=IOB2)),
                         "source_id": Value("string"), "method": Value("string")})
    configs = {}
    for lang in langs:
        lang_rows = (rows or {}).get(lang, DEFAULT_ROWS)
        dd = DatasetDict({
            split: Dataset.from_dict({
                "id": [f"{lang}-{split}-{i}" for i in range(len(items))],
                "tokens": [t for t, _ in items],
                "ner_tags": [g for _, g in items],
                "source_id": [f"conll-train-{i}" for i in range(len(items))],
                "method": ["candidates"] * len(items),
            }, features=features)
            for split, items in lang_rows.items()
        })
        dd.save_to_disk(str(folder / lang))
        n_ent = sum(1 for items in lang_rows.values() for _, tags in items for t in tags if IOB2[t].startswith("B-"))
        configs[lang] = {
            "path": lang,
            "num_rows": {split: len(items) for split, items in lang_rows.items()},
            "label_names": IOB2,
            "label_mapping": {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": None},
            "stats": {"sentences_in": 5, "sentences_out": 3, "entities_per_class": {"PER": n_ent - 2, "ORG": 1, "LOC": 1},
                      "projection_rate": 0.875, "filters": {"no_target_entity": 1, "too_long": 1}},
            "source": {"kind": "conll", "files": ["conll2003_en/train.txt"], "language": "en"},
            "target_source": {"kind": "parallel", "files": [f"mafand/en-{lang}/train.{lang}"]},
            "aligner": "simalign-0.4:multilingual-e5-small:layer8:itermax",
            "method": "candidates",
            "method_params": {"max_ngram": 3},
            "fingerprint": f"fp-{lang}{fingerprint_suffix}",
            "licenses": list(licenses),
        }
        if lang == "swa":  # a config with gold target labels records its projection quality
            configs[lang]["reference"] = {"file": "/data/masakhaner2/swa/train.txt", "sentences": 3, "precision": 0.9, "recall": 0.8, "f1": 0.847}
    manifest = {"format": "silver-ner-build/1", "silver_ner_version": "0.1.0", "created": "2026-11-22T00:00:00+00:00", "configs": configs}
    (folder / "silver_ner_build.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return folder


def write_tiny_build(folder, langs=("swa", "deu"), *, files=None, reference=True, **spec_kw):
    """A real ``silver-ner build`` output (``builders.build.build``) of the embedded sample, aligned by
    :class:`conftest.SameWordAligner` (named ``identical-tokens``).

    ``files``: a ``parallel`` source's files instead of the sample (``{lang}`` filled in); ``reference``:
    the sample's hand labels (``True``, with the sample only), none, or a CoNLL file; ``spec_kw`` go to
    ``BuildSpec`` (``source_license``, ``validation_fraction``, ...).
    """
    from pathlib import Path

    from conftest import SameWordAligner

    from silver_ner.builders.build import SAMPLES_DIR, BuildSpec, LanguageBuild, SourceSpec, build, demo_source

    folder = Path(folder)
    source = demo_source() if files is None else SourceSpec("parallel", dict(files))
    spec_kw.setdefault("method", "naive")
    if isinstance(reference, str):  # a labelled CoNLL file of the target side
        spec_kw["reference"] = reference
    elif reference and files is None:  # the sample's hand labels
        spec_kw["reference"] = str(SAMPLES_DIR / "{lang}.conll")
    specs = [BuildSpec(lang, source, **spec_kw) for lang in langs]
    cache_dir = folder.parent / f".cache-{folder.name}"
    builds = {s.lang: LanguageBuild(s, cache_dir=cache_dir, aligner=SameWordAligner("identical-tokens")) for s in specs}
    build(specs, folder, cache_dir=cache_dir, builds=builds)
    return folder


def sample_data_root(root):
    """A data folder laid out like the real one, holding the embedded sample as MAFAND-MT text with CoNLL-2003 labels."""
    import shutil
    from pathlib import Path

    from silver_ner.builders.build import SAMPLES_DIR

    root = Path(root)
    for lang in ("swa", "deu"):
        (root / "mafand" / f"en-{lang}").mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES_DIR / "eng.txt", root / "mafand" / f"en-{lang}" / "train.en")
        shutil.copy(SAMPLES_DIR / f"{lang}.txt", root / "mafand" / f"en-{lang}" / f"train.{lang}")
    (root / "conll2003_en").mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES_DIR / "eng.conll", root / "conll2003_en" / "train.txt")
    return {"source_text": str(root / "mafand/en-{lang}/train.en"), "target_text": str(root / "mafand/en-{lang}/train.{lang}"),
            "source_labels": str(root / "conll2003_en/train.txt")}


def eval_record(f1: float = 0.61, config: str = "swa") -> dict:
    """One evaluation record in the ``eval_results.json`` format."""
    return {"system": "student", "model": "tiny", "dataset": "masakhaner2", "config": config, "split": "test",
            "language": config, "n_sentences": 12,
            "metrics": {"precision": round(f1 + 0.04, 4), "recall": round(f1 - 0.03, 4), "f1": f1,
                        "per_type": {"PER": {"precision": 0.7, "recall": 0.6, "f1": 0.646, "number": 5}}}}


def write_student(folder, encoder_dir, *, records=None, training=True, labels=IOB2, seed: int = 1):
    """A token-classification model folder from the tiny encoder, with optional eval/training records."""
    from pathlib import Path

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    model = AutoModelForTokenClassification.from_pretrained(
        encoder_dir, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(encoder_dir).save_pretrained(folder)
    if records is not None:
        (folder / "eval_results.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    if training:
        (folder / "silver_ner_training.json").write_text(json.dumps({
            "role": "student", "base_encoder": {"name": "me5-small", "path": str(encoder_dir)},
            "training_data": [{"source": "hub", "repo": "silver-org/silver-ner", "config": "swa", "split": "train", "revision": "v1.0.0"}],
            "n_sentences": 3, "hyperparameters": {"epochs": 2.0, "learning_rate": 5e-05, "batch_size": 16, "seed": 42},
        }), encoding="utf-8")
    (folder / "checkpoints").mkdir(exist_ok=True)
    (folder / "checkpoints" / "optimizer.pt").write_bytes(b"not pushed")
    return folder


def running_hub(home):
    """Generator for a pytest fixture: a started server with the clients pointed at it (token: write)."""
    with HubServer() as server:
        server.env = ClientEnvironment(server.endpoint, home)
        try:
            yield server
        finally:
            server.env.restore()
