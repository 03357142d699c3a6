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
