"""Publishing student models and leaderboard results to the local Hub-compatible server."""

import json

import pytest
from hub_server import IOB2, eval_record, running_hub, write_student

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
    assert [(r["dataset"]["type"], r["dataset"]["config"], r["dataset"]["split"]) for r in results] == [
        ("masakhaner2", "swa", "test"), ("masakhaner2", "yor", "test")]
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
    with pytest.raises(ValueError, match="eval_results.json: record 0 misses"):
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
