"""experiments/mafand_overlap.py: English- and French-side MAFAND-MT folders, missing splits."""

import json

import pytest
from conftest import load_script

def _load(name):
    return load_script("experiments", name)


def _conll(path, sentences):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\n".join(f"{w} O" for w in s.split()) + "\n" for s in sentences), encoding="utf-8")


def _pair(folder, split, side, lang, src, tgt):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.{side}").write_text("".join(x + "\n" for x in src), encoding="utf-8")
    (folder / f"{split}.{lang}").write_text("".join(x + "\n" for x in tgt), encoding="utf-8")


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    for lang in ("ewe", "kin"):
        _conll(d / "masakhaner2" / lang / "test.txt", [f"Test {lang} sentence ."])
        _conll(d / "masakhaner2" / lang / "dev.txt", [f"Dev {lang} sentence ."])
        _conll(d / "masakhaner2" / lang / "train.txt", [f"Train {lang} sentence ."])
    # French side, three splits; one line of each of dev and test leaks from MasakhaNER
    _pair(d / "mafand" / "fr-ewe", "train", "fr", "ewe", ["Un", "Deux"], ["Ɖeka", "Train ewe sentence."])
    _pair(d / "mafand" / "fr-ewe", "dev", "fr", "ewe", ["Trois", "Fuite"], ["Etɔ̃", "Test ewe sentence."])
    _pair(d / "mafand" / "fr-ewe", "test", "fr", "ewe", ["Quatre"], ["dev EWE sentence"])
    # English side without a train split
    _pair(d / "mafand" / "en-kin", "dev", "en", "kin", ["One"], ["Rimwe"])
    _pair(d / "mafand" / "en-kin", "test", "en", "kin", ["Two"], ["Kabiri"])
    return d


def test_french_side_and_missing_train_split(data, tmp_path, capsys):
    overlap = _load("mafand_overlap")
    out = tmp_path / "pool"
    report = tmp_path / "report.json"
    assert overlap.main(["--data", str(data), "--langs", "ewe,kin", "--lines", "0", "--splits", "train,dev,test",
                         "--output", str(report), "--write-filtered", str(out)]) == 0
    rep = json.loads(report.read_text())
    assert rep["ewe"]["pair"] == "fr-ewe" and rep["kin"]["pair"] == "en-kin"
    assert rep["ewe"]["dev"] == {"mafand_lines": 2, "in_masakhaner2_test": 1, "in_masakhaner2_dev": 0,
                                 "in_masakhaner2_train": 0}
    assert rep["ewe"]["test"]["in_masakhaner2_dev"] == 1
    assert rep["ewe"]["train"]["in_masakhaner2_train"] == 1
    assert rep["ewe"]["pool_pairs"] == 3  # the two leaking lines left out
    assert (out / "fr-ewe" / "pool.fr").read_text(encoding="utf-8") == "Un\nDeux\nTrois\n"
    assert (out / "fr-ewe" / "pool.ewe").read_text(encoding="utf-8") == "Ɖeka\nTrain ewe sentence.\nEtɔ̃\n"
    assert not (out / "en-ewe").exists()
    assert "train" not in rep["kin"] and rep["kin"]["pool_pairs"] == 2
    assert (out / "en-kin" / "pool.en").read_text(encoding="utf-8") == "One\nTwo\n"
    assert "en-kin/train.kin: missing, skipped" in capsys.readouterr().err


def test_no_mafand_folder_or_no_split_is_an_error(data):
    overlap = _load("mafand_overlap")
    with pytest.raises(SystemExit, match="no MAFAND-MT folder for xyz"):
        overlap.main(["--data", str(data), "--langs", "xyz", "--lines", "0"])
    with pytest.raises(SystemExit, match="en-kin: none of the splits train"):
        overlap.main(["--data", str(data), "--langs", "kin", "--lines", "0", "--splits", "train",
                      "--write-filtered", str(data / "out")])


def test_english_single_split_record_keeps_its_flat_form(data, tmp_path):
    overlap = _load("mafand_overlap")
    report = tmp_path / "r.json"
    assert overlap.main(["--data", str(data), "--langs", "ewe", "--splits", "train", "--output", str(report)]) == 0
    assert json.loads(report.read_text())["ewe"] == {"mafand_lines": 2, "in_masakhaner2_test": 0,
                                                     "in_masakhaner2_dev": 0, "in_masakhaner2_train": 1}


# --- provenance sidecars: a build of the pool records MAFAND-MT ---------------------------------------

def _write_pool(data, out, langs="ewe,kin"):
    overlap = _load("mafand_overlap")
    assert overlap.main(["--data", str(data), "--langs", langs, "--lines", "0", "--splits", "train,dev,test",
                         "--write-filtered", str(out)]) == 0


def test_pool_files_get_sidecars_naming_the_original_files(data, tmp_path):
    from silver_ner.builders.corpora import identify, read_provenance

    out = tmp_path / "pool"
    _write_pool(data, out)
    side = json.loads((out / "fr-ewe" / "pool.ewe.provenance.json").read_text(encoding="utf-8"))
    assert side["file"] == "pool.ewe" and side["lines"] == 3 and side["parallel_to"] == "pool.fr"
    assert side["derived_from"] == [
        {"file": "mafand/fr-ewe/train.ewe", "lines": 2, "kept": 2, "dropped_lines": []},
        {"file": "mafand/fr-ewe/dev.ewe", "lines": 2, "kept": 1, "dropped_lines": [2]},
        {"file": "mafand/fr-ewe/test.ewe", "lines": 1, "kept": 0, "dropped_lines": [1]}]
    assert side["filter"] == ("MAFAND-MT fr-ewe splits train,dev,test concatenated in order; the pairs whose ewe side "
                              "occurs in MasakhaNER 2.0 ewe dev or test (compared lower-cased, letters and digits only) left out")
    assert [d["file"] for d in read_provenance(out / "fr-ewe" / "pool.fr")["derived_from"]] == [
        "mafand/fr-ewe/train.fr", "mafand/fr-ewe/dev.fr", "mafand/fr-ewe/test.fr"]
    kin = json.loads((out / "en-kin" / "pool.en.provenance.json").read_text(encoding="utf-8"))
    assert [d["file"] for d in kin["derived_from"]] == ["mafand/en-kin/dev.en", "mafand/en-kin/test.en"]
    assert identify(out / "en-kin" / "pool.kin") == ("mafand", "pool.kin")
    assert str(tmp_path) not in json.dumps(side) + json.dumps(kin)  # no machine path in a sidecar


def test_sources_of_a_pool_name_mafand_with_its_licence_and_the_filter(data, tmp_path):
    from silver_ner.builders.corpora import configs_readme, sources_of

    out = tmp_path / "pool"
    _write_pool(data, out)
    recs = sources_of({"source": [str(out / "fr-ewe" / "pool.fr")], "target": [str(out / "fr-ewe" / "pool.ewe")]})
    assert len(recs) == 1
    rec = recs[0]
    assert (rec["id"], rec["name"], rec["license"]) == ("mafand", "MAFAND-MT", "cc-by-nc-4.0")
    assert "adelani-etal-2022-thousand" in rec["citation"]
    assert rec["files"] == sorted(f"mafand/fr-ewe/{s}.{x}" for s in ("train", "dev", "test") for x in ("fr", "ewe"))
    assert rec["roles"] == ["source", "target"]
    assert [d["file"] for d in rec["derived"]] == ["pool.ewe", "pool.fr"]
    assert rec["derived"][0]["dropped"] == 2 and rec["derived"][0]["lines"] == 3
    assert "MasakhaNER 2.0" in rec["derived"][0]["filter"]
    readme = configs_readme({"configs": {"ewe": {"sources": recs, "splits": ["train"]}}})
    assert "- MAFAND-MT (mafand/fr-ewe/dev.ewe" in readme and "cc-by-nc-4.0; read as pool.ewe, derived:" in readme
    # without the sidecar the same file is an undeclared user file
    (out / "fr-ewe" / "pool.fr.provenance.json").unlink()
    assert sources_of({"source": [str(out / "fr-ewe" / "pool.fr")]})[0]["id"] == "file:pool.fr"


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable provenance sidecar"),
    ("[]", "is a JSON object"),
    (None, "is in no known corpus"),
    ("abs", "must be a path relative to the data folder"),
    ("stale", "describes other content than pool.kin"),
])
def test_a_bad_sidecar_is_one_error_naming_it(data, tmp_path, content, message):
    from silver_ner.builders.corpora import sources_of
    from silver_ner.projection.errors import UserError

    out = tmp_path / "pool"
    _write_pool(data, out, "kin")
    pool = out / "en-kin" / "pool.kin"
    side = out / "en-kin" / "pool.kin.provenance.json"
    doc = json.loads(side.read_text(encoding="utf-8"))
    if content is None:
        doc["derived_from"][0]["file"] = "my_corpus/dev.kin"
        side.write_text(json.dumps(doc), encoding="utf-8")
    elif content == "abs":
        doc["derived_from"][0]["file"] = str(data / "mafand" / "en-kin" / "dev.kin")
        side.write_text(json.dumps(doc), encoding="utf-8")
    elif content == "stale":
        pool.write_text("Rimwe\n", encoding="utf-8")
    else:
        side.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message) as err:
        sources_of({"target": [str(pool)]})
    assert str(err.value).startswith(f"{side}:")


def test_build_of_a_pool_records_mafand_and_keys_its_sidecar(data, tmp_path, tiny_tagger, tiny_bert, monkeypatch):
    import os

    from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec, read_manifest
    from silver_ner.cli import main
    from silver_ner.projection.errors import UserError

    monkeypatch.setenv("SILVER_NER_DATA", str(data))
    (data / "mafand" / "en-kin" / "dev.en").write_text("John lives in Kigali .\n", encoding="utf-8")
    (data / "mafand" / "en-kin" / "dev.kin").write_text("John aba i Kigali .\n", encoding="utf-8")
    (data / "mafand" / "en-kin" / "test.en").write_text("Mary visited Paris .\nTwo\n", encoding="utf-8")
    (data / "mafand" / "en-kin" / "test.kin").write_text("Mary yasuye Paris .\nKabiri\n", encoding="utf-8")
    out = tmp_path / "pool"
    _write_pool(data, out, "kin")
    build = tmp_path / "build"
    args = ["build", "--lang", "kin", "--parallel", str(out / "en-{lang}" / "pool.en"), str(out / "en-{lang}" / "pool.{lang}"),
            "--tagger", os.fspath(tiny_tagger), "--aligner-model", os.fspath(tiny_bert), "--layer", "2",
            "--labels", "ORG", "--validation-fraction", "0", "--cache-dir", str(tmp_path / "cache"),
            "--output", str(build), "--quiet"]
    assert main(args) == 0
    manifest = read_manifest(build)
    sources = manifest["configs"]["kin"]["sources"]
    assert [(s["id"], s["name"], s["license"]) for s in sources] == [("mafand", "MAFAND-MT", "cc-by-nc-4.0")]
    assert sources[0]["files"] == ["mafand/en-kin/dev.en", "mafand/en-kin/dev.kin",
                                   "mafand/en-kin/test.en", "mafand/en-kin/test.kin"]
    assert [d["file"] for d in sources[0]["derived"]] == ["pool.en", "pool.kin"]
    assert str(tmp_path) not in json.dumps(sources)
    # the sidecar is part of the source key: an edited sidecar is a new build, a broken one an error before work
    spec = BuildSpec("kin", SourceSpec("parallel", {"source_text": str(out / "en-kin" / "pool.en"),
                                                    "target_text": str(out / "en-kin" / "pool.kin")},
                                       model=os.fspath(tiny_tagger)))
    key = LanguageBuild(spec, cache_dir=tmp_path / "c2").source_key()
    side = out / "en-kin" / "pool.kin.provenance.json"
    doc = json.loads(side.read_text(encoding="utf-8"))
    doc["filter"] += "; and one more filter"
    side.write_text(json.dumps(doc), encoding="utf-8")
    assert LanguageBuild(spec, cache_dir=tmp_path / "c2").source_key() != key
    side.unlink()
    assert LanguageBuild(spec, cache_dir=tmp_path / "c2").source_key() != key
    side.write_text("{", encoding="utf-8")
    with pytest.raises(UserError, match="pool.kin.provenance.json: not a readable provenance sidecar"):
        LanguageBuild(spec, cache_dir=tmp_path / "c2").source_key()
