"""experiments/all_languages.sh (dry run with a stub command on a tiny data folder) and its summary."""

import json
import os
import stat
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import load_script, script_runner

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "experiments" / "all_languages.sh"
PUBLISHED = ROOT / "experiments" / "published_masakhaner2.csv"


def _load(name):
    return load_script("experiments", name)


def _rec(system, lang, f1, dataset="masakhaner2", split="test"):
    return {"system": system, "dataset": dataset, "language": lang, "split": split,
            "metrics": {"f1": f1, "precision": f1, "recall": f1}, "n_sentences": 5}


# --- summary -----------------------------------------------------------------------------------


def test_published_csv_holds_the_16_languages_and_its_source():
    summary = _load("robustness_summary")
    pub = summary.load_published(PUBLISHED)
    assert len(pub["model_transfer"]) == 16 and "bbj" not in pub["model_transfer"] and "pcm" not in pub["model_transfer"]
    assert pub["model_transfer"]["swa"] == 87.7 and pub["model_transfer"]["yor"] == 32.2
    assert len(pub["translate_test"]) == 3
    assert pub["translate_test"]["NER-model candidates (SimAlign)"]["bam"] == 55.3
    assert "Projection-Data-Transfer-Cross-Lingual-NER" in PUBLISHED.read_text(encoding="utf-8")


def test_per_language_table_marks_missing_languages_and_counts_against_published(tmp_path):
    summary = _load("robustness_summary")
    folder = tmp_path / "all"
    folder.mkdir()
    (folder / "direct-transfer.json").write_text(json.dumps(
        [_rec("direct-transfer", "hau", 0.60), _rec("direct-transfer", "ewe", 0.40), _rec("direct-transfer", "bbj", 0.30),
         _rec("direct-transfer", "kin", 0.20, dataset="wikiann")]))
    (folder / "student-ours-pool-p90.json").write_text(json.dumps(
        [_rec("student-ours-pool-p90", "hau", 0.7368), _rec("student-ours-pool-p90", "ewe", 0.50),
         _rec("student-ours-pool-p90", "bbj", 0.35)]))
    (folder / "training-student-ours-pool-p90-ewe.json").write_text(json.dumps(
        {"n_sentences": 3000, "training_data": [{"config": "ewe"}]}))
    (folder / "mafand_pool_overlap-ewe.json").write_text(json.dumps({"ewe": {"pair": "fr-ewe", "pool_pairs": 3507}}))
    (folder / "timings.jsonl").write_text('{"stage": "train", "lang": "ewe", "what": "student-ewe", "seconds": 90.0}\n'
                                          '{"stage": "build", "lang": "ewe", "what": "silver-pool-ewe", "seconds": 30}\n'
                                          '{"stage": "train", "lang": "all", "what": "teacher", "seconds": 900}\n'
                                          '{"stage": "train", "lang": "all", "what": "teacher", "seconds": 600}\n')
    table = summary.per_language(folder, summary.load_published(PUBLISHED), "student-ours-pool-p90",
                                 ["kin", "hau", "ewe", "bbj"], wikiann_langs=["kin"])
    assert [r["lang"] for r in table["rows"]] == ["bbj", "ewe", "hau", "kin"]
    assert table["missing"] == ["kin"] and table["measured"] == 3
    # gains 13.68, 10.0, 5.0
    assert table["mean_gain"] == pytest.approx((13.68 + 10.0 + 5.0) / 3)
    # hau 73.68 rounds to the published 73.7: at least the model transfer and the best translate-test row (73.4)
    assert table["student_vs_model_transfer"] == {"measured": 2, "at_least": 1}
    assert table["student_vs_best_translate_test"] == {"measured": 2, "at_least": 1}
    assert table["published_covered"] == 3
    ewe = table["rows"][1]
    assert ewe["best_translate_test"] == 77.8 and ewe["best_translate_test_method"] == "heuristic (SimAlign)"
    assert ewe["pair"] == "fr-ewe" and ewe["student_sentences"] == 3000 and ewe["seconds"] == 120.0
    assert (ewe["build_seconds"], ewe["train_seconds"]) == (30, 90.0)
    # the total counts the measured languages (ewe only has timings), the teacher apart
    assert (table["wall_seconds"], table["build_seconds"], table["train_seconds"], table["teacher_seconds"]) == (120.0, 30, 90.0, 600)
    md = summary.per_language_markdown(table)
    kin_row = next(line for line in md.splitlines() if line.startswith("| kin |"))
    assert kin_row.count("missing") == 11 and "0.0" not in kin_row and "44.6" in kin_row
    bbj_row = next(line for line in md.splitlines() if line.startswith("| bbj |"))
    assert "| 30.0 | 35.0 | +5.0 | n/a | n/a | n/a | n/a |" in bbj_row
    assert "**1 of 2** languages measured (the published figures cover 3)" in md
    assert "| 0.5 | 1.5 | 2.0 |" in next(line for line in md.splitlines() if line.startswith("| ewe |"))
    assert "the 1 of 3 measured languages with timings: **0.03 h** (silver builds 0.5 min, student training 1.5 min;" in md
    assert "teacher's training, once for all languages (the last one recorded): 10.0 min." in md
    assert "| kin | 20.0 | missing | missing |" in md  # WikiANN: the student not scored yet
    drawn = summary.plot_per_language(table, tmp_path / "per_language.png")
    assert drawn["student"] == ["bbj", "ewe", "hau"] and drawn["direct_transfer"] == ["bbj", "ewe", "hau"]
    assert drawn["published_model_transfer"] == ["ewe", "hau", "kin"]  # bbj has no published figure
    assert (tmp_path / "per_language.png").stat().st_size > 10_000


# --- the script, dry run -----------------------------------------------------------------------

STUB = """#!/usr/bin/env bash
# stand-in for the silver-ner command: logs the call, leaves the files a real run would
set -euo pipefail
echo "$*" >> "$STUB_LOG"
if [ -n "${STUB_FAIL:-}" ] && [[ "$*" == *"$STUB_FAIL"* ]]; then exit 130; fi
cmd=$1; shift
out="" results="" golds=() system="" config=""
while [ $# -gt 0 ]; do
  case $1 in
    --output) out=$2; shift ;;
    --results) results=$2; shift ;;
    --gold) golds+=("$2"); shift ;;
    --system) system=$2; shift ;;
    --config) config=$2; shift ;;
  esac
  shift
done
case $cmd in
  train) mkdir -p "$out"; echo "{\\"n_sentences\\": 7, \\"training_data\\": [{\\"config\\": \\"$config\\"}]}" > "$out/silver_ner_training.json" ;;
  build) mkdir -p "$out"; echo '{"configs": {}}' > "$out/silver_ner_build.json" ;;
  evaluate) "$PYTHON" - "$results" "$system" "${golds[@]}" <<'PY'
import json, os, sys
path, system, golds = sys.argv[1], sys.argv[2], sys.argv[3:]
recs = json.load(open(path)) if os.path.exists(path) else []
for g in golds:
    d, lang, split = g.split(":")
    recs.append({"system": system, "dataset": d, "language": lang, "split": split,
                 "metrics": {"f1": 0.5, "precision": 0.5, "recall": 0.5}, "n_sentences": 5})
json.dump(recs, open(path, "w"))
PY
  ;;
esac
"""


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def dry(tmp_path):
    data = tmp_path / "data"
    for lang in ("kin", "ewe"):
        for split in ("train", "dev", "test"):
            _write(data / "masakhaner2" / lang / f"{split}.txt", f"{split.title()} O\n{lang} O\n")
    for split in ("dev", "test"):
        _write(data / "mafand" / "en-kin" / f"{split}.en", "One\nTwo\n")
        _write(data / "mafand" / "en-kin" / f"{split}.kin", "Rimwe\nKabiri\n")
    for split in ("train", "dev", "test"):
        _write(data / "mafand" / "fr-ewe" / f"{split}.fr", "Un\nDeux\n")
        _write(data / "mafand" / "fr-ewe" / f"{split}.ewe", "Ɖeka\nEve\n")
    _write(data / "conll2003_en" / "train.txt", "Paris B-LOC\n")
    _write(data / "wikiann_rahimi" / "kin" / "test.txt", "Kigali B-LOC\n")
    _write(data / "tprojection_mt" / "kin.train.txt", "Kigali B-LOC\n")
    stub = tmp_path / "stub.sh"
    stub.write_text(STUB, encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    env = dict(os.environ, LANGS="kin ewe", CLI=f"bash {stub}", RUNS=str(tmp_path / "runs"), OUT=str(tmp_path / "out"),
               DATA=str(data), STUB_LOG=str(log), PYTHON=sys.executable,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    return tmp_path, script_runner(SCRIPT, env, log)


def test_dry_run_stages_per_language_then_a_rerun_skips_everything(dry):
    tmp, run = dry
    proc, calls = run()
    assert proc.returncode == 0, proc.stderr
    runs, out = tmp / "runs", tmp / "out"
    teacher = [c for c in calls if c.startswith("train --conll")]
    assert len(teacher) == 1 and f"--output {runs}/teacher " in teacher[0]
    builds = [c for c in calls if c.startswith("build")]
    assert builds == [
        f"build --lang kin --source-gold conll2003:train --translated-conll {tmp}/data/tprojection_mt/{{lang}}.train.txt "
        f"--labels conll --precision bfloat16 --output {runs}/all/silver-tpmt-kin --quiet",
        f"build --lang kin --parallel {runs}/all/mafand-pool/en-{{lang}}/pool.en {runs}/all/mafand-pool/en-{{lang}}/pool.{{lang}} "
        f"--tagger {runs}/teacher --labels conll --precision bfloat16 --output {runs}/all/silver-pool-kin --quiet",
        f"build --lang ewe --parallel {runs}/all/mafand-pool/fr-{{lang}}/pool.fr {runs}/all/mafand-pool/fr-{{lang}}/pool.{{lang}} "
        f"--tagger {runs}/teacher --labels conll --precision bfloat16 --output {runs}/all/silver-pool-ewe --quiet "
        "--source-lang fra",
    ]
    students = [c for c in calls if c.startswith("train --dataset")]
    assert students[0].startswith(f"train --dataset {runs}/all/silver-tpmt-kin --dataset {runs}/all/silver-pool-kin "
                                  f"--config kin --mask-with {runs}/teacher --mask-min-prob 0.9 --model {runs}/teacher "
                                  "--epochs 1 --labels PER,ORG,LOC --role student")
    assert students[1].startswith(f"train --dataset {runs}/all/silver-pool-ewe --config ewe")
    assert "--gold masakhaner2:kin:test --gold wikiann:kin:test" in "\n".join(calls)
    assert "wikiann:ewe" not in "\n".join(calls)
    assert (runs / "all" / "mafand-pool" / "fr-ewe" / "pool.fr").read_text(encoding="utf-8") == "Un\nDeux\n" * 3
    # one language after the other: every stage of kin before the first of ewe
    first_ewe = next(i for i, c in enumerate(calls) if "ewe" in c)
    assert not any("kin" in c for c in calls[first_ewe:-1])
    timings = [json.loads(line) for line in (out / "timings.jsonl").read_text().splitlines()]
    assert [(t["stage"], t["lang"], t["what"]) for t in timings] == [
        ("train", "all", "teacher", ),
        ("evaluate-test", "kin", "direct-transfer"), ("evaluate-dev", "kin", "direct-transfer"),
        ("build", "kin", "tpmt-kin"), ("filter", "kin", "mafand_pool_overlap-kin.json"),
        ("build", "kin", "silver-pool-kin"), ("train", "kin", "student-kin"),
        ("evaluate-test", "kin", "student-ours-pool-p90"), ("evaluate-dev", "kin", "student-ours-pool-p90"),
        ("evaluate-test", "ewe", "direct-transfer"), ("evaluate-dev", "ewe", "direct-transfer"),
        ("filter", "ewe", "mafand_pool_overlap-ewe.json"), ("build", "ewe", "silver-pool-ewe"),
        ("train", "ewe", "student-ewe"),
        ("evaluate-test", "ewe", "student-ours-pool-p90"), ("evaluate-dev", "ewe", "student-ours-pool-p90"),
    ]
    # started and ended are whole UTC seconds, seconds is the clock difference to 0.1 s: they agree to within 1 s
    span = [(datetime.strptime(t["ended"], "%Y-%m-%dT%H:%M:%SZ") - datetime.strptime(t["started"], "%Y-%m-%dT%H:%M:%SZ")).total_seconds()
            for t in timings]
    assert all(abs(t["seconds"] - s) < 1.05 for t, s in zip(timings, span)), [(t["seconds"], s) for t, s in zip(timings, span)]
    for name in ("build-tpmt-kin.json", "build-mafand-pool-ewe.json", "training-direct-transfer.json",
                 "training-student-ours-pool-p90-ewe.json", "dev/student-ours-pool-p90.json", "summary.md"):
        assert (out / name).is_file(), name
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "| swa | missing |" in md and "| ewe | fr-ewe | 6 |" in md

    proc, calls = run()
    assert proc.returncode == 0, proc.stderr
    assert [c.split()[0] for c in calls] == ["leaderboard"]
    assert len((out / "timings.jsonl").read_text().splitlines()) == len(timings)


def test_an_interrupted_run_resumes_at_the_stage_it_stopped_in(dry):
    tmp, run = dry
    proc, calls = run(STUB_FAIL="student-ewe")
    assert proc.returncode != 0
    assert calls[-1].startswith("train --dataset") and "student-ewe" in calls[-1]
    proc, calls = run()
    assert proc.returncode == 0, proc.stderr
    assert [c.split()[0] for c in calls] == ["train", "evaluate", "evaluate", "leaderboard"]
    assert "student-ewe" in calls[0]


def test_unknown_language_stops_before_any_stage(dry):
    tmp, run = dry
    proc, calls = run(LANGS="kin xho")
    assert proc.returncode == 2 and calls == []
    assert "xho: no MasakhaNER 2.0 test set or no MAFAND-MT pairs" in proc.stderr


def test_a_failing_summary_does_not_stop_the_languages(dry):
    tmp, run = dry
    (tmp / "out").mkdir()
    (tmp / "out" / "broken.json").write_text("[1]")  # not an evaluation record: the summary refuses the folder
    proc, calls = run()
    assert proc.returncode != 0  # the final summary reports it
    assert any("student-ewe" in c for c in calls) and calls[-1].startswith("leaderboard")
    assert proc.stderr.count("summary failed") == 2


def test_build_only_runs_the_silver_builds_and_nothing_else(dry):
    tmp, run = dry
    proc, calls = run(BUILD_ONLY="1")
    assert proc.returncode == 0, proc.stderr
    runs = tmp / "runs"
    # the teacher (the builds' tagger) and the three builds: no evaluation, no student, no leaderboard
    assert [c.split()[0] for c in calls] == ["train", "build", "build", "build"]
    assert f"--output {runs}/teacher " in calls[0]
    assert not (runs / "all" / "student-kin").exists()
    # its records apart from those of the students' builds
    apart = tmp / "out" / "build-only"
    timings = [json.loads(line) for line in (apart / "timings.jsonl").read_text().splitlines()]
    assert {t["stage"] for t in timings} == {"train", "build", "filter"}
    assert (apart / "build-mafand-pool-ewe.json").is_file() and (apart / "mafand_pool_overlap-ewe.json").is_file()
    assert not [p.name for p in (tmp / "out").iterdir() if p.is_file()]
    # the full run afterwards keeps the builds and adds the rest
    proc, calls = run()
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if c.startswith("build")] and [c for c in calls if c.startswith("train --dataset")]


def test_timings_a_rerun_stage_replaces_its_record_a_resumed_training_adds_to_it(tmp_path):
    summary = _load("robustness_summary")
    lines = [
        {"stage": "build", "lang": "yor", "what": "tpmt-yor", "seconds": 188.0},        # first machine
        {"stage": "build", "lang": "yor", "what": "silver-pool-yor", "seconds": 369.0},
        {"stage": "build", "lang": "yor", "what": "tpmt-yor", "seconds": 13.0},         # built again on the next one
        {"stage": "build", "lang": "yor", "what": "silver-pool-yor", "seconds": 191.0},
        {"stage": "train", "lang": "yor", "what": "student-yor", "seconds": 100.0, "resumed": False},
        {"stage": "train", "lang": "yor", "what": "student-yor", "seconds": 50.0, "resumed": True},
        {"stage": "train", "lang": "all", "what": "teacher", "seconds": 900.0, "resumed": False},
        {"stage": "train", "lang": "all", "what": "teacher", "seconds": 700.0, "resumed": False},
    ]
    (tmp_path / "timings.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert summary._timings(tmp_path) == {"yor": {"build": 204.0, "train": 150.0}, "all": {"train": 700.0}}


def test_timings_take_the_build_times_of_a_build_only_run_a_later_full_run_trained_on(tmp_path):
    summary = _load("robustness_summary")
    (tmp_path / "build-only").mkdir()

    def write(path, recs):
        path.write_text("".join(json.dumps(x) + "\n" for x in recs))

    write(tmp_path / "build-only" / "timings.jsonl", [
        {"stage": "train", "lang": "all", "what": "teacher", "seconds": 800.0, "started": "2026-12-03T06:00:00Z"},
        {"stage": "filter", "lang": "kin", "what": "f-kin", "seconds": 1.0, "started": "2026-12-03T06:30:00Z"},
        {"stage": "build", "lang": "kin", "what": "pool-kin", "seconds": 160.0, "started": "2026-12-03T06:30:01Z"},
        {"stage": "build", "lang": "ewe", "what": "pool-ewe", "seconds": 170.0, "started": "2026-12-03T06:40:00Z"},
        # hau: built again for a release after its student was trained on an earlier build
        {"stage": "build", "lang": "hau", "what": "pool-hau", "seconds": 150.0, "started": "2026-12-03T06:50:00Z"},
    ])
    write(tmp_path / "timings.jsonl", [
        # kin: built on an earlier machine, built again by the build-only run, which the student then used
        {"stage": "build", "lang": "kin", "what": "pool-kin", "seconds": 240.0, "started": "2026-12-02T08:44:00Z"},
        {"stage": "train", "lang": "kin", "what": "student-kin", "seconds": 400.0, "started": "2026-12-03T07:00:00Z"},
        # ewe: built again by a full run after the build-only one
        {"stage": "build", "lang": "ewe", "what": "pool-ewe", "seconds": 2260.0, "started": "2026-12-03T08:00:00Z"},
        {"stage": "train", "lang": "all", "what": "teacher", "seconds": 900.0, "started": "2026-12-02T08:00:00Z"},
        {"stage": "build", "lang": "hau", "what": "pool-hau", "seconds": 430.0, "started": "2026-12-01T10:00:00Z"},
        {"stage": "train", "lang": "hau", "what": "student-hau", "seconds": 1780.0, "started": "2026-12-01T10:08:00Z"},
    ])
    # the build-only run's teacher is not a stage of the recorded runs: only its builds and filters count
    assert summary._timings(tmp_path) == {"kin": {"build": 160.0, "filter": 1.0, "train": 400.0},
                                          "ewe": {"build": 2260.0}, "hau": {"build": 430.0, "train": 1780.0},
                                          "all": {"train": 900.0}}
    with (tmp_path / "build-only" / "timings.jsonl").open("a") as f:
        f.write('{"stage": "build", "lang": "kin"}\n')
    with pytest.raises(SystemExit, match=r"build-only/timings.jsonl:6: not a stage record"):
        summary._timings(tmp_path)
