"""The package's structure: module names, one import name per module, layer contracts."""

from __future__ import annotations

import sys
from pathlib import Path

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
