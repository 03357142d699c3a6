"""Cards, licences, versions and repo ids: rendering and checks that need no server."""

import json
import shutil

import pytest
from hub_server import IOB2, eval_record, sample_data_root, validate_card, write_tiny_build

from silver_ner.builders.build import SAMPLES_DIR
from silver_ner.projection.errors import UserError
from silver_ner.publish.cards import check_metadata, inherited_license, license_problems, normalise_license
from silver_ner.publish.dataset import plan_dataset
from silver_ner.publish.versions import Version, check_repo_id, parse_version


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real tiny build of the embedded sample (configs swa, deu), scored against the sample's hand labels."""
    return write_tiny_build(tmp_path_factory.mktemp("build") / "b")


@pytest.fixture(scope="module")
def corpora_build(tmp_path_factory):
    """A real tiny build from a data folder laid out like the real one: MAFAND-MT text, CoNLL-2003 labels."""
    import os

    root = tmp_path_factory.mktemp("data")
    files = sample_data_root(root)
    saved = os.environ.get("SILVER_NER_DATA")
    os.environ["SILVER_NER_DATA"] = str(root)
    try:
        return write_tiny_build(tmp_path_factory.mktemp("build") / "corpora", langs=("swa",), files=files)
    finally:
        if saved is None:
            os.environ.pop("SILVER_NER_DATA")
        else:
            os.environ["SILVER_NER_DATA"] = saved


def user_files(folder):
    """The embedded sample copied to user files; the labels file is named eng.conll."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("eng.txt", "eng.conll", "swa.txt"):
        shutil.copy(SAMPLES_DIR / name, folder / name)
    return {"source_text": str(folder / "eng.txt"), "target_text": str(folder / "{lang}.txt"),
            "source_labels": str(folder / "eng.conll")}


@pytest.mark.parametrize("licenses, expected", [
    (["CC BY-NC 4.0"], "cc-by-nc-4.0"),
    (["cc-by-nc-4.0", "CC-BY-SA-4.0"], "cc-by-nc-sa-4.0"),
    (["CC BY 4.0", "Apache-2.0"], "cc-by-4.0"),
    (["Apache-2.0"], "apache-2.0"),
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
    manifest = json.loads((built / "silver_ner_build.json").read_text())
    swa = manifest["configs"]["swa"]
    assert validate_card(text, "dataset") == [] and check_metadata(meta, "dataset") == []
    assert meta["size_categories"] == ["n<1K"] and meta["pretty_name"]
    assert [i["config_name"] for i in meta["dataset_info"]] == ["swa", "deu"]
    # statistics, provenance, quality, licence, citation, loading and limitations, as the build recorded them
    st = swa["stats"]
    assert f"Sentences: {st['sentences_in']} in, {st['sentences_out']} out; projection rate {st['projection_rate']:.3f}" in text
    assert "Entities per class: " + ", ".join(f"{k} {v}" for k, v in st["entities_per_class"].items()) in text
    assert "Aligner: identical-tokens" in text and "Projection method: `naive` (defaults)" in text
    assert "Source corpus: kind: conll, files: samples/eng.txt, samples/eng.conll, language: eng" in text
    assert "| Europarl de, n-gram matching (F1) | 0.916 |" in text
    ref = swa["reference"]
    assert f"| swa: projected vs gold samples/swa.conll ({ref['sentences']} sentences), F1 | {ref['f1']:.3f} |" in text
    assert f"precision {ref['precision']}, recall {ref['recall']}, F1 {ref['f1']}" in text
    assert "2501.18750" in text
    assert 'load_dataset("silver-org/silver-ner", "swa", revision="v1.2.0")' in text
    assert "## Limitations" in text and "| 1.2.0 |" in text
    assert ", ".join(IOB2) in text


def test_build_manifest_records_the_sources_with_licence_and_citation(built, corpora_build):
    sample = json.loads((built / "silver_ner_build.json").read_text())["configs"]["swa"]["sources"]
    assert [(s["id"], s["license"]) for s in sample] == [("silver-ner-sample", "apache-2.0")]
    assert sample[0]["files"] == ["samples/eng.conll", "samples/eng.txt", "samples/swa.conll", "samples/swa.txt"]
    corpora = json.loads((corpora_build / "silver_ner_build.json").read_text())["configs"]["swa"]["sources"]
    assert [(s["id"], s["license"], s.get("hub_id")) for s in corpora] == [
        ("conll2003", "other", "eriktks/conll2003"), ("mafand", "cc-by-nc-4.0", "masakhane/mafand")]
    assert corpora[0]["files"] == ["conll2003_en/train.txt"] and "tjong-kim-sang" in corpora[0]["citation"]
    assert corpora[1]["files"] == ["mafand/en-swa/train.en", "mafand/en-swa/train.swa"]


def test_sample_build_keeps_its_licence_and_cites_no_corpus_it_did_not_read(built):
    plan = plan_dataset(built, "silver-org/sample", "1.0.0")
    text = str(plan.card)
    assert plan.card.data.license == "apache-2.0"  # not relicensed to cc-by-4.0
    # eng.conll is the sample's own file: no CoNLL-2003 citation, no MasakhaNER or MAFAND licence note
    assert "tjong-kim-sang" not in text and "MasakhaNER" not in text and "MAFAND" not in text
    assert "non-commercial" not in text
    with pytest.raises(UserError, match="license 'mit' is less restrictive than the sources .*apache-2.0"):
        plan_dataset(built, "silver-org/sample", "1.0.0", license="mit")
    assert plan_dataset(built, "silver-org/sample", "1.0.0", license="cc-by-nc-4.0").card.data.license == "cc-by-nc-4.0"


def test_known_corpora_give_their_licences_and_citations(corpora_build):
    plan = plan_dataset(corpora_build, "silver-org/corpora", "1.0.0")
    text = str(plan.card)
    meta = plan.card.data.to_dict()
    assert meta["license"] == "other" and meta["license_name"] and "Reuters Corpus" in meta["license_details"]
    assert "tjong-kim-sang" in text and "adelani-etal-2022-thousand" in text
    assert "adelani-etal-2022-masakhaner" not in text and "MasakhaNER" not in text  # read no MasakhaNER file
    assert "CoNLL-2003 (English) and MAFAND-MT are licensed for non-commercial use only" in text
    assert "[`masakhane/mafand`](https://huggingface.co/datasets/masakhane/mafand)" in text
    for lax in ("mit", "cc-by-4.0", "cc-by-nc-4.0"):  # CC BY-NC and the Reuters terms: only 'other' fits
        with pytest.raises(UserError, match=f"license '{lax}' is less restrictive than the sources"):
            plan_dataset(corpora_build, "silver-org/corpora", "1.0.0", license=lax)


def test_user_files_need_a_declared_licence(tmp_path):
    files = user_files(tmp_path / "in")
    undeclared = write_tiny_build(tmp_path / "undeclared", langs=("swa",), files=files)
    with pytest.raises(UserError, match="no licence recorded for the source file\\(s\\) eng.conll, eng.txt, swa.txt; "
                                        "declare it with --source-license"):
        plan_dataset(undeclared, "silver-org/user", "1.0.0")
    with pytest.raises(UserError, match="'not-a-licence' is not a Hub licence id"):
        plan_dataset(undeclared, "silver-org/user", "1.0.0", source_license="not-a-licence")
    at_publish = plan_dataset(undeclared, "silver-org/user", "1.0.0", source_license="cc-by-sa-4.0")
    at_build = plan_dataset(write_tiny_build(tmp_path / "declared", langs=("swa",), files=files, source_license="cc-by-sa-4.0"),
                            "silver-org/user", "1.0.0")
    for plan in (at_publish, at_build):
        text = str(plan.card)
        assert plan.card.data.license == "cc-by-sa-4.0"
        assert "tjong-kim-sang" not in text and "CoNLL-2003 text comes from the Reuters" not in text
        assert "| eng.conll |  | eng.conll | source | `cc-by-sa-4.0` |" in text


def test_dataset_card_without_quality_points_to_the_projection_docs(tmp_path):
    plain = write_tiny_build(tmp_path / "plain", langs=("deu",), reference=False)
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


def test_portable_names_replace_machine_paths(tmp_path, monkeypatch):
    from silver_ner.builders.corpora import portable

    monkeypatch.setenv("SILVER_NER_DATA", str(tmp_path / "data"))
    data, elsewhere = tmp_path / "data", tmp_path / "runs"
    value = {
        "labels": f"{data}/conll2003_en/train.txt:12", "target_file": f"{data}/mafand/en-swa/train.swa",
        "sample": str(SAMPLES_DIR / "eng.conll") + ":3", "tagger": f"hf-tagger:{elsewhere}/teacher",
        "translator": f"{elsewhere}/m2m@3f2a:beams=4:max_length=256", "list": [f"{elsewhere}/student-swa", "PER/ORG"],
        "kept": ["https://huggingface.co/datasets/x/y", "samples/eng.txt", "2026/12/02", "a / b"],
    }
    assert portable(value) == {
        "labels": "conll2003_en/train.txt:12", "target_file": "mafand/en-swa/train.swa",
        "sample": "samples/eng.conll:3", "tagger": "hf-tagger:teacher",
        "translator": "m2m@3f2a:beams=4:max_length=256", "list": ["student-swa", "PER/ORG"],
        "kept": ["https://huggingface.co/datasets/x/y", "samples/eng.txt", "2026/12/02", "a / b"],
    }


def _model_folder(folder, training_data):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architectures": ["BertForTokenClassification"], "id2label": dict(enumerate(IOB2))}))
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "tokenizer.json").write_text("{}")
    (folder / "silver_ner_training.json").write_text(json.dumps({"base_encoder": {"name": "me5-small"}, "training_data": training_data}))
    return folder


def test_model_licence_and_citations_come_from_the_training_data(built, tmp_path, monkeypatch):
    from silver_ner.publish.model import plan_model
    from silver_ner.students.train import load_conll_data, load_dataset_data

    # training records as training writes them: a student on the sample build, a teacher on CoNLL-2003
    student = _model_folder(tmp_path / "student", load_dataset_data(str(built), ["swa"]).provenance)
    monkeypatch.setenv("SILVER_NER_DATA", str(tmp_path / "data"))
    conll = sample_data_root(tmp_path / "data")["source_labels"]
    teacher = _model_folder(tmp_path / "teacher", load_conll_data(conll).provenance)

    plan = plan_model(student, "silver-org/student", "1.0.0")
    text, meta = str(plan.card), plan.card.data.to_dict()
    assert meta["license"] == "apache-2.0" and "datasets" not in meta  # a local build is no Hub dataset
    assert "Sources of the training data: silver-ner embedded sample" in text and "tjong-kim-sang" not in text
    with pytest.raises(UserError, match="license 'mit' is less restrictive than the sources"):
        plan_model(student, "silver-org/student", "1.0.0", license="mit")

    plan = plan_model(teacher, "silver-org/teacher", "1.0.0")
    text, meta = str(plan.card), plan.card.data.to_dict()
    assert meta["license"] == "other" and "Reuters Corpus" in meta["license_details"]
    assert "[`eriktks/conll2003`](https://huggingface.co/datasets/eriktks/conll2003)" in text and "tjong-kim-sang" in text
    assert validate_card(text, "model") == []
    with pytest.raises(UserError, match="license 'cc-by-nc-4.0' is less restrictive than the sources .*CoNLL-2003"):
        plan_model(teacher, "silver-org/teacher", "1.0.0", license="cc-by-nc-4.0")


def test_reference_labels_are_cited_but_do_not_license_the_data(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "masakhaner2" / "swa").mkdir(parents=True)
    shutil.copy(SAMPLES_DIR / "swa.conll", data / "masakhaner2" / "swa" / "train.txt")  # laid out like MasakhaNER 2.0
    monkeypatch.setenv("SILVER_NER_DATA", str(data))
    built = write_tiny_build(tmp_path / "b", langs=("swa",), files=user_files(tmp_path / "in"), source_license="cc-by-4.0",
                             reference=str(data / "masakhaner2" / "{lang}" / "train.txt"))
    sources = json.loads((built / "silver_ner_build.json").read_text())["configs"]["swa"]["sources"]
    assert ("masakhaner2", ["reference"]) in [(s["id"], s["roles"]) for s in sources]
    plan = plan_dataset(built, "silver-org/referenced", "1.0.0")
    text = str(plan.card)
    assert plan.card.data.license == "cc-by-4.0" and "non-commercial" not in text
    assert "MasakhaNER 2.0: used only as reference labels to measure the projection" in text
    assert "adelani-etal-2022-masakhaner" in text and "| swa: projected vs gold masakhaner2/swa/train.txt" in text
