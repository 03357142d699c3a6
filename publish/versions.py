"""Release versions and repository ids: semantic versions, their tags and release branches."""

from __future__ import annotations

import re
from dataclasses import dataclass

from silver_ner.projection.errors import UserError

_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_REPO_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")


@dataclass(frozen=True, order=True)
class Version:
    """A semantic version ``MAJOR.MINOR.PATCH[-PRERELEASE]`` (build metadata is refused: tags must be unique)."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.prerelease}" if self.prerelease else "")

    @property
    def tag(self) -> str:
        """The Hub tag of this version, e.g. ``v1.0.0``."""
        return f"v{self}"

    @property
    def branch(self) -> str:
        """The optional release branch of this version, e.g. ``release-v1.0.0``."""
        return f"release-v{self}"

    def sort_key(self) -> tuple:
        # a pre-release sorts before its release
        return (self.major, self.minor, self.patch, self.prerelease == "", self.prerelease)


def parse_version(text: str) -> Version:
    """``"1.0.0"`` or ``"v1.0.0"`` → :class:`Version`; anything else is a ``ValueError`` naming the argument."""
    raw = str(text).strip()
    body = raw[1:] if raw[:1] in ("v", "V") else raw
    m = _SEMVER.fullmatch(body)
    if not m:
        raise UserError(f"--version {raw!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 1.0.0 or 1.1.0-rc.1)")
    if m.group(5):
        raise UserError(f"--version {raw!r}: build metadata (+...) is not allowed in a release version")
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or "")


def version_from_tag(tag: str) -> Version | None:
    """The version a ``vX.Y.Z`` tag names, or ``None`` for other tags."""
    if not tag.startswith("v"):
        return None
    try:
        return parse_version(tag)
    except ValueError:
        return None


def check_repo_id(repo_id: str) -> str:
    """A Hub repository id ``namespace/name``; raises ``ValueError`` naming the argument otherwise."""
    parts = str(repo_id).split("/")
    if len(parts) != 2 or not all(_REPO_PART.fullmatch(p) for p in parts) or any(".." in p or "--" in p for p in parts):
        raise UserError(
            f"--repo {repo_id!r} is not a Hub repository id 'namespace/name' "
            "(letters, digits, '-', '_', '.'; e.g. my-org/silver-ner)"
        )
    return repo_id
