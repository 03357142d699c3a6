import sys
from pathlib import Path

import pytest

from silver_ner.builders.gold import default_data_root

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
SHARED = default_data_root()  # $SILVER_NER_DATA, else ../shared/data beside the project


@pytest.fixture
def shared_data():
    """The real gold data folder beside the project; tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"real data folder {SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """Folder of a tiny random BertModel + fast tokenizer (3 layers, hidden 32)."""
    from tiny_models import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
