"""Publishing student models and leaderboard results to the local Hub-compatible server."""

import json
import shutil
from pathlib import Path

import pytest
from hub_server import IOB2, WRITE_TOKEN, eval_record, running_hub, write_student, write_tiny_build

from silver_ner.publish.hub import PublishError
from silver_ner.publish.model import load_model_folder, plan_model, publish_model
from silver_ner.publish.results import publish_results

pytestmark = pytest.mark.filterwarnings("ignore")

SENTENCES = [["Rais", "Kenyatta", "alisema", "leo", "Nairobi"], ["Amina", "yuko", "Lagos"]]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from running_hub(tmp_path_factory.mktemp("hf-home"))


@pytest.fixture(scope="module")
def student(tmp_path_factory, tiny_bert):
    return write_student(tmp_path_factory.mktemp("student"), tiny_bert, records=[eval_record(0.61), eval_record(0.55, "yor")])


def _predict(model, tokenizer):
    import torch

    enc = tokenizer(SENTENCES, is_split_into_words=True, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model.eval()(**enc).logits


def test_model_round_trip_gives_identical_predictions(hub, student):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    result, plan = publish_model(student, "silver-org/student-swa", "1.0.0")
    assert result.status == "published" and hub.repo("silver-org/student-swa").tags == {"v1.0.0": result.commit}
    assert "checkpoints/optimizer.pt" in plan.model.skipped
    local = _predict(AutoModelForTokenClassification.from_pretrained(student), AutoTokenizer.from_pretrained(student))
    model = AutoModelForTokenClassification.from_pretrained("silver-org/student-swa", revision="v1.0.0")
    tokenizer = AutoTokenizer.from_pretrained("silver-org/student-swa", revision="v1.0.0")
    assert model.config.id2label == dict(enumerate(IOB2))
    import torch

    assert torch.equal(_predict(model, tokenizer), local)
    files = set(hub.repo("silver-org/student-swa").commits[result.commit].files)
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "silver_ner_release.json"} <= files
    assert not any(f.startswith("checkpoints/") for f in files)
    assert hub.repo("silver-org/student-swa").commits[result.commit].files["model.safetensors"].lfs


def test_model_card_carries_model_index(hub, student):
    from huggingface_hub import ModelCard

    card = ModelCard.load("silver-org/student-swa")
    meta = card.data.to_dict()
    assert meta["pipeline_tag"] == "token-classification"
    assert meta["base_model"] == "intfloat/multilingual-e5-small"
    assert meta["datasets"] == ["silver-org/silver-ner"] and meta["license"] == "cc-by-nc-4.0"
    results = meta["model-index"][0]["results"]
    # Hub dataset ids, so the results link to the datasets on the Hub
    assert [(r["dataset"]["type"], r["dataset"]["name"], r["dataset"]["config"], r["dataset"]["split"]) for r in results] == [
        ("masakhane/masakhaner2", "MasakhaNER 2.0 (swa, test)", "swa", "test"),
        ("masakhane/masakhaner2", "MasakhaNER 2.0 (yor, test)", "yor", "test")]
    assert {m["type"]: m["value"] for m in results[0]["metrics"]} == {"f1": 0.61, "precision": 0.65, "recall": 0.58}
    assert all(r["task"]["type"] == "token-classification" for r in results)
    evals = card.data.eval_results
    assert len(evals) == 6 and {e.metric_type for e in evals} == {"f1", "precision", "recall"}
    assert "| learning_rate | 5e-05 |" in card.text and ", ".join(IOB2) in card.text


def test_republish_same_model_is_noop_and_changed_is_refused(hub, student, tmp_path, tiny_bert):
    result, _ = publish_model(student, "silver-org/student-swa", "1.0.0")
    assert result.status == "unchanged"
    other = write_student(tmp_path / "other", tiny_bert, records=[eval_record(0.7)], seed=2)
    with pytest.raises(PublishError, match="already exists"):
        publish_model(other, "silver-org/student-swa", "1.0.0")


def test_model_without_eval_results_is_published_and_says_so(hub, tmp_path, tiny_bert):
    from huggingface_hub import ModelCard

    bare = write_student(tmp_path / "bare", tiny_bert, records=None, training=False)
    result, plan = publish_model(bare, "silver-org/student-bare", "0.1.0", base_model="intfloat/multilingual-e5-small")
    assert result.status == "published"
    card = ModelCard.load("silver-org/student-bare")
    assert "model-index" not in card.data.to_dict()
    assert "has not been evaluated" in card.text


def test_bad_model_folders(tmp_path, tiny_bert):
    with pytest.raises(ValueError, match="no config.json"):
        load_model_folder(tmp_path)
    # the plain encoder has no token-classification head
    with pytest.raises(ValueError, match="no token-classification head"):
        load_model_folder(tiny_bert)
    folder = write_student(tmp_path / "m", tiny_bert, records=[{"system": "x"}])
    with pytest.raises(ValueError, match="eval_results.json: record 1 misses"):
        plan_model(folder, "silver-org/m", "1.0.0")
    (folder / "eval_results.json").write_text(json.dumps([eval_record(1.7)]))
    with pytest.raises(ValueError, match="metrics.f1 must be a number in \\[0, 1\\]"):
        plan_model(folder, "silver-org/m", "1.0.0")


def test_results_round_trip_and_versions(hub, tmp_path):
    from datasets import load_dataset

    records = [eval_record(0.61), eval_record(0.48, "yor")]
    path = tmp_path / "eval_results.json"
    path.write_text(json.dumps(records))
    result, _ = publish_results(path, "silver-org/leaderboard", "1.0.0")
    assert result.status == "published"
    path.write_text(json.dumps(records + [eval_record(0.5, "hau")]))
    publish_results(path, "silver-org/leaderboard", "1.1.0")
    old = load_dataset("silver-org/leaderboard", revision="v1.0.0", split="train")
    new = load_dataset("silver-org/leaderboard", revision="v1.1.0", split="train")
    assert old["f1"] == [0.61, 0.48] and new["config"] == ["swa", "yor", "hau"]
    assert json.loads(old[0]["per_type"]) == records[0]["metrics"]["per_type"]


@pytest.mark.slow  # a fresh interpreter imports torch and transformers: tens of seconds on a loaded laptop
def test_hub_endpoint_from_environment_in_a_fresh_process(hub, student):
    """The plain route: HF_ENDPOINT set before the libraries are imported (as for the command line)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from transformers import AutoModelForTokenClassification as M, AutoTokenizer as T\n"
        "m = M.from_pretrained('silver-org/student-swa', revision='v1.0.0')\n"
        "t = T.from_pretrained('silver-org/student-swa', revision='v1.0.0')\n"
        f"enc = t({SENTENCES!r}, is_split_into_words=True, padding=True, return_tensors='pt')\n"
        "print(m.eval()(**enc).logits.argmax(-1).tolist())\n"
    )
    env = dict(os.environ, HF_HOME=str(hub.env.home / "fresh"), HF_HUB_CACHE=str(hub.env.home / "fresh" / "hub"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    local = _predict(AutoModelForTokenClassification.from_pretrained(student), AutoTokenizer.from_pretrained(student))
    assert json.loads(out.stdout.strip().splitlines()[-1]) == local.argmax(-1).tolist()


def test_cli_model_and_results_dry_run_and_namespace_errors(hub, student, tmp_path, capsys):
    from silver_ner.cli import main
    from silver_ner.publish.hub import Hub, hub_errors

    n = len(hub.log)
    assert main(["publish", "model", str(student), "--repo", "silver-org/cli-student", "--version", "2.0.0", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "model.safetensors" in out and "not pushed (1): checkpoints/optimizer.pt" in out and "model-index:" in out
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in [eval_record(0.61), eval_record(0.5, "yor")]) + "\n")
    assert main(["publish", "results", str(records), "--repo", "silver-org/cli-results", "--version", "1.0.0", "--dry-run"]) == 0
    assert "2 records" in capsys.readouterr().out
    assert hub.log[n:] == []
    # a namespace the token may not write to, and a repository that does not exist
    assert main(["publish", "model", str(student), "--repo", "someone-else/student", "--version", "1.0.0"]) == 2
    assert "may not write to someone-else/student" in capsys.readouterr().err
    with pytest.raises(PublishError, match="repository silver-org/absent not found on http://127.0.0.1"):
        with hub_errors("silver-org/absent", "read"):
            Hub().api.model_info("silver-org/absent")


def _published_text(hub, repo_id, repo_type, tag):
    """Every file of the tagged commit as text; parquet files as their schema metadata and rows."""
    import io

    import pyarrow.parquet as pq

    repo = hub.repo(repo_id, repo_type)
    out = {}
    for path, blob in repo.commits[repo.tags[tag]].files.items():
        if path.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(blob.content))
            out[path] = json.dumps({"meta": {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()},
                                    "rows": table.to_pylist()}, ensure_ascii=False, default=str)
        else:
            out[path] = blob.content.decode("utf-8", "replace")
    return out


def test_no_published_file_holds_a_machine_path(hub, tmp_path_factory, tiny_bert):
    from silver_ner.builders.build import SAMPLES_DIR
    from silver_ner.publish.dataset import publish_dataset

    work = tmp_path_factory.mktemp("paths")
    inputs = work / "in"
    inputs.mkdir()
    for name in ("eng.txt", "eng.conll", "swa.txt"):
        shutil.copy(SAMPLES_DIR / name, inputs / name)
    user = write_tiny_build(work / "user-build", langs=("swa",), source_license="cc-by-4.0", files={
        "source_text": str(inputs / "eng.txt"), "target_text": str(inputs / "{lang}.txt"), "source_labels": str(inputs / "eng.conll")})
    sample = write_tiny_build(work / "sample-build", langs=("deu",))  # files inside the checkout
    publish_dataset(user, "silver-org/paths-user", "1.0.0")
    publish_dataset(sample, "silver-org/paths-sample", "1.0.0")

    student = work / "runs" / "student-swa"
    write_student(student, tiny_bert, records=[{**eval_record(0.6), "model": str(student)}])
    record = json.loads((student / "silver_ner_training.json").read_text())
    record["training_data"] = [{"source": "local", "path": str(user), "config": "swa", "split": "train"}]
    record["hyperparameters"]["mask_with"] = str(work / "runs" / "teacher")
    (student / "silver_ner_training.json").write_text(json.dumps(record))
    (student / "training_args.json").write_text(json.dumps({"output_dir": str(student / "checkpoints"), "seed": 42}))
    publish_model(student, "silver-org/paths-student", "1.0.0")
    records = work / "records.jsonl"
    records.write_text("".join(json.dumps({**eval_record(f1, lang), "model": str(student)}) + "\n"
                               for f1, lang in ((0.6, "swa"), (0.5, "yor"))))
    publish_results(records, "silver-org/paths-results", "1.0.0")

    machine = [str(tmp_path_factory.getbasetemp().resolve()), str(Path(__file__).resolve().parent.parent)]
    published = {}
    for repo_id, repo_type in (("silver-org/paths-user", "dataset"), ("silver-org/paths-sample", "dataset"),
                               ("silver-org/paths-student", "model"), ("silver-org/paths-results", "dataset")):
        published.update({f"{repo_id}/{p}": text for p, text in _published_text(hub, repo_id, repo_type, "v1.0.0").items()})
    assert len(published) > 15
    leaks = sorted(f"{name}: {where}" for name, text in published.items() for where in machine if where in text)
    assert leaks == []
    # what replaces the paths: file names, the sample's folder, names relative to the model folder
    origin = json.loads(json.loads(published["silver-org/paths-user/swa/train-00000-of-00001.parquet"])["rows"][0]["origin"])
    assert origin["source_file"] == "eng.txt" and origin["labels"].startswith("eng.conll:")
    origin = json.loads(json.loads(published["silver-org/paths-sample/deu/train-00000-of-00001.parquet"])["rows"][0]["origin"])
    assert origin["target_file"] == "samples/deu.txt"
    assert json.loads(published["silver-org/paths-results/results.json"])[0]["model"] == "student-swa"
    training = json.loads(published["silver-org/paths-student/silver_ner_training.json"])
    assert training["training_data"][0]["path"] == "user-build"


def test_results_show_card_prints_the_version_history_it_pushes(hub, tmp_path, capsys):
    from huggingface_hub import DatasetCard

    from silver_ner.cli import main

    path = tmp_path / "records.json"
    path.write_text(json.dumps([eval_record(0.61)]))
    assert main(["publish", "results", str(path), "--repo", "silver-org/history", "--version", "1.0.0"]) == 0
    path.write_text(json.dumps([eval_record(0.61), eval_record(0.5, "yor")]))
    capsys.readouterr()
    assert main(["publish", "results", str(path), "--repo", "silver-org/history", "--version", "1.1.0", "--show-card"]) == 0
    out = capsys.readouterr().out
    pushed = DatasetCard.load("silver-org/history", repo_type="dataset").text
    assert "| 1.0.0 |" in pushed and "| 1.1.0 |" in pushed
    shown = out.split("----- card (README.md) -----", 1)[1]
    assert "| 1.0.0 |" in shown and "| 1.1.0 |" in shown


def test_model_and_results_take_revision_commit_message_and_token(hub, student, tmp_path, capsys):
    from transformers import AutoModelForTokenClassification

    from silver_ner.cli import main

    hub.env.set_token(None)
    try:
        assert main(["publish", "model", str(student), "--repo", "silver-org/student-staged", "--version", "1.0.0",
                     "--token", WRITE_TOKEN, "--revision", "staging", "--commit-message", "Student 1.0.0"]) == 0
        records = tmp_path / "records.json"
        records.write_text(json.dumps([eval_record(0.61)]))
        assert main(["publish", "results", str(records), "--repo", "silver-org/results-staged", "--version", "1.0.0",
                     "--token", WRITE_TOKEN, "--revision", "staging", "--commit-message", "Results 1.0.0"]) == 0
    finally:
        hub.env.set_token(WRITE_TOKEN)
    for repo_id, repo_type, title, n in (("silver-org/student-staged", "model", "Student 1.0.0", 1),
                                         ("silver-org/results-staged", "dataset", "Results 1.0.0", 2)):
        repo = hub.repo(repo_id, repo_type)
        main_head = repo.branches["main"]
        assert set(repo.commits[main_head].files) == {".gitattributes"}
        assert repo.tags["v1.0.0"] == repo.branches["staging"]
        sha, titles = repo.tags["v1.0.0"], []
        while sha != main_head:
            titles.append(repo.commits[sha].title)
            sha = repo.commits[sha].parent
        assert titles == [title] * n
    model = AutoModelForTokenClassification.from_pretrained("silver-org/student-staged", revision="v1.0.0")
    assert model.config.id2label == dict(enumerate(IOB2))


def test_model_and_results_create_pr(hub, student, tmp_path):
    from datasets import load_dataset

    model_result, _ = publish_model(student, "silver-org/student-proposed", "1.0.0", create_pr=True)
    records = tmp_path / "records.json"
    records.write_text(json.dumps([eval_record(0.61), eval_record(0.5, "yor")]))
    results_result, _ = publish_results(records, "silver-org/results-proposed", "1.0.0", create_pr=True)
    for result, repo_type in ((model_result, "model"), (results_result, "dataset")):
        repo = hub.repo(result.repo_id, repo_type)
        (pull,) = repo.pulls.values()
        assert result.pull_request.endswith(f"/discussions/{pull.num}") and result.commit == pull.head == repo.tags["v1.0.0"]
        assert set(repo.commits[repo.branches["main"]].files) == {".gitattributes"}
        assert {"README.md", "silver_ner_release.json"} <= set(repo.commits[pull.head].files)
    assert load_dataset("silver-org/results-proposed", revision="v1.0.0", split="train")["config"] == ["swa", "yor"]


def test_student_trained_on_a_published_dataset_inherits_its_sources(hub, tmp_path):
    from silver_ner.publish.dataset import publish_dataset
    from silver_ner.publish.model import training_sources
    from silver_ner.students.train import load_dataset_data

    built = write_tiny_build(tmp_path / "build", langs=("swa",))
    publish_dataset(built, "silver-org/for-training", "1.0.0")
    provenance = load_dataset_data("silver-org/for-training", ["swa"], revision="v1.0.0").provenance
    assert provenance[0]["source"] == "hub" and [s["id"] for s in provenance[0]["sources"]] == ["silver-ner-sample"]
    sources, unknown = training_sources({"training_data": provenance})
    assert [(s["id"], s["license"]) for s in sources] == [("silver-ner-sample", "apache-2.0")] and not unknown


# --- a student fine-tuned from a teacher: the chain to the Hub encoder ------------------------------------

@pytest.fixture
def teacher_and_student(tmp_path, tiny_bert, monkeypatch):
    """A teacher trained on a CoNLL-2003 file of a fake data folder from the default encoder (here tiny_bert
    under the name intfloat/multilingual-e5-small), and a student fine-tuned from the teacher's folder on a
    MasakhaNER 2.0 file."""
    from conftest import SENTS, write_conll

    from silver_ner.projection import encoder
    from silver_ner.students.train import TrainSettings, load_conll_data, train_token_classifier

    data = tmp_path / "data"
    monkeypatch.setenv("SILVER_NER_DATA", str(data))
    monkeypatch.setattr(encoder, "default_encoder_path", lambda *a, **k: Path(tiny_bert))
    (data / "conll2003_en").mkdir(parents=True)
    (data / "masakhaner2" / "swa").mkdir(parents=True)
    conll = write_conll(data / "conll2003_en" / "train.txt")
    swa = write_conll(data / "masakhaner2" / "swa" / "train.txt", SENTS[3:])
    fast = TrainSettings(max_steps=2, batch_size=2, learning_rate=1e-3)
    teacher, student = tmp_path / "runs" / "teacher-conll", tmp_path / "runs" / "student-swa"
    train_token_classifier(load_conll_data(conll), teacher, encoder=None, keep_types=["PER", "ORG", "LOC"],
                           settings=fast, role="teacher", show_progress=False)
    train_token_classifier(load_conll_data(swa), student, encoder=str(teacher), keep_types=["PER", "ORG", "LOC"],
                           settings=fast, role="student", show_progress=False)
    return teacher, student


def test_student_record_names_its_teacher_and_the_teachers_data(teacher_and_student, tmp_path):
    from silver_ner.builders.cache import file_digest

    teacher, student = teacher_and_student
    text = (student / "silver_ner_training.json").read_text(encoding="utf-8")
    base = json.loads(text)["base_encoder"]
    assert base["local"] is True and Path(base["name"]).name == "teacher-conll"
    start = base["start_point"]
    assert start["role"] == "teacher" and start["n_sentences"] == 6 and start["labels"] == ["PER", "ORG", "LOC"]
    assert start["base_encoder"]["name"] == "intfloat/multilingual-e5-small" and "start_point" not in start["base_encoder"]
    assert start["training_record_sha256"] == file_digest(teacher / "silver_ner_training.json")
    [item] = start["training_data"]
    assert item["path"] == "conll2003_en/train.txt" and item["n_sentences"] == 6
    assert [(s["id"], s["license"]) for s in item["sources"]] == [("conll2003", "other")]
    assert str(tmp_path) not in text


def test_student_card_follows_the_chain_and_inherits_the_teachers_data_licence(teacher_and_student):
    from silver_ner.projection.errors import UserError

    teacher, student = teacher_and_student
    plan = plan_model(student, "silver-org/student-swa", "1.0.0")
    meta = plan.card.data.to_dict()
    assert meta["base_model"] == "intfloat/multilingual-e5-small"  # the teacher's Hub encoder, not the local folder
    # the teacher's data (CoNLL-2003, Reuters terms: custom, non-commercial) binds the student with its own
    # (MasakhaNER 2.0, cc-by-nc-4.0)
    assert meta["license"] == "other"
    assert "CoNLL-2003 (English): CoNLL-2003 text comes from the Reuters Corpus" in meta["license_details"]
    assert "MasakhaNER 2.0: cc-by-nc-4.0" in meta["license_details"]
    text = plan.card.text
    assert ("- **Fine-tuned from:** the teacher `teacher-conll`, trained with silver-ner on 6 sentences of "
            "CoNLL-2003 (English) (licence CoNLL-2003 text comes from the Reuters Corpus") in text
    assert "[intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small)" in text
    assert "and of the data of the model it was fine-tuned from" in text
    assert "Sources of the training data: MasakhaNER 2.0" in text  # the student's own data, as before
    assert "tjong-kim-sang-de-meulder-2003-introduction" in text  # the teacher's data is cited
    with pytest.raises(UserError, match="less restrictive than the sources"):
        plan_model(student, "silver-org/student-swa", "1.0.0", license="cc-by-nc-4.0")
    # the teacher itself: its own encoder, no start point
    tplan = plan_model(teacher, "silver-org/teacher", "1.0.0")
    assert tplan.card.data.to_dict()["base_model"] == "intfloat/multilingual-e5-small"
    assert "Fine-tuned from" not in tplan.card.text


def test_base_model_chain_of_records():
    from silver_ner.publish.model import base_chain, licence_sources, start_points

    teacher_data = [{"source": "conll", "sources": [{"id": "conll2003", "license": "other", "roles": ["source"]}]}]
    rec = {"base_encoder": {"name": "runs/teacher", "local": True, "start_point": {
        "role": "teacher", "n_sentences": 3, "training_data": teacher_data,
        "base_encoder": {"name": "me5-small", "path": "e5"}}},
        "training_data": [{"source": "local", "sources": [{"id": "mafand", "license": "cc-by-nc-4.0"}]}]}
    assert [e["name"] for e in base_chain(rec)] == ["runs/teacher", "me5-small"]
    [sp] = start_points(rec)
    assert sp["name"] == "teacher" and [s["id"] for s in sp["sources"]] == ["conll2003"] and not sp["unknown"]
    assert sorted(s["id"] for s in licence_sources(rec)[0]) == ["conll2003", "mafand"]
    # a teacher whose data names no corpus: the student's licence counts it as unknown
    rec["base_encoder"]["start_point"]["training_data"] = [{"source": "conll"}]
    assert licence_sources(rec)[1] is True
    assert base_chain({"base_encoder": "plain/name"}) == [{"name": "plain/name"}]
    assert base_chain(None) == []



def test_tokenizer_files_are_pushed_byte_for_byte(hub, tmp_path, tiny_bert):
    """Strings that only look like paths (``</s>``, base64 tables with ``/``) stay as they are: a tokenizer is
    never rewritten, only the project's records and the config are made portable."""
    from huggingface_hub import hf_hub_download

    student = write_student(tmp_path / "student", tiny_bert, records=[eval_record(0.6)])
    tok_path = student / "tokenizer.json"
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    tok["added_tokens"].append({"id": len(tok["model"]["vocab"]), "content": "</s>", "single_word": False, "lstrip": False,
                                "rstrip": False, "normalized": False, "special": True})
    tok["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": "ALQCAACEAAAAAACAAQAAgMz8AgC4BQAAhyIAgMzkAgC4PQAAeyIAgMzsAgC4BQAAiyIAgMw8/wIAuDU="},
        tok.get("normalizer") or {"type": "NFC"}]}
    tok_path.write_text(json.dumps(tok, indent=2, ensure_ascii=False), encoding="utf-8")
    before = tok_path.read_bytes()
    publish_model(student, "silver-org/student-bytes", "1.0.0")
    after = Path(hf_hub_download("silver-org/student-bytes", "tokenizer.json", revision="v1.0.0")).read_bytes()
    assert after == before


def test_records_from_a_results_file_join_the_model_index(hub, tmp_path, tiny_bert, capsys):
    """`publish model --results FILE`: the records naming this model (by folder name) join eval_results.json and the
    card's model-index; records of other models stay out; a file without a record of the model is refused."""
    from huggingface_hub import ModelCard, hf_hub_download

    from silver_ner.cli import main

    student = write_student(tmp_path / "student-ewe", tiny_bert, records=[])
    (student / "eval_results.json").unlink(missing_ok=True)
    results = tmp_path / "student-ours.json"
    results.write_text(json.dumps([{**eval_record(0.775, "ewe"), "model": "student-ewe"},
                                   {**eval_record(0.66, "kin"), "model": "student-kin"}]), encoding="utf-8")
    assert main(["publish", "model", str(student), "--repo", "silver-org/student-ewe-results", "--version", "1.0.0",
                 "--results", str(results), "-q"]) == 0
    card = ModelCard(Path(hf_hub_download("silver-org/student-ewe-results", "README.md", revision="v1.0.0")).read_text())
    scores = [m["value"] for res in card.data.to_dict()["model-index"][0]["results"] for m in res["metrics"]
              if m["type"] == "f1"]
    assert scores == [0.775]
    pushed = json.loads(Path(hf_hub_download("silver-org/student-ewe-results", "eval_results.json", revision="v1.0.0")).read_text())
    assert [r["model"] for r in pushed] == ["student-ewe"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{**eval_record(0.66, "kin"), "model": "student-kin"}]), encoding="utf-8")
    capsys.readouterr()
    assert main(["publish", "model", str(student), "--repo", "silver-org/student-ewe-results2", "--version", "1.0.0",
                 "--results", str(other), "--dry-run"]) == 2
    assert "no evaluation record names the model 'student-ewe'" in capsys.readouterr().err
