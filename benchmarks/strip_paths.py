"""Rewrite the machine paths in committed result files to repository-relative or named forms.

Result files (``experiments/results``, ``benchmarks/results``), the docs and the README must not
carry the paths of the machine they were made on. Each known folder is rewritten, the longest
first:

==========================================  ==========================================
the data folder (``$SILVER_NER_DATA``)      the path under it, as in build manifests
                                            (``masakhaner2/swa/test.txt``)
the silver-ner cache                        ``<cache>/…`` (``<cache>/encoders/…``)
the repository                              the repository-relative path
the folder holding the repository           the path under it (``runs/teacher``)
the temporary folder                        ``<tmp>/…``
the home folder                             ``~/…``
==========================================  ==========================================

Only the text of a path changes (files are not re-serialised), so rerunning changes nothing::

    python benchmarks/strip_paths.py            # rewrite in place, list the files changed
    python benchmarks/strip_paths.py --check    # exit 1 when a file still holds a machine path
    python benchmarks/strip_paths.py FILE_OR_FOLDER ... [--map OLD=NEW]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGETS = ("experiments/results", "benchmarks/results", "docs", "README.md")
TEXT_SUFFIXES = {".json", ".jsonl", ".md", ".csv", ".tsv", ".txt", ".log", ".yaml", ".yml", ".html"}


def _cache_dir() -> Path:
    from silver_ner.projection.models import cache_root

    return cache_root()


def _data_root() -> Path:
    try:
        from silver_ner.builders.gold import default_data_root

        return default_data_root()
    except ImportError:
        return ROOT.parent / "shared" / "data"


def default_rules(root: Path = ROOT) -> list[tuple[str, str]]:
    """``(absolute folder, replacement)`` pairs; the folder is replaced together with its trailing ``/``."""
    rules = [
        (_data_root(), ""),
        (_cache_dir(), "<cache>/"),
        (root, ""),
        (root.parent, ""),
        (Path(tempfile.gettempdir()), "<tmp>/"),
        (Path.home(), "~/"),
    ]
    out: list[tuple[str, str]] = []
    for folder, new in rules:
        for form in {os.fspath(folder), os.fspath(Path(folder).resolve())}:
            if form not in ("", "/") and all(form != old for old, _ in out):
                out.append((form, new))
    return out


def compile_rules(rules: list[tuple[str, str]]) -> tuple[re.Pattern, dict[str, str]]:
    """One regex matching any folder of ``rules`` followed by ``/`` (longest folder first)."""
    by_prefix = {old.rstrip("/") + "/": new for old, new in rules}
    alternatives = sorted(by_prefix, key=len, reverse=True)
    # a folder starts a path: not preceded by a path character (so ".../x/work/" is left alone)
    pattern = re.compile(r"(?<![\w.~-])(?:" + "|".join(re.escape(a) for a in alternatives) + ")")
    return pattern, by_prefix


def strip_text(text: str, rules: list[tuple[str, str]]) -> str:
    pattern, by_prefix = compile_rules(rules)
    return pattern.sub(lambda m: by_prefix[m.group(0)], text)


def text_files(targets: list[Path]) -> list[Path]:
    files = []
    for t in targets:
        if t.is_file():
            files.append(t)
        elif t.is_dir():
            files += sorted(p for p in t.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", help=f"files or folders (default: {', '.join(DEFAULT_TARGETS)})")
    ap.add_argument("--map", action="append", default=[], metavar="OLD=NEW",
                    help="a further folder to rewrite (OLD absolute, NEW its replacement)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a file holds a path to rewrite")
    args = ap.parse_args(argv)
    rules = default_rules()
    for item in args.map:
        old, sep, new = item.partition("=")
        if not sep or not os.path.isabs(old):
            ap.error(f"--map {item!r}: expected OLD=NEW with an absolute OLD")
        rules.insert(0, (old, new.rstrip("/") + "/" if new else ""))
    targets = [Path(t) for t in args.targets] or [ROOT / t for t in DEFAULT_TARGETS]
    changed = []
    for path in text_files(targets):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = strip_text(text, rules)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(os.path.relpath(path))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
