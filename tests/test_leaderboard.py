"""Evaluation of a tiny trained model on gold sets, eval_results.json records, the leaderboard table and plot."""

import csv
import json
import re

import numpy as np
import pytest
from conftest import SENTS, write_conll

from silver_ner.cli import main
from silver_ner.leaderboard.board import collect_records, write_leaderboard
from silver_ner.leaderboard.scoring import read_results, read_results_file
from silver_ner.projection.errors import UserError
from silver_ner.publish.results import read_records
from silver_ner.students.evaluation import evaluate_model
from silver_ner.students.predict import ModelFolderError, load_token_classifier
from silver_ner.students.train import make_compute_metrics


def test_evaluate_records_scores_on_shared_types(word_model, tmp_path):
    gold = write_conll(tmp_path / "test.txt")  # PER ORG LOC DATE MISC
    recs = evaluate_model(str(word_model), [str(gold)], language="swa", results_file=tmp_path / "res.json")
    rec = recs[0]
    assert {"system", "model", "dataset", "config", "split", "language", "metrics", "n_sentences"} <= set(rec)
    assert set(rec["metrics"]) == {"precision", "recall", "f1", "per_type"}
    assert rec["n_sentences"] == len(SENTS) and rec["language"] == "swa" and rec["split"] == "test"
    assert rec["labels"]["scored"] == ["PER", "ORG", "LOC"]
    assert rec["labels"]["ignored_gold"] == ["DATE", "MISC"]
    assert rec["labels"]["gold_entities_ignored"] == {"DATE": 1, "MISC": 1}
    # by hand: the word classifier finds "John Smith" (PER) and "Nairobi" (LOC), both right, and nothing else;
    # the gold set has 4 PER, 2 ORG and 5 LOC entities on the scored types
    assert rec["metrics"]["precision"] == 1.0
    assert rec["metrics"]["recall"] == pytest.approx(2 / 11)
    assert rec["metrics"]["f1"] == pytest.approx(4 / 13)
    assert rec["metrics"]["per_type"] == {
        "PER": {"precision": 1.0, "recall": 0.25, "f1": pytest.approx(0.4), "number": 4},
        "ORG": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "number": 2},
        "LOC": {"precision": 1.0, "recall": 0.2, "f1": pytest.approx(1 / 3), "number": 5},
    }
    evaluate_model(str(word_model), [str(gold)], results_file=tmp_path / "res.json")
    assert len(read_results(tmp_path / "res.json")) == 2  # appended


def test_evaluate_spec_through_data_root_and_default_results_file(tiny_tagger, tmp_path, capsys):
    import shutil

    tiny_ner = shutil.copytree(tiny_tagger, tmp_path / "model")  # the default results file goes into the model folder
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


def test_evaluate_bad_inputs(tiny_tagger, tiny_bert, tmp_path, capsys):
    tiny_ner = tiny_tagger
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
    # by hand: predicted PER, PER, LOC (all right) against gold PER, PER, LOC, LOC: P 1, R 3/4; LOC: P 1, R 1/2
    assert got["f1"] == pytest.approx(6 / 7) and got["f1_LOC"] == pytest.approx(2 / 3)


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
    assert "| system | swa | yor | mean |" in md
    assert "| teacher | 70.0 | **40.0** | **55.0** |" in md
    assert "| student | **82.0** | n/a | n/a |" in md and "DATE" in md
    rows = list(csv.DictReader(open(out["csv"])))
    assert sorted((r["system"], r["language"], r["f1"]) for r in rows) == [("student", "swa", "0.8200"), ("teacher", "swa", "0.7000"), ("teacher", "yor", "0.4000")]
    table = json.loads(out["json"].read_text())
    assert table["columns"] == ["masakhaner2 swa", "masakhaner2 yor"] and len(table["records"]) == 3
    assert table["benchmarks"][0]["means"] == {"teacher": pytest.approx(0.55), "student": None}
    assert len(out["jsonl"].read_text().splitlines()) == 3
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc = main(["leaderboard", str(a), str(b), "--output", str(tmp_path / "lb2"), "--split", "all"])
    assert rc == 0 and "masakhaner2 (dev)" in capsys.readouterr().out
    rc = main(["leaderboard", str(a), "--output", str(tmp_path / "lb3"), "--split", "train"])
    assert rc == 2 and "no records for split 'train'" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('[{"system": "x"}]')
    with pytest.raises(UserError, match="bad.json: record 1 lacks dataset, split, language, metrics"):
        collect_records([tmp_path / "bad.json"])


# --- one reader for results files (leaderboard and publish results) ---------------------------


def test_leaderboard_reads_its_own_results_jsonl(tmp_path, capsys):
    recs = [_rec("teacher", "swa", 0.7), _rec("student", "swa", 0.8)]
    out = write_leaderboard(recs, tmp_path / "lb")
    again, notes = collect_records([out["jsonl"]])
    assert again == recs and notes == []
    assert main(["leaderboard", str(out["jsonl"]), "--output", str(tmp_path / "lb2")]) == 0
    assert "| student | **80.0** | **80.0** |" in capsys.readouterr().out
    # publish reads the same file the same way
    assert read_records(out["jsonl"]) == recs
    # and leaderboard.json (an object holding the records) as well
    assert collect_records([out["json"]])[0] == recs and read_records(out["json"]) == recs


def test_one_reader_accepts_array_object_and_json_lines(tmp_path):
    recs = [_rec("teacher", "swa", 0.7), _rec("teacher", "yor", 0.4)]
    forms = {
        "array.json": json.dumps(recs, indent=2),
        "one.json": json.dumps(recs[0], indent=2),
        "wrapped.json": json.dumps({"records": recs}),
        "lines.jsonl": "\n".join(json.dumps(r) for r in recs) + "\n",
        "lines.json": json.dumps(recs[0]) + "\n\n" + json.dumps(recs[1]) + "\n",  # JSON lines whatever the suffix
    }
    for name, text in forms.items():
        (tmp_path / name).write_text(text)
        want = recs[:1] if name == "one.json" else recs
        assert read_results_file(tmp_path / name) == want, name
        assert read_records(tmp_path / name) == want, name
        assert collect_records([tmp_path / name])[0] == want, name


@pytest.mark.parametrize("name, text, message", [
    # JSON lines: the line and the record number (blank lines do not count as records)
    ("bad.jsonl", json.dumps(_rec("a", "swa", 0.5)) + "\n\n" + json.dumps({"system": "b", "dataset": "d", "split": "test",
                                                                             "language": "swa", "model": "m", "config": "c"}) + "\n",
     r"bad.jsonl:3: record 2 lacks metrics"),
    ("bad.jsonl", json.dumps(_rec("a", "swa", 0.5)) + "\n" + '{"system": "b",\n', r"bad.jsonl:2: not valid JSON"),
    # a JSON array: the record number, counted from 1
    ("bad.json", json.dumps([_rec("a", "swa", 0.5), {**_rec("b", "swa", 0.5), "metrics": {"f1": 1.5, "precision": 1, "recall": 1}}]),
     r"bad.json: record 2 metrics.f1 must be a number in \[0, 1\], got 1.5"),
    ("bad.json", json.dumps([_rec("a", "swa", 0.5), "x"]), r"bad.json: record 2 is not a JSON object"),
    ("bad.json", '[\n{"system": "a"},\n', r"bad.json:3: not valid JSON"),
    ("bad.json", json.dumps({"columns": []}), r"bad.json: neither an evaluation record nor an object with .records."),
    ("bad.json", "3", r"bad.json: expected evaluation records \(a JSON array, a JSON object or JSON lines\), got int"),
], ids=["jsonl-record-lacks-key", "jsonl-bad-json", "array-metric-out-of-range", "array-not-an-object", "array-bad-json",
        "object-without-records", "scalar"])
def test_one_reader_names_file_and_record_the_same_way(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        collect_records([path])
    with pytest.raises(UserError, match=message):
        read_records(path)
    assert main(["leaderboard", str(path), "--output", str(tmp_path / "lb")]) == 2
    assert main(["publish", "results", str(path), "--repo", "silver-org/r", "--version", "1.0.0", "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(re.search(message, line) for line in err)


def test_publish_results_still_requires_model_and_config(tmp_path):
    rec = _rec("a", "swa", 0.5)
    del rec["model"]
    (tmp_path / "r.jsonl").write_text(json.dumps(rec) + "\n")
    assert collect_records([tmp_path / "r.jsonl"])[0] == [rec]  # the table needs no model path
    with pytest.raises(UserError, match=r"r.jsonl:1: record 1 lacks model"):
        read_records(tmp_path / "r.jsonl")


# --- per-benchmark means, sorting, bold, folders of records -------------------------------------


def _robustness_like(tmp_path):
    """A results folder like experiments/results/robustness: records, other JSON files, a dev/ subfolder."""
    folder = tmp_path / "results"
    (folder / "dev").mkdir(parents=True)
    (folder / "direct-transfer.json").write_text(json.dumps(
        [_rec("direct-transfer", "hau", 0.6), _rec("direct-transfer", "ibo", 0.4),
         _rec("direct-transfer", "ibo", 0.3, dataset="wikiann"), _rec("direct-transfer", "yor", 0.1, dataset="wikiann")]))
    (folder / "student.jsonl").write_text("\n".join(json.dumps(r) for r in [
        _rec("student", "hau", 0.7), _rec("student", "ibo", 0.5), _rec("student", "ibo", 0.2, dataset="wikiann"),
        _rec("student", "yor", 0.3, dataset="wikiann")]) + "\n")
    (folder / "partial.json").write_text(json.dumps([_rec("partial", "hau", 0.9)]))
    (folder / "training-student-hau.json").write_text(json.dumps({"role": "student", "n_sentences": 10}))
    (folder / "summary.json").write_text(json.dumps({"rows": [{"system": "student"}]}))
    (folder / "notes.txt").write_text("not read")
    (folder / "dev" / "direct-transfer.json").write_text(json.dumps(
        [_rec("direct-transfer", "hau", 0.05, "dev"), _rec("direct-transfer", "ibo", 0.05, "dev")]))
    return folder


def test_markdown_one_mean_per_benchmark_sorted_with_best_in_bold(tmp_path):
    records, _ = collect_records([_robustness_like(tmp_path)])
    md = write_leaderboard(records, tmp_path / "lb")["markdown_text"]
    ind, ood = md.split("### wikiann (test)")
    assert "### masakhaner2 (test)" in ind
    # the mean of a benchmark is over its own languages only (direct transfer: (60 + 40) / 2, not mixed with WikiANN)
    rows = [line for line in ind.splitlines() if line.startswith("| ") and not line.startswith("| system")]
    assert rows == ["| student | 70.0 | **50.0** | **60.0** | +10.0 |",
                    "| direct-transfer (baseline) | 60.0 | 40.0 | 50.0 |  |",
                    "| partial | **90.0** | n/a | n/a | n/a |"]
    assert "| system | hau | ibo | mean | Δ mean vs direct-transfer |" in ind
    rows = [line for line in ood.splitlines() if line.startswith("| ") and not line.startswith("| system")]
    assert rows == ["| student | 20.0 | **30.0** | **25.0** | +5.0 |",
                    "| direct-transfer (baseline) | **30.0** | 10.0 | 20.0 |  |"]  # partial has no WikiANN record


def test_folder_of_records_reads_record_files_only_and_no_subfolders_unless_asked(tmp_path):
    folder = _robustness_like(tmp_path)
    records, notes = collect_records([folder])
    assert sorted({(r["system"], r["split"]) for r in records}) == [("direct-transfer", "test"), ("partial", "test"), ("student", "test")]
    assert len(records) == 9
    assert any("summary.json" in n and "training-student-hau.json" in n and "no evaluation records" in n for n in notes)
    assert any("dev" in n and "--recursive" in n for n in notes)  # the subfolder left out is named
    deep, _ = collect_records([folder], recursive=True)
    assert len(deep) == 11
    # dev records never enter the test means; with every split each (dataset, split) is its own table
    md = write_leaderboard(deep, tmp_path / "lb", split=None)["markdown_text"]
    dev = md.split("### masakhaner2 (dev)")[1].split("###")[0]
    assert "| direct-transfer (baseline) | **5.0** | **5.0** | **5.0** |  |" in dev
    assert "| direct-transfer (baseline) | 60.0 | 40.0 | 50.0 |  |" in md.split("### masakhaner2 (test)")[1].split("###")[0]
    # a model folder: only its eval_results.json is read
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"id2label": {"0": "O"}}))
    (model / "eval_results.json").write_text(json.dumps([_rec("m", "hau", 0.5)]))
    assert collect_records([model]) == ([_rec("m", "hau", 0.5)], [])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="empty: no evaluation records"):
        collect_records([empty])
    with pytest.raises(UserError, match="nope: no such results file or folder"):
        collect_records([tmp_path / "nope"])


# --- the figure ----------------------------------------------------------------------------------


def _png_size(path):
    import struct

    return struct.unpack(">II", path.read_bytes()[16:24])


def _many_systems(n_systems=12, langs=("hau", "ibo", "swa", "yor"), ood=("ibo", "swa", "yor")):
    recs = []
    for i in range(n_systems):
        system = "direct-transfer" if i == 0 else f"student-{i:02d}"
        for j, lang in enumerate(langs):
            recs.append(_rec(system, lang, 0.40 + 0.02 * i + 0.01 * j))
        for j, lang in enumerate(ood):
            recs.append(_rec(system, lang, 0.30 + 0.01 * i + 0.01 * j, dataset="wikiann"))
    return recs


def test_figure_one_panel_per_benchmark_capped_systems_baseline_and_missing(tmp_path):
    from silver_ner.leaderboard.board import leaderboard_figure

    recs = _many_systems()
    recs = [r for r in recs if not (r["system"] == "student-11" and r["dataset"] == "wikiann" and r["language"] == "swa")]
    recs.append(_rec("zero", "hau", 0.0))  # a measured 0.0 stays a point at 0
    fig, shown, omitted = leaderboard_figure(recs, labels={"masakhaner2": "MasakhaNER 2.0 (in-domain)"})
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["MasakhaNER 2.0 (in-domain)", "wikiann (test)"]
    # sorted by the mean of the first benchmark, capped at 8, the baseline kept although it ranks last
    assert shown == ["student-11", "student-10", "student-09", "student-08", "student-07", "student-06", "student-05",
                     "direct-transfer"]
    assert omitted == ["student-04", "student-03", "student-02", "student-01", "zero"]
    ax = panels[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mean", "hau", "ibo", "swa", "yor"]
    lines = {line.get_label(): line for line in ax.get_lines() if line.get_label() in shown}
    assert set(lines) == set(shown)
    styles = {(str(line.get_color()), line.get_marker()) for line in lines.values()}
    assert len(styles) == len(shown)  # every system its own colour and marker
    base = lines["direct-transfer"]
    assert base.get_color() in ("black", "k", "#000000") and base.get_markersize() > lines["student-11"].get_markersize()
    # the missing WikiANN swa run of student-11: no point, an explicit n/a in its place
    ood = {line.get_label(): line for line in panels[1].get_lines() if line.get_label() in shown}
    xs = list(ood["student-11"].get_xdata())
    assert sum(x != x for x in xs) == 3 and sum(x == x for x in xs) == 2  # mean, swa (and hau, not in WikiANN) undrawn
    assert [t.get_text() for t in panels[1].texts].count("n/a") == 2  # its mean and swa
    assert "n/a" not in [t.get_text() for t in ax.texts]
    # the legend sits outside every panel
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    assert all(not legend.overlaps(a.get_window_extent(renderer)) for a in panels)
    import matplotlib.pyplot as plt

    plt.close(fig)
    fig, shown, _ = leaderboard_figure(recs, systems=["zero", "student-01"], baseline="student-01")
    assert shown == ["student-01", "zero"]
    zero = [line for line in fig.axes[0].get_lines() if line.get_label() == "zero"][0]
    assert list(zero.get_xdata())[1] == 0.0 and fig.axes[0].get_xlim()[0] <= 0
    plt.close(fig)
    with pytest.raises(UserError, match="--baseline nope: no such system"):
        leaderboard_figure(recs, baseline="nope")


def test_png_is_paper_sized_for_four_and_eighteen_languages(tmp_path):
    out = write_leaderboard(_many_systems(17), tmp_path / "lb")
    w, h = _png_size(out["png"])
    assert w <= 1700 and h <= 1700 and w / h < 2.5  # was 4049 x 504
    assert "omitted from the figure" in out["markdown_text"] and "student-01" in out["markdown_text"].split("omitted")[1]
    langs = [f"l{i:02d}" for i in range(18)]
    out = write_leaderboard(_many_systems(17, langs, langs[:6]), tmp_path / "lb18")
    w, h = _png_size(out["png"])
    assert w <= 1700 and h <= 2600


def test_cli_baseline_cap_and_labels(tmp_path, capsys):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "all.json").write_text(json.dumps(_many_systems(5)))
    assert main(["leaderboard", str(folder), "--output", str(tmp_path / "lb"), "--baseline", "student-01", "--max-plot-systems", "3",
                 "--label", "masakhaner2=MasakhaNER 2.0 (in-domain)"]) == 0
    md = capsys.readouterr().out
    assert "### MasakhaNER 2.0 (in-domain): masakhaner2 (test)" in md and "| student-01 (baseline) |" in md
    assert "omitted from the figure: student-02, direct-transfer" in md
    assert main(["leaderboard", str(folder), "--output", str(tmp_path / "lb"), "--baseline", "nope"]) == 2
    assert "--baseline nope: no such system" in capsys.readouterr().err
    assert main(["leaderboard", str(folder), "--output", str(tmp_path / "lb"), "--label", "masakhaner2"]) == 2
    assert "--label masakhaner2: expected DATASET=TEXT" in capsys.readouterr().err


def test_scoring_a_model_again_replaces_its_record(tmp_path):
    """append_results: a record of the same system, model, dataset, config, split and language replaces the
    earlier one in its place; other records stay, new ones are added at the end."""
    from silver_ner.leaderboard.scoring import append_results

    path = tmp_path / "res.json"
    append_results(path, [_rec("teacher", "ewe", 0.60), _rec("teacher", "mos", 0.50)])
    append_results(path, [_rec("teacher", "ewe", 0.70), _rec("teacher", "twi", 0.40)])
    got = [(r["config"], r["metrics"]["f1"]) for r in read_results(path)]
    assert got == [("ewe", 0.70), ("mos", 0.50), ("twi", 0.40)]
    append_results(path, [_rec("student", "ewe", 0.80)])  # another system: a row of its own
    assert len(read_results(path)) == 4
