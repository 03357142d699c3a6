"""Cards, licences, versions and repo ids: rendering and checks that need no server."""

import pytest
from hub_server import IOB2, eval_record, validate_card, write_built_dataset

from silver_ner.publish.cards import check_metadata, inherited_license, license_problems, normalise_license
from silver_ner.publish.dataset import plan_dataset
from silver_ner.publish.versions import Version, check_repo_id, parse_version


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return write_built_dataset(tmp_path_factory.mktemp("build") / "b")


@pytest.mark.parametrize("licenses, expected", [
    (["CC BY-NC 4.0"], "cc-by-nc-4.0"),
    (["cc-by-nc-4.0", "CC-BY-SA-4.0"], "cc-by-nc-sa-4.0"),
    (["CC BY 4.0", "Apache-2.0"], "cc-by-4.0"),
    (["CC BY-NC 4.0", "Reuters Corpus terms (research use)"], "other"),
    (["some bespoke terms"], "other"),
])
def test_inherited_license_is_at_least_as_restrictive(licenses, expected):
    assert inherited_license(licenses) == expected
    assert license_problems(expected, licenses) == []


def test_less_restrictive_license_is_reported():
    assert normalise_license("CC BY-NC 4.0") == ("cc-by-nc-4.0", frozenset({"nc"}))
    (problem,) = license_problems("cc-by-4.0", ["CC BY-NC 4.0"])
    assert "non-commercial" in problem
    assert license_problems("cc-by-nc-4.0", ["MasakhaNER CC BY-NC 4.0".split(" ", 1)[1]]) == []
    assert "not one of" in license_problems("wtfpl", [])[0]


@pytest.mark.parametrize("text, expected", [
    ("1.0.0", Version(1, 0, 0)), ("v2.10.3", Version(2, 10, 3)), ("1.1.0-rc.1", Version(1, 1, 0, "rc.1")),
])
def test_versions(text, expected):
    v = parse_version(text)
    assert v == expected and v.tag == f"v{v}" and v.branch == f"release-v{v}"


@pytest.mark.parametrize("text", ["1.0", "01.0.0", "1.0.0+build.5", "latest", ""])
def test_bad_versions(text):
    with pytest.raises(ValueError, match="--version"):
        parse_version(text)


def test_prerelease_sorts_before_release():
    assert parse_version("1.1.0-rc.1").sort_key() < parse_version("1.1.0").sort_key() < parse_version("1.2.0").sort_key()


@pytest.mark.parametrize("repo", ["silver-ner", "a/b/c", "org/", "/name", "org/na me", "org/-x", "org/a..b"])
def test_bad_repo_ids(repo):
    with pytest.raises(ValueError, match="--repo"):
        check_repo_id(repo)


def test_dataset_card_content_and_yaml(built):
    quality = {"Europarl de, n-gram matching (F1)": 0.916, "Europarl es, n-gram matching (F1)": 0.912}
    plan = plan_dataset(built, "silver-org/silver-ner", "1.2.0", quality=quality)
    text = str(plan.card)
    meta = plan.card.data.to_dict()
    assert validate_card(text, "dataset") == [] and check_metadata(meta, "dataset") == []
    assert meta["size_categories"] == ["n<1K"] and meta["pretty_name"]
    assert [i["config_name"] for i in meta["dataset_info"]] == ["swa", "yor"]
    # statistics, provenance, quality, licence, citation, loading and limitations
    assert "projection rate 0.875" in text and "Entities per class: PER 3, ORG 1, LOC 1" in text and "no_target_entity 1, too_long 1" in text
    assert "simalign-0.4:multilingual-e5-small:layer8:itermax" in text and "`candidates` (max_ngram: 3)" in text
    assert "| Europarl de, n-gram matching (F1) | 0.916 |" in text
    assert "| swa: projected vs gold masakhaner2/swa/train.txt (3 sentences), F1 | 0.847 |" in text
    assert "precision 0.9, recall 0.8, F1 0.847" in text
    assert "Reuters Corpus" in text and "CC BY-NC 4.0" in text
    assert "2501.18750" in text and "tjong-kim-sang" in text and "adelani-etal-2022-thousand" in text
    assert 'load_dataset("silver-org/silver-ner", "swa", revision="v1.2.0")' in text
    assert "## Limitations" in text and "| 1.2.0 |" in text
    assert ", ".join(IOB2) in text


def test_dataset_card_without_quality_points_to_the_projection_docs(tmp_path):
    plain = write_built_dataset(tmp_path / "plain", langs=("yor",))
    text = str(plan_dataset(plain, "silver-org/silver-ner", "1.0.0").card)
    assert "No projection quality was measured" in text and "docs/projection.md" in text


def test_check_metadata_lists_every_problem():
    problems = check_metadata({"license": "other", "language": ["Swahili"], "configs": [{"config_name": "swa"}]}, "dataset")
    joined = "; ".join(problems)
    for needle in ("license_name", "Swahili", "task_categories", "task_ids", "size_categories", "pretty_name",
                   "data_files", "dataset_info"):
        assert needle in joined
    model = check_metadata({"license": "mit", "pipeline_tag": "ner", "model-index": [
        {"name": "m", "results": [{"task": {"type": "ner"}, "metrics": [{"type": "f1", "value": 1}]}]}]}, "model")
    assert any("pipeline_tag" in p for p in model) and any("base_model" in p for p in model)
    assert any("task type" in p for p in model) and any("precision and recall" in p for p in model)


def test_model_card_rendering(tmp_path):
    import json

    from silver_ner.publish.model import plan_model

    # the card needs only the folder's files, not loadable weights
    folder = tmp_path / "m"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "optimizer.pt").write_bytes(b"x")
    (folder / "config.json").write_text(json.dumps({"architectures": ["BertForTokenClassification"], "id2label": dict(enumerate(IOB2))}))
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "tokenizer.json").write_text("{}")
    (folder / "eval_results.json").write_text(json.dumps([eval_record(0.61)]))
    (folder / "silver_ner_training.json").write_text(json.dumps({
        "base_encoder": {"name": "me5-small"}, "hyperparameters": {"learning_rate": 5e-05},
        "training_data": [{"source": "hub", "repo": "silver-org/silver-ner", "config": "swa", "split": "train", "revision": "v1.0.0"}]}))
    plan = plan_model(folder, "silver-org/student", "1.0.0")
    text = str(plan.card)
    assert validate_card(text, "model") == []
    assert "revision=\"v1.0.0\"" in text and "masakhaner2 | swa | test | 12 | 0.6500 | 0.5800 | 0.6100" in text
    assert "[`silver-org/silver-ner`](https://huggingface.co/datasets/silver-org/silver-ner), config `swa`" in text
    assert "Per type, masakhaner2 swa test: PER F1 0.6460" in text
    assert "checkpoints/optimizer.pt" in plan.describe()
