"""Evaluation of a tiny trained model on gold sets, eval_results.json records, the leaderboard table and plot."""

import csv
import json

import numpy as np
import pytest
from test_train import SENTS, write_conll

from silver_ner.cli import main
from silver_ner.leaderboard.board import collect_records, write_leaderboard
from silver_ner.leaderboard.scoring import align_label_sets, read_results, restrict_tags, score_tags
from silver_ner.students.evaluation import evaluate_model
from silver_ner.students.predict import ModelFolderError, load_token_classifier, predict_tags
from silver_ner.students.train import TrainSettings, load_conll_data, make_compute_metrics, train_token_classifier


@pytest.fixture(scope="module")
def tiny_ner(tiny_bert, tmp_path_factory):
    """A tiny PER/ORG/LOC model trained for a few steps."""
    root = tmp_path_factory.mktemp("ner")
    data = load_conll_data(write_conll(root / "train.txt"))
    out = root / "model"
    train_token_classifier(data, out, encoder=str(tiny_bert), keep_types=["PER", "ORG", "LOC"],
                           settings=TrainSettings(max_steps=3, batch_size=2, learning_rate=1e-3), show_progress=False)
    return out


def test_evaluate_records_scores_on_shared_types(tiny_ner, tmp_path):
    gold = write_conll(tmp_path / "test.txt")  # PER ORG LOC DATE MISC
    recs = evaluate_model(str(tiny_ner), [str(gold)], language="swa", results_file=tmp_path / "res.json")
    rec = recs[0]
    assert {"system", "model", "dataset", "config", "split", "language", "metrics", "n_sentences"} <= set(rec)
    assert set(rec["metrics"]) == {"precision", "recall", "f1", "per_type"}
    assert rec["n_sentences"] == len(SENTS) and rec["language"] == "swa" and rec["split"] == "test"
    assert rec["labels"]["scored"] == ["PER", "ORG", "LOC"]
    assert rec["labels"]["ignored_gold"] == ["DATE", "MISC"]
    assert rec["labels"]["gold_entities_ignored"] == {"DATE": 1, "MISC": 1}
    # same numbers as running the model and seqeval on the shared types by hand
    loaded = load_token_classifier(tiny_ner)
    pred = predict_tags(loaded, [s[0] for s in SENTS])
    al = align_label_sets(loaded.types, ["PER", "ORG", "LOC", "DATE", "MISC"])
    refs, _ = restrict_tags([s[1] for s in SENTS], al.gold_mapping)
    by_hand = score_tags(restrict_tags(pred.tags, al.model_mapping)[0], refs)
    assert rec["metrics"]["f1"] == by_hand["f1"] and rec["metrics"]["per_type"] == by_hand["per_type"]
    assert set(rec["metrics"]["per_type"]) <= {"PER", "ORG", "LOC"}
    evaluate_model(str(tiny_ner), [str(gold)], results_file=tmp_path / "res.json")
    assert len(read_results(tmp_path / "res.json")) == 2  # appended


def test_evaluate_spec_through_data_root_and_default_results_file(tiny_ner, tmp_path, capsys):
    root = tmp_path / "data"
    (root / "masakhaner2" / "swa").mkdir(parents=True)
    write_conll(root / "masakhaner2" / "swa" / "test.txt", [s for s in SENTS if "MISC" not in " ".join(s[1])])
    rc = main(["evaluate", "--model", str(tiny_ner), "--gold", "masakhaner2:swa:test", "--data-root", str(root), "--json"])
    assert rc == 0
    rec = json.loads(capsys.readouterr().out)[0]
    assert (rec["dataset"], rec["language"], rec["split"]) == ("masakhaner2", "swa", "test")
    assert rec["labels"]["ignored_gold"] == ["DATE"]
    saved = read_results(tiny_ner / "eval_results.json")
    assert saved[-1]["metrics"] == rec["metrics"]
    rc = main(["evaluate", "--model", str(tiny_ner), "--gold", "masakhaner2:swa:test", "--data-root", str(root), "--no-save"])
    assert rc == 0 and "gold types not scored: DATE" in capsys.readouterr().out


def test_evaluate_bad_inputs(tiny_ner, tiny_bert, tmp_path, capsys):
    import shutil

    no_tok = tmp_path / "no_tok"
    shutil.copytree(tiny_ner, no_tok)
    for f in no_tok.glob("tokenizer*"):
        f.unlink()
    with pytest.raises(ModelFolderError, match="no tokenizer files"):
        load_token_classifier(no_tok)
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        load_token_classifier(tmp_path / "nope")
    with pytest.raises(ModelFolderError, match="not an IOB2 label set.*fine-tuned NER model"):
        load_token_classifier(tiny_bert)  # a base encoder, not an NER model
    other = write_conll(tmp_path / "other.txt", [(["a", "b"], ["B-EVENT", "I-EVENT"])])
    with pytest.raises(ValueError, match="have nothing in common; map them with --map"):
        evaluate_model(str(tiny_ner), [str(other)], results_file=None)
    rec = evaluate_model(str(tiny_ner), [str(other)], renames=["EVENT=ORG"], results_file=None)[0]
    assert rec["labels"]["scored"] == ["ORG"] and rec["metrics"]["per_type"]["ORG"]["number"] == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    rc = main(["evaluate", "--model", str(tiny_ner), "--gold", str(empty)])
    assert rc == 2 and "the gold set is empty" in capsys.readouterr().err
    rc = main(["evaluate", "--model", str(tiny_ner), "--gold", "masakhaner2:swa:test", "--data-root", str(tmp_path)])
    assert rc == 2 and "test.txt: no such file" in capsys.readouterr().err


def test_compute_metrics_for_trainer_matches_scorer():
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    labels = np.array([[-100, 1, 2, 0, 3, -100], [-100, 3, -100, 0, 1, -100]])
    pred_ids = np.array([[0, 1, 2, 0, 0, 0], [0, 3, 1, 0, 1, 0]])
    logits = np.eye(len(names))[pred_ids]
    got = make_compute_metrics(names)((logits, labels))
    want = score_tags([["B-PER", "I-PER", "O", "O"], ["B-LOC", "O", "B-PER"]], [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O", "B-PER"]])
    assert got["f1"] == pytest.approx(want["f1"]) and got["f1_LOC"] == pytest.approx(want["per_type"]["LOC"]["f1"])


def _rec(system, lang, f1, split="test", dataset="masakhaner2"):
    return {"system": system, "model": f"/m/{system}", "dataset": dataset, "config": lang, "split": split, "language": lang,
            "metrics": {"precision": f1, "recall": f1, "f1": f1, "per_type": {}}, "n_sentences": 10,
            "labels": {"ignored_gold": ["DATE"]}}


def test_leaderboard_table_csv_json_and_png(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b"
    b.mkdir()
    a.write_text(json.dumps([_rec("teacher", "swa", 0.7), _rec("teacher", "yor", 0.4), _rec("teacher", "swa", 0.5, "dev")]))
    (b / "eval_results.json").write_text(json.dumps([_rec("student", "swa", 0.8), _rec("student", "swa", 0.82)]))
    records, notes = collect_records([a, b])
    assert len(records) == 4 and any("replaces an earlier one" in n for n in notes)
    out = write_leaderboard(records, tmp_path / "lb")
    md = out["markdown"].read_text()
    assert "| teacher | 70.0 | 40.0 | 55.0 |" in md.replace("masakhaner2 ", "")
    assert "| student | 82.0 | - | - |" in md and "DATE" in md
    rows = list(csv.DictReader(open(out["csv"])))
    assert sorted((r["system"], r["language"], r["f1"]) for r in rows) == [("student", "swa", "0.8200"), ("teacher", "swa", "0.7000"), ("teacher", "yor", "0.4000")]
    table = json.loads(out["json"].read_text())
    assert table["columns"] == ["masakhaner2 swa", "masakhaner2 yor"] and len(table["records"]) == 3
    assert len(out["jsonl"].read_text().splitlines()) == 3
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc = main(["leaderboard", str(a), str(b), "--output", str(tmp_path / "lb2"), "--split", "all"])
    assert rc == 0 and "masakhaner2 swa (dev)" in capsys.readouterr().out
    rc = main(["leaderboard", str(a), "--output", str(tmp_path / "lb3"), "--split", "train"])
    assert rc == 2 and "no records for split 'train'" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('[{"system": "x"}]')
    with pytest.raises(ValueError, match="bad.json: record 1 lacks dataset, split, language, metrics"):
        collect_records([tmp_path / "bad.json"])
