"""The local seqeval evaluate module gives seqeval's own numbers, overall and per type."""

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from silver_ner.leaderboard.scoring import SEQEVAL_MODULE, load_seqeval, score_tags

REFS = [
    ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG"],
    ["O", "B-LOC", "I-LOC", "O", "B-PER"],
    ["B-ORG", "O", "O", "B-DATE", "I-DATE"],
]
PREDS = [
    ["B-PER", "I-PER", "O", "B-ORG", "O", "B-ORG", "O"],  # PER right, LOC wrong type, ORG too short
    ["O", "I-LOC", "I-LOC", "O", "B-PER"],  # LOC starts with I-: wrong in strict mode, right in default mode
    ["B-ORG", "O", "B-PER", "B-DATE", "I-DATE"],
]


def test_module_loads_by_path_offline(monkeypatch):
    import evaluate

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metric = evaluate.load(str(SEQEVAL_MODULE))
    res = metric.compute(predictions=[["B-PER", "O"]], references=[["B-PER", "O"]])
    assert res["overall_f1"] == 1.0 and res["PER"]["number"] == 1


def test_strict_matches_seqeval_overall_and_per_type():
    res = load_seqeval().compute(predictions=PREDS, references=REFS)
    kw = dict(mode="strict", scheme=IOB2)
    assert res["overall_precision"] == pytest.approx(precision_score(REFS, PREDS, **kw))
    assert res["overall_recall"] == pytest.approx(recall_score(REFS, PREDS, **kw))
    assert res["overall_f1"] == pytest.approx(f1_score(REFS, PREDS, **kw))
    report = classification_report(REFS, PREDS, output_dict=True, zero_division=0, **kw)
    for typ in ("PER", "ORG", "LOC", "DATE"):
        assert res[typ]["precision"] == pytest.approx(report[typ]["precision"])
        assert res[typ]["recall"] == pytest.approx(report[typ]["recall"])
        assert res[typ]["f1"] == pytest.approx(report[typ]["f1-score"])
        assert res[typ]["number"] == report[typ]["support"]


def test_strict_and_default_modes_differ_on_i_without_b():
    metric = load_seqeval()
    strict = metric.compute(predictions=[PREDS[1]], references=[REFS[1]])
    lenient = metric.compute(predictions=[PREDS[1]], references=[REFS[1]], mode="default")
    # strict: the I-LOC I-LOC prediction is no entity, so LOC is missed; default reads it as LOC
    assert strict["LOC"]["recall"] == 0.0 and lenient["LOC"]["recall"] == 1.0
    assert lenient["overall_f1"] == pytest.approx(f1_score([REFS[1]], [PREDS[1]]))
    assert strict["overall_f1"] == pytest.approx(f1_score([REFS[1]], [PREDS[1]], mode="strict", scheme=IOB2))
    assert strict["overall_f1"] < lenient["overall_f1"]


def test_score_tags_shape_and_errors():
    s = score_tags(PREDS, REFS)
    assert set(s) == {"precision", "recall", "f1", "accuracy", "per_type"}
    assert set(s["per_type"]) == {"PER", "ORG", "LOC", "DATE"}
    with pytest.raises(ValueError, match="2 predicted sequences but 3"):
        score_tags(PREDS[:2], REFS)
    with pytest.raises(ValueError, match="sequence 0: 1 predicted tags but 7"):
        score_tags([["O"], *PREDS[1:]], REFS)
    with pytest.raises(ValueError, match="no sentences"):
        score_tags([], [])
