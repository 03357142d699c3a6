"""`silver-ner publish assemble`: one release folder from several real tiny builds; its card; a student's card
naming the release (`publish model --dataset-repo`)."""

import json
import shutil

import pytest
from hub_server import eval_record, running_hub, write_student, write_tiny_build

from silver_ner.builders.assemble import assemble
from silver_ner.projection.errors import UserError
from silver_ner.publish.dataset import load_built_dataset, plan_dataset, publish_dataset
from silver_ner.publish.model import plan_model, publish_model

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    yield from running_hub(tmp_path_factory.mktemp("hf-home"))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """pool: the sample for swa and deu; mt: swa from user files (other ids, a declared licence); again: the
    sample's swa with another validation share (the same row ids as pool)."""
    from silver_ner.builders.build import SAMPLES_DIR

    root = tmp_path_factory.mktemp("builds")
    inputs = root / "in"
    inputs.mkdir()
    shutil.copy(SAMPLES_DIR / "eng.txt", inputs / "mt.en")
    shutil.copy(SAMPLES_DIR / "swa.txt", inputs / "mt.swa")
    shutil.copy(SAMPLES_DIR / "eng.conll", inputs / "mt.conll")
    return {
        "pool": write_tiny_build(root / "silver-pool-swa", langs=("swa", "deu")),
        "mt": write_tiny_build(root / "silver-mt-swa", langs=("swa",), source_license="cc-by-4.0", files={
            "source_text": str(inputs / "mt.en"), "target_text": str(inputs / "mt.{lang}"), "source_labels": str(inputs / "mt.conll")}),
        "again": write_tiny_build(root / "silver-again-swa", langs=("swa",), validation_fraction=0.3),
    }


def _manifest(folder):
    return json.loads((folder / "silver_ner_build.json").read_text())


def test_configs_of_a_language_are_concatenated_with_their_provenance(builds, tmp_path):
    from datasets import load_dataset, load_from_disk

    out = tmp_path / "release"
    assemble(out, [builds["pool"], builds["mt"]])
    pool, mt = (load_from_disk(str(builds[k] / "swa")) for k in ("pool", "mt"))
    swa = load_from_disk(str(out / "swa"))
    for split in ("train", "validation"):
        rows = swa[split].to_list()
        want = pool[split].to_list() + mt[split].to_list()
        assert [{k: v for k, v in r.items() if k != "build"} for r in rows] == want  # ids unchanged: no collision
        assert [r["build"] for r in rows] == ["silver-pool-swa"] * pool[split].num_rows + ["silver-mt-swa"] * mt[split].num_rows
    assert load_from_disk(str(out / "deu"))["train"]["build"] == ["silver-pool-swa"] * pool["train"].num_rows
    meta = _manifest(out)
    entry = meta["configs"]["swa"]
    assert entry["num_rows"] == {s: pool[s].num_rows + mt[s].num_rows for s in ("train", "validation")}
    parts = {p["build"]: p for p in entry["parts"]}
    assert list(parts) == ["silver-pool-swa", "silver-mt-swa"] and not any("id_prefix" in p for p in parts.values())
    for key, folder in (("silver-pool-swa", builds["pool"]), ("silver-mt-swa", builds["mt"])):
        own = _manifest(folder)["configs"]["swa"]
        for field in ("sources", "licenses", "fingerprint", "stats", "num_rows", "aligner", "method", "reference"):
            assert parts[key].get(field) == own.get(field)
    assert [s["id"] for s in entry["sources"]] == ["silver-ner-sample", "file:mt.conll", "file:mt.en", "file:mt.swa"]
    assert entry["stats"]["sentences_out"] == sum(p["stats"]["sentences_out"] for p in entry["parts"])
    assert [a["build"] for a in meta["assembled_from"]] == ["silver-pool-swa", "silver-mt-swa"]
    # publish takes it unchanged, and the folder loads like the repository
    built = load_built_dataset(out)
    assert built.configs["swa"].num_rows == entry["num_rows"]
    assert load_dataset(str(out), "swa")["train"].num_rows == entry["num_rows"]["train"]


def test_colliding_ids_are_prefixed_and_label_names_must_agree(builds, tmp_path):
    from datasets import load_from_disk

    out = tmp_path / "release"
    assemble(out, [builds["pool"], builds["again"]], langs=["swa"])
    rows = [r for split in ("train", "validation") for r in load_from_disk(str(out / "swa"))[split].to_list()]
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids) == 60
    assert all(r["id"].startswith(r["build"] + "/") for r in rows)
    assert [p["id_prefix"] for p in _manifest(out)["configs"]["swa"]["parts"]] == ["silver-pool-swa/", "silver-again-swa/"]
    assert list(_manifest(out)["configs"]) == ["swa"]

    other = tmp_path / "silver-other-swa"
    shutil.copytree(builds["again"], other)
    meta = _manifest(other)
    meta["configs"]["swa"]["label_names"] = ["O", "B-PER", "I-PER"]
    (other / "silver_ner_build.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="label names differ between .*silver-pool-swa .* and .*silver-other-swa"):
        assemble(tmp_path / "bad", [builds["pool"], other], langs=["swa"])
    assert not (tmp_path / "bad").exists()
    with pytest.raises(UserError, match="given twice"):
        assemble(tmp_path / "bad", [builds["pool"], builds["pool"]])
    with pytest.raises(UserError, match="no config 'yor'"):
        assemble(tmp_path / "bad", [builds["pool"]], langs=["yor"])
    with pytest.raises(UserError, match="an assembled folder"):
        assemble(tmp_path / "bad", [out])


def test_cli_assemble(builds, tmp_path, capsys):
    from silver_ner.cli import main

    out = tmp_path / "release"
    assert main(["publish", "assemble", str(out), str(builds["pool"]), str(builds["mt"]), "--config", "swa"]) == 0
    assert "swa: train" in capsys.readouterr().out and list(_manifest(out)["configs"]) == ["swa"]
    assert main(["publish", "assemble", str(tmp_path / "x"), str(tmp_path / "missing")]) == 2
    assert "missing: no such folder" in capsys.readouterr().err


def test_card_lists_every_part_and_source_and_the_student_names_the_release(hub, builds, tmp_path, tiny_bert):
    from huggingface_hub import ModelCard

    out = tmp_path / "release"
    assemble(out, [builds["pool"], builds["mt"]])
    result, plan = publish_dataset(out, "silver-org/assembled", "1.0.0")
    text = str(plan.card)
    assert plan.license == "cc-by-4.0"  # the sample (apache-2.0) and the user files (declared cc-by-4.0)
    assert "#### `swa` from `silver-pool-swa`" in text and "#### `swa` from `silver-mt-swa`" in text
    assert "mt.en (cc-by-4.0)" in text and "assembled on" in text and "The column `build` names the folder" in text
    for part in _manifest(out)["configs"]["swa"]["parts"]:
        assert f"Build fingerprint: `{part['fingerprint']}`" in text
    manifest = hub.repo("silver-org/assembled", "dataset").commits[result.commit].files["silver_ner_release.json"]
    content = json.loads(manifest.content)["content"]
    assert [p["build"] for p in content["swa"]["parts"]] == ["silver-pool-swa", "silver-mt-swa"]

    student = write_student(tmp_path / "student-swa", tiny_bert, records=[eval_record(0.6)])
    record = json.loads((student / "silver_ner_training.json").read_text())
    mt = _manifest(builds["mt"])["configs"]["swa"]
    from silver_ner.builders.cache import file_digest

    # as `silver-ner train` records a local build folder (the sample's rows: pool and mt share the fingerprint)
    assert mt["fingerprint"] == _manifest(builds["pool"])["configs"]["swa"]["fingerprint"]
    record["training_data"] = [{"source": "local", "path": str(builds["mt"]), "config": "swa", "split": "train",
                                "build_manifest_sha256": file_digest(builds["mt"] / "silver_ner_build.json"),
                                "build_fingerprint": mt["fingerprint"], "sources": mt["sources"]}]
    (student / "silver_ner_training.json").write_text(json.dumps(record))
    publish_model(student, "silver-org/student-assembled", "1.0.0", dataset_repo="silver-org/assembled@v1.0.0")
    card = ModelCard.load("silver-org/student-assembled")
    assert card.data.to_dict()["datasets"] == ["silver-org/assembled"]
    assert "[`silver-org/assembled`](https://huggingface.co/datasets/silver-org/assembled), config `swa`, split `train`, " \
           "revision `v1.0.0`, the rows whose `build` is `silver-mt-swa`" in card.text

    # a build that is not in the release: refused, naming the option; a dry run names it unchecked
    record["training_data"][0].update(build_fingerprint="0000000000000000", build_manifest_sha256="0" * 64)
    (student / "silver_ner_training.json").write_text(json.dumps(record))
    with pytest.raises(UserError, match="--dataset-repo silver-org/assembled@v1.0.0: the release holds none"):
        publish_model(student, "silver-org/student-other", "1.0.0", dataset_repo="silver-org/assembled@v1.0.0")
    assert ("model", "silver-org/student-other") not in hub.repos
    dry = plan_model(student, "silver-org/student-other", "1.0.0", dataset_repo="silver-org/assembled@v1.0.0")
    assert "not checked: dry run" in dry.describe()
    with pytest.raises(UserError, match="expected ORG/NAME@REVISION"):
        plan_model(student, "silver-org/student-other", "1.0.0", dataset_repo="silver-org/assembled")


def test_publish_with_source_license_fills_the_parts(builds, tmp_path):
    out = tmp_path / "release"
    assemble(out, [builds["pool"]], langs=["deu"])
    meta = _manifest(out)
    for part in [meta["configs"]["deu"]] + meta["configs"]["deu"]["parts"]:
        part["sources"] = [{**s, "license": None} for s in part["sources"]]
    (out / "silver_ner_build.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="no licence recorded"):
        plan_dataset(out, "silver-org/x", "1.0.0")
    text = str(plan_dataset(out, "silver-org/x", "1.0.0", source_license="cc-by-nc-4.0").card)
    assert "licence not recorded" not in text and "(cc-by-nc-4.0)" in text
