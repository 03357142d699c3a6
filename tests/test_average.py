"""Weight averaging of fine-tuned token classifiers (tiny random models)."""

import json

import pytest

from silver_ner.cli import main
from silver_ner.students.average import average_models
from silver_ner.students.predict import ModelFolderError, load_token_classifier, predict_tags
from silver_ner.students.train import TrainSettings, load_conll_data, train_token_classifier
from conftest import FAST, SENTS, write_conll


@pytest.fixture(scope="module")
def two_students(tiny_bert, tmp_path_factory):
    root = tmp_path_factory.mktemp("students")
    data = load_conll_data(write_conll(root / "t.txt"))
    for name, seed in (("a", 1), ("b", 2)):
        train_token_classifier(data, root / name, encoder=str(tiny_bert), settings=TrainSettings(seed=seed, max_steps=3, **FAST),
                               keep_types=["PER", "ORG", "LOC"], role="student", show_progress=False)
    return root / "a", root / "b"


def test_average_is_the_weighted_mean_and_tags(two_students, tmp_path):
    from safetensors.numpy import load_file

    a, b = two_students
    rec = average_models([a, b], tmp_path / "soup", weights=[3, 1])
    wa, wb, ws = (load_file(p / "model.safetensors") for p in (a, b, tmp_path / "soup"))
    assert ws.keys() == wa.keys()
    moved = [k for k in wa if not (wa[k] == wb[k]).all()]
    assert moved  # the two seeds gave different weights
    for k in wa:
        assert abs(ws[k] - (0.75 * wa[k] + 0.25 * wb[k])).max() < 1e-6, k
    assert [s["weight"] for s in rec["averaged_from"]] == [0.75, 0.25]
    saved = json.loads((tmp_path / "soup" / "silver_ner_training.json").read_text())
    assert saved["averaged_from"][1]["path"] == b.name and saved["role"] == "student"  # by name, never a machine path
    loaded = load_token_classifier(tmp_path / "soup")
    assert loaded.names == load_token_classifier(a).names
    assert len(predict_tags(loaded, [["John", "visited", "Paris"]]).tags[0]) == 3


def test_models_that_cannot_be_averaged_are_refused(two_students, tiny_bert, tmp_path):
    a, b = two_students
    with pytest.raises(ValueError, match="at least two"):
        average_models([a], tmp_path / "x")
    with pytest.raises(ValueError, match="weights must be positive"):
        average_models([a, b], tmp_path / "x", weights=[1, 0])
    with pytest.raises(ValueError, match="one of the models being averaged"):
        average_models([a, b], a)
    data = load_conll_data(write_conll(tmp_path / "t.txt", sents=SENTS))
    other = tmp_path / "per-only"
    train_token_classifier(data, other, encoder=str(tiny_bert), settings=TrainSettings(max_steps=1, **FAST),
                           keep_types=["PER"], role="student", show_progress=False)
    with pytest.raises(ModelFolderError, match="labels .* differ"):
        average_models([a, other], tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_cli_average(two_students, tmp_path, capsys):
    a, b = two_students
    assert main(["average", str(a), str(b), "--output", str(tmp_path / "soup")]) == 0
    assert "mean of 2 models (weights 0.5, 0.5)" in capsys.readouterr().out
    assert main(["average", str(a), str(b), "--output", str(tmp_path / "s2"), "--weights", "1,x"]) == 2
    assert "expected comma-separated numbers" in capsys.readouterr().err
