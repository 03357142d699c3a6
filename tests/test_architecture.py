"""The package's structure: module names, one import name per module, layer contracts."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from import_contracts import PYPROJECT, lint  # tests/ is on sys.path (conftest.py)

ROOT = Path(__file__).resolve().parent.parent
# folders mapped to ``silver_ner.<folder>`` in pyproject.toml
MAPPED = ["projection", "builders", "leaderboard", "students", "publish", "cards"]


def test_no_module_shadows_the_standard_library():
    # a folder on sys.path (scripts run from inside it, tools that add it) would hide the
    # standard-library module of the same name
    clashes = []
    for folder in MAPPED + ["silver_ner", "silver_ner/commands"]:
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.stem in sys.stdlib_module_names:
                clashes.append(f"{folder}/{path.name}")
    assert clashes == []


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    # the repository root on sys.path, run from elsewhere, like a script that adds it
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_module_has_one_import_name(tmp_path):
    # ``projection.spans`` and ``silver_ner.projection.spans`` would be two modules with two
    # ``Span`` classes (isinstance fails across them); the folder name alone is refused
    proc = _run("import projection.spans", tmp_path)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:"), proc.stderr
    assert "'silver_ner.projection'" in last and "'projection'" in last


@pytest.mark.parametrize("folder", MAPPED)
def test_every_mapped_folder_refuses_its_bare_name(folder, tmp_path):
    proc = _run(f"import {folder}", tmp_path)
    assert f"ImportError: package 'silver_ner.{folder}' imported as '{folder}'" in proc.stderr, proc.stderr


def test_the_package_name_still_imports(tmp_path):
    code = ("import silver_ner.projection.spans as a, silver_ner.builders, silver_ner.leaderboard, "
            "silver_ner.students, silver_ner.publish, silver_ner.cards; print(a.Span.__module__)")
    proc = _run(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "silver_ner.projection.spans"


# ---------------------------------------------------------------- import contracts (pyproject.toml)


def _contracts() -> dict[str, dict]:
    conf = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in conf["contracts"]}


def test_import_contracts_are_kept():
    done = lint()
    broken = [line for line in done.stdout.splitlines() if line.rstrip().endswith("BROKEN")]
    assert done.returncode == 0, "broken import contracts: " + "; ".join(broken) + "\n" + done.stdout + done.stderr


def test_a_broken_contract_is_reported(tmp_path):
    # the mapped folders are visible to the linter: a contract the code breaks fails, naming the import
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "silver_ner"\n\n'
        '[[tool.importlinter.contracts]]\nname = "students without the leaderboard"\ntype = "forbidden"\n'
        'source_modules = ["silver_ner.students"]\nforbidden_modules = ["silver_ner.leaderboard"]\n',
        encoding="utf-8",
    )
    done = lint(config)
    assert done.returncode != 0
    assert "students without the leaderboard BROKEN" in done.stdout
    assert "silver_ner.students.evaluation -> silver_ner.leaderboard.scoring" in done.stdout


def test_every_projection_module_is_pure_or_model_backed():
    # a new projection module must be placed on one side of the pure-core contract
    contract = _contracts()["pure-projection"]
    pure = {m.rsplit(".", 1)[1] for m in contract["source_modules"]}
    backed = {m.rsplit(".", 1)[1] for m in contract["forbidden_modules"] if m.startswith("silver_ner.projection.")}
    modules = {p.stem for p in (ROOT / "projection").glob("*.py")} - {"__init__"}
    assert sorted(modules - pure - backed) == []
    assert sorted((pure | backed) - modules) == []


def test_cards_holds_templates_only():
    files = sorted(p.name for p in (ROOT / "cards").iterdir() if p.name != "__pycache__")
    assert [f for f in files if f != "__init__.py" and not f.endswith(".md")] == []
    assert "model_card_template.md" in files and "dataset_card_template.md" in files
