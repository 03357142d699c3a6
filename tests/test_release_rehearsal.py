"""experiments/release_rehearsal.py on two tiny languages: real tiny builds, students trained on them with
`silver-ner train`, assembled, published to the local Hub-compatible server and loaded back."""

import json
import shutil

import pytest
from conftest import load_script
from hub_server import eval_record, write_tiny_build

pytestmark = pytest.mark.filterwarnings("ignore")
BASE = "intfloat/multilingual-e5-small"  # the Hub id the cards name for the tiny encoder's place


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_bert):
    """RUNS/all laid out as the all-languages experiment leaves it: swa from two build folders, deu from one."""
    from silver_ner.cli import main

    from silver_ner.builders.corpora import SAMPLES_DIR
    from silver_ner.projection import encoder

    runs = tmp_path_factory.mktemp("runs")
    base = runs / "all"
    # the students start from a teacher folder trained from the default encoder (tiny_bert in its place), as in
    # the experiment: their training records name the teacher as start point, so no --base-model is needed
    teacher = runs / "teacher"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(encoder, "default_encoder_path", lambda *a, **k: tiny_bert)
        assert main(["train", "--output", str(teacher), "--conll", str(SAMPLES_DIR / "eng.conll"), "--role", "teacher",
                     "--labels", "PER,ORG,LOC", "--max-steps", "2", "--batch-size", "4", "--save-steps", "2", "-q"]) == 0
    write_tiny_build(base / "silver-pool-swa", langs=("swa",))
    write_tiny_build(base / "silver-tpmt-swa", langs=("swa",), validation_fraction=0.3)  # another fingerprint
    write_tiny_build(base / "silver-pool-deu", langs=("deu",))
    for lang, folders in (("swa", ["silver-pool-swa", "silver-tpmt-swa"]), ("deu", ["silver-pool-deu"])):
        student = base / f"student-{lang}"
        args = ["train", "--output", str(student), "--config", lang, "--model", str(teacher), "--labels", "PER,ORG,LOC",
                "--max-steps", "2", "--batch-size", "4", "--save-steps", "2", "--role", "student", "-q"]
        for folder in folders:
            args += ["--dataset", str(base / folder)]
        assert main(args) == 0
        (student / "eval_results.json").write_text(json.dumps([eval_record(0.61 if lang == "swa" else 0.55, lang)]))
    return runs


def test_rehearsal_publishes_and_loads_every_language(runs, tmp_path):
    from datasets import load_from_disk

    from silver_ner.publish.model import plan_model

    mod = load_script("experiments", "release_rehearsal")
    out = tmp_path / "rehearsal.json"
    work = tmp_path / "work"
    assert mod.main(["--runs", str(runs), "--out", str(out), "--work", str(work)]) == 0
    rec = json.loads(out.read_text())
    assert rec["ok"] and rec["mismatches"] == [] and rec["langs"] == ["deu", "swa"]
    assert rec["builds"] == {"deu": ["silver-pool-deu"], "swa": ["silver-pool-swa", "silver-tpmt-swa"]}
    swa = rec["languages"]["swa"]
    parts = [load_from_disk(str(runs / "all" / b / "swa")) for b in ("silver-pool-swa", "silver-tpmt-swa")]
    want = {s: sum(p[s].num_rows for p in parts) for s in ("train", "validation")}
    assert swa["rows_release_folder"] == swa["rows_loaded"] == want
    assert swa["builds"] == ["silver-pool-swa", "silver-tpmt-swa"]
    assert swa["model_index"] == [{"dataset": "masakhane/masakhaner2", "config": "swa", "split": "test",
                                   "metrics": {"f1": 0.61, "precision": 0.65, "recall": 0.58}}]
    assert swa["card_datasets"] == ["silver-org/silver-ner"]
    # the teacher's Hub encoder, found along the students' start points
    assert swa["card_base_model"] == rec["languages"]["deu"]["card_base_model"] == BASE
    assert "--base-model" not in rec["command"]
    card = plan_model(runs / "all" / "student-swa", "silver-org/silver-ner-student-swa", "1.0.0").card  # as pushed
    assert "**Fine-tuned from:** the teacher `teacher`, trained with silver-ner on 30 sentences of silver-ner" in card.text
    first = load_from_disk(str(work / "release" / "swa"))["train"][0]
    assert swa["pipeline"]["sentence"] == " ".join(first["tokens"]) and isinstance(swa["pipeline"]["entities"], list)
    assert rec["languages"]["deu"]["model_index"][0]["metrics"]["f1"] == 0.55
    steps = [(s["step"], s.get("lang")) for s in rec["steps"]]
    assert ("assemble", None) in steps and ("publish dataset", None) in steps
    assert {("publish model", lang) for lang in ("swa", "deu")} <= set(steps)
    assert all(s["ok"] and s["seconds"] >= 0 for s in rec["steps"])
    assert rec["dataset"]["license"] == "apache-2.0" and sorted(rec["dataset"]["configs"]) == ["deu", "swa"]
    assert not [a for a in rec["command"].split() if a.startswith("/")]  # paths relative to the repository
    assert str(tmp_path) not in json.dumps(rec["dataset"]) + json.dumps(rec["languages"])


def test_rehearsal_fails_on_a_mismatch_and_on_missing_inputs(runs, tmp_path, capsys):
    mod = load_script("experiments", "release_rehearsal")
    # deu rebuilt after its student was trained: the release no longer holds the student's training data
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    write_tiny_build(copy / "all" / "silver-pool-deu", langs=("deu",), validation_fraction=0.3)
    out = tmp_path / "mismatch.json"
    assert mod.main(["--runs", str(copy), "--out", str(out)]) == 1
    rec = json.loads(out.read_text())
    assert not rec["ok"]
    assert [m for m in rec["mismatches"] if m.startswith("publish model deu:")] and \
        "the release holds none of the model's training data" in rec["mismatches"][0]
    assert not any(m.startswith("publish model swa") for m in rec["mismatches"])
    assert any(s["step"] == "publish model" and s["lang"] == "deu" and not s["ok"] for s in rec["steps"])
    # a language with a student but no build folder: nothing runs
    (copy / "all" / "student-kin").mkdir()
    assert mod.main(["--runs", str(copy), "--out", str(tmp_path / "x.json")]) == 2
    assert "kin: no build folder" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_dataset_only_languages_are_released_and_loaded_without_a_student(runs, tmp_path, capsys):
    mod = load_script("experiments", "release_rehearsal")
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    shutil.rmtree(copy / "all" / "student-deu")
    # deu has a build but no student: asked for as a full language, nothing runs
    assert mod.main(["--runs", str(copy), "--langs", "swa,deu", "--out", str(tmp_path / "x.json")]) == 2
    assert "deu: no student folder" in capsys.readouterr().err
    out = tmp_path / "rehearsal.json"
    assert mod.main(["--runs", str(copy), "--dataset-only", "deu", "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert rec["ok"] and rec["langs"] == ["deu", "swa"] and rec["students"] == ["swa"] and rec["dataset_only"] == ["deu"]
    assert "--dataset-only deu" in rec["command"]
    deu = rec["languages"]["deu"]
    assert deu["student"] is None and "model_index" not in deu and "pipeline" not in deu
    assert deu["rows_loaded"] == deu["rows_release_folder"] and sum(deu["rows_loaded"].values()) > 0
    steps = {(s["step"], s.get("lang")) for s in rec["steps"]}
    assert ("load_dataset", "deu") in steps and ("publish model", "deu") not in steps
    assert ("publish model", "swa") in steps and rec["languages"]["swa"]["model_index"]
    assert sorted(rec["dataset"]["configs"]) == ["deu", "swa"]
