"""Talking to a Hub: token and endpoint, clear errors, and the versioned release transaction.

A release is: refuse or skip an existing version, create the repository, upload, verify the
uploaded commit, and only then tag that exact commit (``vX.Y.Z``) and optionally branch it.  A
failure anywhere before the tag leaves no tag, so a version never names a partial upload.

The endpoint is the one ``huggingface_hub`` reads from ``HF_ENDPOINT`` (self-hosted hubs); the
token comes from ``HF_TOKEN`` or the ``huggingface_hub`` login and is never printed or logged.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from silver_ner.projection.errors import UserError
from silver_ner.publish.versions import Version, check_repo_id, version_from_tag

log = logging.getLogger(__name__)

RELEASE_MANIFEST = "silver_ner_release.json"
RELEASE_FORMAT = "silver-ner-release/1"
NOT_LISTED: Any = object()  # ``release(tags=...)`` default: list the tags first


class PublishError(Exception):
    """A publish step failed; the message says what happened and what to do, never the token."""


def hub_endpoint() -> str:
    """The Hub endpoint the clients use (``HF_ENDPOINT``, default https://huggingface.co)."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def explain(exc: BaseException, repo_id: str, action: str) -> PublishError:
    """A :class:`PublishError` with a clear message for a ``huggingface_hub`` / network error."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    where = hub_endpoint()
    status = _status(exc)
    if isinstance(exc, RepositoryNotFoundError) or (status == 404 and "RepoNotFound" in str(getattr(getattr(exc, "response", None), "headers", {}))):
        return PublishError(f"{action}: repository {repo_id} not found on {where} (it does not exist, or it is private and the token cannot see it)")
    if isinstance(exc, RevisionNotFoundError):
        return PublishError(f"{action}: revision not found in {repo_id} on {where}: {exc.server_message or exc}")
    if status == 401:
        return PublishError(
            f"{action}: the Hub at {where} rejected the token (401 Unauthorized); "
            "set HF_TOKEN to a valid access token or log in with `hf auth login`"
        )
    if status == 403:
        return PublishError(
            f"{action}: the token may not write to {repo_id} on {where} (403 Forbidden); "
            "use a token with write access to that namespace"
        )
    if isinstance(exc, HfHubHTTPError):
        detail = getattr(exc, "server_message", None) or str(exc).splitlines()[0]
        return PublishError(f"{action}: the Hub at {where} answered {status or 'an error'}: {detail}")
    return PublishError(f"{action}: cannot talk to the Hub at {where}: {type(exc).__name__}: {exc}")


@contextmanager
def hub_errors(repo_id: str, action: str) -> Iterator[None]:
    """Turn client and network errors raised inside the block into one-line :class:`PublishError`."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except PublishError:
        raise
    except (HfHubHTTPError, httpx2.HTTPError, OSError) as exc:
        raise explain(exc, repo_id, action) from exc


def resolve_token(token: str | None = None) -> str | None:
    """The access token: the argument, else ``HF_TOKEN``, else the saved ``huggingface_hub`` login."""
    if token:
        return token
    from huggingface_hub import get_token

    return get_token()


@dataclass
class ReleaseResult:
    """What a publish did: ``status`` is ``"published"``, ``"unchanged"`` (same version, same content) or ``"dry-run"``."""

    repo_id: str
    repo_type: str
    version: str
    tag: str
    status: str
    commit: str | None = None
    branch: str | None = None
    url: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    pull_request: str | None = None  # the pull request that holds the release (``create_pr``)

    def summary(self) -> str:
        kind = "dataset" if self.repo_type == "dataset" else self.repo_type
        if self.status == "unchanged":
            return f"{kind} {self.repo_id} {self.tag}: already published with identical content at {self.commit}; nothing pushed"
        if self.status == "dry-run":
            return f"{kind} {self.repo_id} {self.tag}: dry run, nothing pushed"
        extra = f" and branch {self.branch}" if self.branch else ""
        if self.pull_request:
            return (f"{kind} {self.repo_id}: published {self.tag}{extra} at commit {self.commit} of pull request "
                    f"{self.pull_request} (the default branch changes when it is merged)")
        return f"{kind} {self.repo_id}: published {self.tag}{extra} at commit {self.commit} ({self.url})"


class Hub:
    """A thin wrapper over :class:`huggingface_hub.HfApi` with the checks a release needs."""

    def __init__(self, token: str | None = None):
        from huggingface_hub import HfApi

        self.token = resolve_token(token)
        self.endpoint = hub_endpoint()
        self.api = HfApi(endpoint=self.endpoint, token=self.token)

    def __repr__(self) -> str:  # never show the token
        return f"Hub(endpoint={self.endpoint!r}, token={'set' if self.token else 'none'})"

    def check_write_access(self, repo_id: str) -> str:
        """The user name of a token that may write; a clear error for no token, a bad one or a read-only one."""
        if not self.token:
            raise PublishError(
                f"publish {repo_id}: no Hub token; set HF_TOKEN or log in with `hf auth login` (endpoint {self.endpoint})"
            )
        with hub_errors(repo_id, "check the token"):
            who = self.api.whoami(token=self.token)
        role = (((who.get("auth") or {}).get("accessToken") or {}).get("role")) or "write"
        if role == "read":
            raise PublishError(
                f"publish {repo_id}: the token is read-only (role 'read') on {self.endpoint}; "
                "use a token with write access"
            )
        return str(who.get("name", ""))

    def tags(self, repo_id: str, repo_type: str) -> dict[str, str] | None:
        """``{tag: commit}`` of the repository, or ``None`` when it does not exist (or is invisible)."""
        from huggingface_hub.errors import RepositoryNotFoundError

        try:
            refs = self.api.list_repo_refs(repo_id, repo_type=repo_type)
        except RepositoryNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - translated below
            with hub_errors(repo_id, "list versions"):
                raise exc
        return {t.name: t.target_commit for t in refs.tags}

    def read_file(self, repo_id: str, repo_type: str, path: str, revision: str) -> bytes | None:
        """The bytes of ``path`` at ``revision``, or ``None`` when the file is absent."""
        from huggingface_hub.errors import EntryNotFoundError, RemoteEntryNotFoundError

        with hub_errors(repo_id, f"read {path}"):
            try:
                local = self.api.hf_hub_download(repo_id, path, repo_type=repo_type, revision=revision)
            except (EntryNotFoundError, RemoteEntryNotFoundError):
                return None
        with open(local, "rb") as fh:
            return fh.read()

    def read_json(self, repo_id: str, repo_type: str, path: str, revision: str) -> dict | None:
        data = self.read_file(repo_id, repo_type, path, revision)
        if data is None:
            return None
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise PublishError(f"{repo_id}@{revision}: {path} line {exc.lineno}: not valid JSON ({exc.msg})") from exc

    def tree(self, repo_id: str, repo_type: str, revision: str) -> dict[str, Any]:
        """``{path: RepoFile}`` of every file at ``revision``."""
        from huggingface_hub.hf_api import RepoFile

        with hub_errors(repo_id, "list the uploaded files"):
            entries = self.api.list_repo_tree(repo_id, repo_type=repo_type, revision=revision, recursive=True)
            return {e.path: e for e in entries if isinstance(e, RepoFile)}

    def validate_card(self, card, repo_type: str, repo_id: str) -> None:
        """The Hub's own metadata check (``/api/validate-yaml``); an invalid card is a ``ValueError``."""
        from huggingface_hub import constants

        saved = constants.ENDPOINT
        constants.ENDPOINT = self.endpoint  # RepoCard.validate reads the module constant
        try:
            with hub_errors(repo_id, "validate the card"):
                card.validate(repo_type=repo_type)
        except ValueError as exc:
            raise UserError(f"the {repo_type} card for {repo_id} fails the Hub's metadata checks: {exc}") from exc
        finally:
            constants.ENDPOINT = saved


def previous_manifest(hub: Hub, repo_id: str, repo_type: str, tags: dict[str, str] | None) -> dict | None:
    """The release manifest of the newest version tag in the repository (for the version history)."""
    versions = sorted(((v, t) for t in (tags or {}) if (v := version_from_tag(t)) is not None), key=lambda vt: vt[0].sort_key())
    if not versions:
        return None
    tag = versions[-1][1]
    return hub.read_json(repo_id, repo_type, RELEASE_MANIFEST, tags[tag])


def read_json_file(path) -> Any:
    """A local JSON file; a syntax error is a ``ValueError`` naming the file and line."""
    from pathlib import Path

    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc


def open_release(token: str | None, repo_id: str, repo_type: str, card, history_entry: dict) -> tuple["Hub", dict | None, list[dict]]:
    """Network checks before any upload: token may write, the card passes the Hub's validation.

    Returns the hub, the repository's tags (``None``: no repository yet) and the version history
    (that of the newest released version plus ``history_entry``).
    """
    hub = Hub(token)
    hub.check_write_access(repo_id)
    hub.validate_card(card, repo_type, repo_id)
    tags = hub.tags(repo_id, repo_type)
    previous = previous_manifest(hub, repo_id, repo_type, tags) if tags else None
    return hub, tags, history_with(previous, history_entry)


def history_with(previous: dict | None, entry: dict) -> list[dict]:
    """The version history of ``previous`` plus ``entry`` (an entry for the same version is replaced)."""
    history = [h for h in (previous or {}).get("history", []) if h.get("version") != entry["version"]]
    history.append(entry)
    return sorted(history, key=lambda h: version_from_tag("v" + h["version"]).sort_key())


def card_metadata(card_or_text) -> dict:
    """The YAML metadata of a card (object or README text), without the upload-dependent ``dataset_info``."""
    from huggingface_hub import RepoCard

    card = RepoCard(card_or_text) if isinstance(card_or_text, str) else card_or_text
    meta = card.data.to_dict()
    meta.pop("dataset_info", None)
    return meta


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def card_changes(old: dict, new: dict) -> list[str]:
    """``key: old → new`` for every metadata key that differs."""
    return [f"{k}: {_short(old.get(k))} → {_short(new.get(k))}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def release(
    hub: Hub,
    *,
    repo_id: str,
    repo_type: str,
    version: Version,
    content: dict,
    upload: Callable[[str | None], str],
    verify: Callable[[str], None],
    private: bool = False,
    branch: bool = False,
    tags: dict[str, str] | None = NOT_LISTED,
    card: Any = None,
    card_inputs: dict | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> ReleaseResult:
    """Publish one version: refuse/skip an existing tag, create the repo, ``upload(revision)`` → commit sha, ``verify(sha)``, tag it.

    ``content`` is what identifies the release's content (hashes); republishing the same version
    with equal content is a no-op, with different content an error.  A published version's card is
    never changed: republishing it with equal content but a card whose metadata differs (licence,
    name, sources, ...) or whose ``card_inputs`` (options shown only in the card's body, recorded in
    the release manifest) differ is an error too.  ``tags`` may be passed when the caller already listed them
    (``None``: the repository does not exist).  ``revision``: the branch the upload commits to
    (created from the default branch when missing).  ``create_pr``: the upload goes to a new pull
    request against that branch (``refs/pr/N``); the tag names the pull request's verified commit,
    and the branch changes only when a maintainer merges it.
    """
    check_repo_id(repo_id)
    if create_pr and revision and revision != "main":
        raise UserError(f"--create-pr opens a pull request against the default branch; it does not go with --revision {revision}")
    if tags is NOT_LISTED:
        tags = hub.tags(repo_id, repo_type)
    if tags is not None and version.tag in tags:
        at = tags[version.tag]
        old = hub.read_json(repo_id, repo_type, RELEASE_MANIFEST, at) or {}
        if old.get("content") != content:
            raise PublishError(
                f"version {version} already exists in {repo_id} (tag {version.tag} at {at[:12]}) "
                "with different content; publish it under a new version"
            )
        if card is not None:
            readme = hub.read_file(repo_id, repo_type, "README.md", at)
            changes = card_changes(card_metadata(readme.decode("utf-8")) if readme else {}, card_metadata(card))
            if "card_inputs" in old:  # inputs shown only in the card's body (e.g. --quality figures)
                changes += [f"{c.split(':', 1)[0]} (body): {c.split(': ', 1)[1]}"
                            for c in card_changes(old["card_inputs"], card_inputs or {})]
            if changes:
                raise PublishError(
                    f"version {version} is already published in {repo_id} (tag {version.tag} at {at[:12]}) with the same "
                    f"content but a different card ({'; '.join(changes)}); the card of a published version is never "
                    "changed: publish the new card under a new version"
                )
        return ReleaseResult(repo_id, repo_type, str(version), version.tag, "unchanged", commit=at)
    with hub_errors(repo_id, "create the repository"):
        url = hub.api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        if private and tags is not None:
            hub.api.update_repo_settings(repo_id, repo_type=repo_type, private=True)
        if revision:
            hub.api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
    pull_request = None
    if create_pr:
        with hub_errors(repo_id, "open a pull request"):
            pr = hub.api.create_pull_request(repo_id, title=f"silver-ner release {version}", repo_type=repo_type,
                                             description=f"Release {version.tag} made by silver-ner.")
        revision, pull_request = pr.git_reference, pr.url
    try:
        sha = upload(revision)
        verify(sha)
    except (PublishError, ValueError) as exc:
        raise PublishError(f"{exc}; no tag {version.tag} was created") from exc
    except Exception as exc:  # noqa: BLE001 - any client error: report it, and that no tag exists
        raise PublishError(f"{explain(exc, repo_id, 'upload')}; no tag {version.tag} was created") from exc
    with hub_errors(repo_id, f"tag {version.tag}"):
        hub.api.create_tag(repo_id, tag=version.tag, revision=sha, repo_type=repo_type,
                           tag_message=f"silver-ner release {version}")
        made_branch = None
        if branch:
            hub.api.create_branch(repo_id, branch=version.branch, revision=sha, repo_type=repo_type)
            made_branch = version.branch
    log.info("published %s %s at %s", repo_id, version.tag, sha)
    return ReleaseResult(repo_id, repo_type, str(version), version.tag, "published", commit=sha, branch=made_branch, url=str(url),
                         pull_request=pull_request)
