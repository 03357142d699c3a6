"""experiments/long_sentences.sh (dry run with a stub command) and long_sentences_summary.py."""

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from conftest import load_script, script_runner
from test_all_languages import STUB

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "experiments" / "long_sentences.sh"


def _rec(system, lang, f1, split="test"):
    return {"system": system, "dataset": "masakhaner2", "language": lang, "split": split,
            "metrics": {"f1": f1, "precision": f1, "recall": f1}, "n_sentences": 5}


def _training(teacher="t1", builds=("b1",), **extra):
    return {"n_sentences": 10, "base_encoder": {"start_point": {"training_record_sha256": teacher}},
            "training_data": [{"build_manifest_sha256": b} for b in builds], **extra}


def _write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def test_summary_compares_only_students_of_one_teacher_and_one_build(tmp_path):
    summary = load_script("experiments", "long_sentences_summary")
    base, win = tmp_path / "base", tmp_path / "win"
    _write_json(base / "student-ours-pool-p90.json", [_rec("student-ours-pool-p90", x, f) for x, f in
                                                      (("fon", 0.70), ("bam", 0.50), ("mos", 0.60))])
    _write_json(base / "dev" / "student-ours-pool-p90.json", [_rec("student-ours-pool-p90", "fon", 0.65, "dev")])
    _write_json(win / "student-ours-pool-p90-window.json", [_rec("student-ours-pool-p90-window", x, f) for x, f in
                                                            (("fon", 0.74), ("bam", 0.49), ("mos", 0.90))])
    _write_json(win / "dev" / "student-ours-pool-p90-window.json", [_rec("student-ours-pool-p90-window", "fon", 0.66, "dev")])
    _write_json(base / "training-student-ours-pool-p90-fon.json", _training(truncated_words=50, training_time_s=600))
    _write_json(base / "training-student-ours-pool-p90-bam.json", _training(truncated_words=5, training_time_s=300))
    _write_json(base / "training-student-ours-pool-p90-mos.json", _training(teacher="t2", truncated_words=5, training_time_s=300))
    for lang, rows in (("fon", 14), ("bam", 11), ("mos", 11)):
        _write_json(win / f"training-student-ours-pool-p90-window-{lang}.json",
                    _training(n_words=500, truncated_words=0, windowed_sentences=2, training_rows=rows, training_time_s=660))
    out = tmp_path / "summary.md"
    assert summary.main(["--base", str(base), "--windowed", str(win), "--output", str(out)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["languages"] == ["bam", "fon"]  # mos had another teacher
    assert s["mean_test_gain"] == pytest.approx((0.04 - 0.01) / 2) and s["mean_dev_gain"] == pytest.approx(0.01)
    assert (s["better_on_test"], s["worse_on_test"]) == (1, 1)
    md = out.read_text()
    assert "| fon | 10 | 500 | 50 (10.0 %) | 2 | 14 | 70.0 | 74.0 | +4.0 | 65.0 | 66.0 | +1.0 | 10.0 | 11.0 |" in md
    assert "| mos | not comparable: different teachers |" in md and "90.0" not in md
    _write_json(base / "training-student-ours-pool-p90-bam.json", _training(builds=("b2",)))
    summary.main(["--base", str(base), "--windowed", str(win), "--output", str(out)])
    assert "| bam | not comparable: different silver builds |" in out.read_text()
    (base / "training-student-ours-pool-p90-fon.json").write_text("{", encoding="utf-8")
    with pytest.raises(SystemExit, match="training-student-ours-pool-p90-fon.json:1: not a training record"):
        summary.main(["--base", str(base), "--windowed", str(win), "--output", str(out)])


@pytest.fixture
def dry(tmp_path):
    runs, data = tmp_path / "runs", tmp_path / "data"
    _write_json(runs / "teacher" / "silver_ner_training.json", {})
    for lang in ("fon", "hau"):
        _write_json(runs / "all" / f"silver-pool-{lang}" / "silver_ner_build.json", {})
    (data / "tprojection_mt").mkdir(parents=True)
    (data / "tprojection_mt" / "hau.train.txt").write_text("Kano B-LOC\n", encoding="utf-8")
    stub = tmp_path / "stub.sh"
    stub.write_text(STUB, encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    env = dict(os.environ, LANGS="fon hau", CLI=f"bash {stub}", RUNS=str(runs), OUT=str(tmp_path / "out"),
               BASE=str(tmp_path / "base"), DATA=str(data), STUB_LOG=str(log), PYTHON=sys.executable,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "base").mkdir()

    return tmp_path, script_runner(SCRIPT, env, log)


def test_dry_run_trains_windowed_students_on_the_existing_builds(dry):
    tmp, run = dry
    proc, calls = run()
    assert proc.returncode == 0, proc.stderr
    runs = tmp / "runs"
    students = [c for c in calls if c.startswith("train")]
    assert students[0].startswith(f"train --dataset {runs}/all/silver-pool-fon --config fon --mask-with {runs}/teacher "
                                  "--mask-min-prob 0.9 --long-sentences window --model")
    assert f"--output {runs}/all/student-window-fon " in students[0]
    assert students[1].startswith(f"train --dataset {runs}/all/silver-tpmt-hau --dataset {runs}/all/silver-pool-hau")
    assert not any(c.startswith("build") for c in calls)
    assert [c.split()[0] for c in calls] == ["train", "evaluate", "evaluate"] * 2
    out = tmp / "out"
    timings = [json.loads(line) for line in (out / "timings.jsonl").read_text().splitlines()]
    assert [(t["stage"], t["what"]) for t in timings][:3] == [("train", "student-window-fon"),
                                                              ("evaluate-test", "student-ours-pool-p90-window"),
                                                              ("evaluate-dev", "student-ours-pool-p90-window")]
    assert "| fon | not comparable: no training-student-ours-pool-p90-fon.json in the base folder |" in (out / "summary.md").read_text()
    proc, calls = run()
    assert proc.returncode == 0 and calls == []


def test_a_language_without_its_build_stops_before_any_stage(dry):
    tmp, run = dry
    proc, calls = run(LANGS="fon ewe")
    assert proc.returncode == 2 and calls == []
    assert f"{tmp}/runs/all/silver-pool-ewe: no silver build of ewe" in proc.stderr
