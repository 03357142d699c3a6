"""The build manifest module: a build's file reads back as the typed form and writes out byte for byte; every check."""

import json
import re

import pytest
from hub_server import write_tiny_build

from silver_ner.builders import build as build_module
from silver_ner.builders.manifest import MANIFEST_FORMAT, MANIFEST_NAME, ConfigEntry, Manifest, read_manifest
from silver_ner.projection.errors import UserError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    # two languages, reference labels (the ``reference`` key), span conventions, a licence
    folder = tmp_path_factory.mktemp("manifest") / "out"
    return write_tiny_build(folder, ("swa", "deu"), span_conventions={"LOC": [("jiji",)]}, licenses=["cc-by-4.0"])


def test_a_build_manifest_reads_back_typed_and_writes_out_byte_identical(built):
    text = (built / MANIFEST_NAME).read_text(encoding="utf-8")
    man = read_manifest(built)
    assert isinstance(man, Manifest) and man.format == MANIFEST_FORMAT
    assert list(man.configs) == ["swa", "deu"]
    swa = man.configs["swa"]
    assert isinstance(swa, ConfigEntry)
    assert swa.path == "swa" and swa.method == "naive" and swa.aligner == "identical-tokens"
    assert swa.licenses == ["cc-by-4.0"] and swa.span_conventions == {"LOC": ["jiji"]}
    assert swa.reference["sentences"] == 30 and swa.backtranslation is None
    assert swa.extra == {} and swa.null_keys == ()
    assert json.dumps(man.to_dict(), ensure_ascii=False) == text  # same keys, same order, same bytes
    assert build_module.read_manifest(built) == json.loads(text)  # the dict form


def test_round_trip_keeps_unknown_keys_nulls_and_key_order():
    entry = {
        "path": "deu", "splits": ["train"], "num_rows": {"train": 3}, "label_names": ["O", "B-PER", "I-PER"],
        "label_mapping": {"PER": "PER", "MISC": None}, "stats": {"sentences_in": 3}, "source": {"kind": "conll"},
        "target_source": {"kind": "pairs"}, "aligner": None, "method": "naive", "method_params": {},
        "filters": {}, "validation_fraction": 0.0, "fingerprint": "fp", "licenses": [], "sources": [],
        "backtranslation": {"model": "m", "model_identity": "m@1"}, "seconds": 1.5,
        "added_later": {"x": 1},
    }
    data = {"format": MANIFEST_FORMAT, "silver_ner_version": "9.9", "created": "2026-01-01T00:00:00+00:00",
            "configs": {"deu": entry}, "notes": "kept"}
    man = Manifest.from_dict(data)
    deu = man.configs["deu"]
    assert deu.extra == {"added_later": {"x": 1}} and man.extra == {"notes": "kept"}
    assert deu.aligner is None and deu.reference is None and deu.backtranslation["model_identity"] == "m@1"
    out = man.to_dict()
    assert json.dumps(out) == json.dumps(data)  # "aligner": null stays, no absent key appears
    out["configs"]["deu"]["num_rows"]["train"] = 0  # a copy: the typed form is unchanged
    assert deu.num_rows == {"train": 3}


def test_an_older_manifest_without_the_later_keys_reads_and_writes_them_absent():
    old = {"path": "swa", "num_rows": {"train": 2}, "label_names": ["O"], "stats": {}, "source": {},
           "method": "naive", "fingerprint": "fp"}
    entry = ConfigEntry.from_dict(old)
    assert entry.splits is None and entry.sources is None and entry.to_dict() == old


def _write(folder, content):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST_NAME
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


GOOD = {"path": "swa", "num_rows": {"train": 2}, "label_names": ["O"], "stats": {}, "source": {}, "method": "naive",
        "fingerprint": "fp"}


def _with_configs(configs):
    return {"format": MANIFEST_FORMAT, "configs": configs}


@pytest.mark.parametrize("content, message", [
    (b'{"format": "silver-ner-build/1", "configs": {"\xff": 1}}', "{file}: not UTF-8 text (byte 46)"),
    ('{"format": "silver-ner-build/1",\n "configs": ', "{file}:2: not valid JSON"),
    ([], "{file}: format is 'list', expected 'silver-ner-build/1'"),
    ({"configs": {"swa": GOOD}}, "{file}: format is None, expected 'silver-ner-build/1'"),
    ({"format": "silver-ner-build/0", "configs": {"swa": GOOD}}, "{file}: format is 'silver-ner-build/0'"),
    ({"format": MANIFEST_FORMAT}, "{file}: 'configs' is missing or empty"),
    (_with_configs({}), "{file}: 'configs' is missing or empty"),
    (_with_configs(["swa"]), "{file}: 'configs' is missing or empty"),
    (_with_configs({"swa": ["x"]}), "{file}: config 'swa': expected an object, got a list"),
    (_with_configs({"swa": {k: v for k, v in GOOD.items() if k not in ("method", "fingerprint")}}),
     "{file}: config 'swa': missing method, fingerprint"),
    (_with_configs({"swa": GOOD, "deu": {**GOOD, "path": 3}}), "{file}: config 'deu': 'path' must be a string, got a number"),
    (_with_configs({"swa": {**GOOD, "num_rows": [2]}}), "{file}: config 'swa': 'num_rows' must be an object, got a list"),
    (_with_configs({"swa": {**GOOD, "label_names": "O"}}), "{file}: config 'swa': 'label_names' must be a list, got a string"),
], ids=["utf8", "json", "not-object", "no-format", "format", "no-configs", "empty-configs", "configs-list",
        "config-not-object", "missing-keys", "path-type", "num-rows-type", "label-names-type"])
def test_each_problem_of_a_manifest_is_a_user_error_naming_the_file(tmp_path, content, message):
    path = _write(tmp_path / "out", content)
    with pytest.raises(UserError, match=re.escape(message.format(file=path))):
        read_manifest(tmp_path / "out")


def test_a_folder_without_manifest_is_a_user_error_naming_it(tmp_path):
    (tmp_path / "plain").mkdir()
    for folder in (tmp_path / "plain", tmp_path / "missing"):
        with pytest.raises(UserError, match=re.escape(f"{folder}: not a built silver dataset (no {MANIFEST_NAME}; "
                                                      "make one with `silver-ner build`)")):
            read_manifest(folder)
    (tmp_path / "dir" / MANIFEST_NAME).mkdir(parents=True)  # a folder of that name is no manifest
    with pytest.raises(UserError, match="not a built silver dataset"):
        read_manifest(tmp_path / "dir")


def test_training_records_the_build_it_reads_through_the_manifest(built, tmp_path):
    import shutil

    from silver_ner.students.train import _open_split

    entry = read_manifest(built).configs["swa"]
    ds, prov = _open_split(str(built), "swa", "train", None)
    assert len(ds) == entry.num_rows["train"]
    assert (prov["build_fingerprint"], prov["build_method"], prov["build_aligner"]) == (entry.fingerprint, "naive",
                                                                                        "identical-tokens")
    assert [rec["name"] for rec in prov["sources"]] == [rec["name"] for rec in entry.sources]
    # a manifest of another format names no build in the record; the rows still load
    other = tmp_path / "other"
    shutil.copytree(built, other)
    data = json.loads((other / MANIFEST_NAME).read_text(encoding="utf-8"))
    (other / MANIFEST_NAME).write_text(json.dumps({**data, "format": "silver-ner-build/0"}), encoding="utf-8")
    ds, prov = _open_split(str(other), "swa", "train", None)
    assert len(ds) == entry.num_rows["train"] and "build_manifest_sha256" in prov
    assert not [k for k in prov if k.startswith("build_") and k != "build_manifest_sha256"] and "sources" not in prov
