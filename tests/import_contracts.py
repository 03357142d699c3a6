"""Run the import contracts of pyproject.toml (``[tool.importlinter]``) on the package.

The folders ``projection/``, ``builders/``, ... are mapped into ``silver_ner`` by
``package-dir``; import-linter finds a package by walking its folder, so on the repository
it would see only ``silver_ner/``. This script lays the package out as installed (a
temporary tree of links, one per module file, built from the ``package-dir`` table) and runs
``lint-imports`` on it::

    python tests/import_contracts.py

Exit status and report are those of ``lint-imports``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def package_dirs(pyproject: Path = PYPROJECT) -> dict[str, Path]:
    """``{package name: folder}`` of every package the distribution installs."""
    conf = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping = conf.get("package-dir", {})
    out = {}
    for name in conf["packages"]:
        folder = mapping.get(name, name.replace(".", "/"))
        out[name] = pyproject.parent / folder
    return out


def lay_out(dest: Path, pyproject: Path = PYPROJECT) -> list[str]:
    """Link the module files of every package under ``dest`` as they are installed; returns
    the module names laid out."""
    modules = []
    for name, folder in package_dirs(pyproject).items():
        target = dest.joinpath(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted(folder.glob("*.py")):
            (target / src.name).symlink_to(src)
            modules.append(name if src.stem == "__init__" else f"{name}.{src.stem}")
    return modules


def lint(config: Path = PYPROJECT) -> subprocess.CompletedProcess:
    """``lint-imports`` on the laid-out package with the contracts of ``config``."""
    with tempfile.TemporaryDirectory() as tmp:
        lay_out(Path(tmp))
        # the laid-out tree comes first on sys.path, before the editable install's finder
        env = dict(os.environ, PYTHONPATH=tmp)
        cmd = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
               "--no-cache", "--no-logo", str(config)]
        return subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)


def main() -> int:
    done = lint()
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
