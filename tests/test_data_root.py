"""One name for the data folder: SILVER_NER_DATA; SILVER_NER_SHARED_DATA is a deprecated alias."""

import warnings
from pathlib import Path

import pytest

from silver_ner.builders.gold import default_data_root


def test_silver_ner_data_names_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SILVER_NER_DATA", str(tmp_path / "new"))
    monkeypatch.setenv("SILVER_NER_SHARED_DATA", str(tmp_path / "old"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert default_data_root() == tmp_path / "new"


def test_old_name_still_read_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.delenv("SILVER_NER_DATA", raising=False)
    monkeypatch.setenv("SILVER_NER_SHARED_DATA", str(tmp_path / "old"))
    with pytest.warns(FutureWarning, match="SILVER_NER_SHARED_DATA is deprecated; set SILVER_NER_DATA"):
        assert default_data_root() == tmp_path / "old"


def test_default_is_beside_the_project(monkeypatch):
    monkeypatch.delenv("SILVER_NER_DATA", raising=False)
    monkeypatch.delenv("SILVER_NER_SHARED_DATA", raising=False)
    root = Path(__file__).resolve().parent.parent
    assert default_data_root() == root.parent / "shared" / "data"
