"""The datasets builder and the ``silver-ner build`` command."""

import json
import os

import datasets
import pytest

from silver_ner.builders.build import MANIFEST_NAME, LanguageBuild, read_manifest
from silver_ner.builders.silver import SilverNerBuilder, SilverNerConfig, silver_features
from silver_ner.cli import main
from conftest import SameWordAligner
from test_build import sample_spec

datasets.disable_progress_bars()


def test_features_use_the_iob2_names_of_the_label_set():
    spec = sample_spec(labels="masakhaner")
    f = silver_features(spec.label_names)
    assert f["ner_tags"].feature.names == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE"]
    assert f["source_ner_tags"].feature.names == f["ner_tags"].feature.names
    assert f["alignment"].feature.feature.dtype == "int32"
    assert set(f) >= {"id", "tokens", "entity_scores", "unprojected", "source_id", "origin", "method"}


def test_builder_hash_is_the_build_fingerprint(tmp_path):
    lb = LanguageBuild(sample_spec(), cache_dir=tmp_path / "c", aligner=SameWordAligner(), chunk_size=10)
    b = SilverNerBuilder.from_build(lb, cache_dir=os.fspath(tmp_path / "ds"))
    assert isinstance(b.config, SilverNerConfig) and b.config.name == "swa"
    assert lb.fingerprint() in b.cache_dir
    b.download_and_prepare()
    dd = b.as_dataset()
    assert sum(len(d) for d in dd.values()) == 30
    other = LanguageBuild(sample_spec(validation_fraction=0.5), cache_dir=tmp_path / "c", aligner=SameWordAligner())
    assert SilverNerBuilder.from_build(other, cache_dir=os.fspath(tmp_path / "ds")).cache_dir != b.cache_dir


def test_builder_from_a_config_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("SILVER_NER_CACHE", os.fspath(tmp_path / "c"))
    b = SilverNerBuilder(config_name="deu", spec=sample_spec("deu"), cache_dir=os.fspath(tmp_path / "ds"))
    assert b.build.spec.lang == "deu" and b.build.num_chunks() == 1
    with pytest.raises(ValueError, match="needs a spec"):
        SilverNerBuilder(config_name="deu", cache_dir=os.fspath(tmp_path / "ds"))


def test_num_proc_shards_give_the_same_rows(tmp_path):
    rows = []
    for n in (None, 2):
        lb = LanguageBuild(sample_spec(), cache_dir=tmp_path / f"c{n}", aligner=SameWordAligner(), chunk_size=6)
        b = SilverNerBuilder.from_build(lb, cache_dir=os.fspath(tmp_path / f"ds{n}"))
        b.download_and_prepare(num_proc=n)
        dd = b.as_dataset()
        rows.append({k: sorted(d.to_list(), key=lambda r: r["id"]) for k, d in dd.items()})
    assert rows[0] == rows[1]


def test_cli_demo_end_to_end_with_a_local_encoder(tmp_path, tiny_bert, capsys):
    out = tmp_path / "demo"
    conventions = tmp_path / "conventions.tsv"
    conventions.write_text("# declared per language\nswa LOC mjini\nyor ORG ilé\n", encoding="utf-8")
    code = main(["build", "--demo", "--output", os.fspath(out), "--aligner-model", os.fspath(tiny_bert), "--layer", "2",
                 "--cache-dir", os.fspath(tmp_path / "cache"), "--quiet", "--lang", "swa", "--max-length-ratio", "1.15",
                 "--span-conventions", os.fspath(conventions)])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[:3] == ["lang", "in", "out"]
    man = read_manifest(out)
    entry = man["configs"]["swa"]
    assert entry["aligner"].startswith("embedding:") and "layer=2" in entry["aligner"]
    assert entry["licenses"] == ["Apache-2.0"]
    assert entry["reference"]["sentences"] == entry["stats"]["sentences_out"]
    assert "ref. F1" in printed.splitlines()[0]
    assert entry["filters"] == {"max_length_ratio": 1.15}
    assert entry["span_conventions"] == {"LOC": ["mjini"]}
    assert entry["stats"]["filters"]["max_length_ratio"] > 0
    assert f"max_length_ratio:{entry['stats']['filters']['max_length_ratio']}" in printed
    dd = datasets.load_from_disk(os.fspath(out / "swa"))
    assert sum(len(d) for d in dd.values()) == entry["stats"]["sentences_out"]
    assert json.loads((out / MANIFEST_NAME).read_text())["configs"].keys() == {"swa"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lang", "swa", "--output", "x"], "name one source"),
        (["--output", "x", "--parallel", "a", "b"], "name at least one target language"),
        (["--demo", "--lang", "yor", "--output", "x"], "ships swa, deu only"),
        (["--lang", "swa", "--parallel", "a", "b", "--output", "x"], "exactly one of --source-labels"),
        (["--lang", "swa", "--translated-conll", "t.txt", "--output", "x"], "needs --source-gold"),
        (["--demo", "--target-translate", "m", "--output", "x"], "got --demo, --target-translate"),
        (["--demo", "--method", "nope", "--output", "x"], "unknown projection method 'nope'"),
        (["--demo", "--method-param", "ratio", "--output", "x"], "expected KEY=VALUE"),
        (["--lang", "swa", "--source-gold", "/nope/g.txt", "--translated-conll", "/nope/t.txt", "--output", "x"],
         "/nope/"),
        (["--demo", "--span-conventions", "/nope/c.tsv", "--output", "x"], "span-convention file not found: /nope/c.tsv"),
        (["--demo", "--span-conventions", "bad.tsv", "--output", "x"], "bad.tsv:2: expected 'LANG TYPE WORD...'"),
        (["--demo", "--span-conventions", "misc.tsv", "--output", "x"], "misc.tsv:1: entity type 'MISC' is not in"),
        (["--demo", "--span-conventions", "hau.tsv", "--output", "x"], "hau.tsv: declares span conventions for hau, "
                                                                           "none of the languages built (swa, deu)"),
        # target languages are ISO 639-3 codes, checked before anything is read or loaded
        (["--lang", "xyz", "--parallel", "a", "b", "--source-labels", "c", "--output", "x"],
         "--lang xyz: not an ISO 639-3 language code"),
        (["--lang", "sw", "--parallel", "a", "b", "--source-labels", "c", "--output", "x"],
         "--lang sw: not an ISO 639-3 code (a two-letter ISO 639-1 code); did you mean 'swa'"),
        (["--lang", "SWA", "--parallel", "a", "b", "--source-labels", "c", "--output", "x"],
         "--lang SWA: not an ISO 639-3 code (ISO 639-3 codes are lower case); did you mean 'swa'"),
        (["--lang", "qaa", "--parallel", "a", "b", "--source-labels", "c", "--output", "x"], "reserved for private use"),
        (["--lang", "xyz", "--source-gold", "g.conll", "--target-translate", "/nope/model", "--output", "x"],
         "--lang xyz: not an ISO 639-3 language code"),
        (["--lang", "kbp", "--source-gold", "g.conll", "--target-translate", "/nope/model", "--output", "x"],
         "target language kbp: no translation-model code is known"),
        # label types must occur in the source
        (["--demo", "--labels", "PER,FOO", "--output", "x"], "FOO of the label set PER,FOO occur nowhere in the source"),
        (["--demo", "--labels", "masakhaner", "--output", "x"], "DATE of the label set"),
        # the output must be a folder
        (["--demo", "--output", "afile"], "afile: exists and is not a folder"),
        (["--demo", "--output", "afile/out"], "afile: is a file, not a folder"),
    ],
)
def test_cli_errors_are_one_clean_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.tsv").write_text("swa LOC mji\nswa LOC\n", encoding="utf-8")
    (tmp_path / "misc.tsv").write_text("swa MISC wa\n", encoding="utf-8")
    (tmp_path / "hau.tsv").write_text("hau LOC jihar\n", encoding="utf-8")
    (tmp_path / "afile").write_text("a file\n", encoding="utf-8")
    monkeypatch.setenv("SILVER_NER_CACHE", os.fspath(tmp_path / "cache"))
    assert main(["build", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_demo_with_the_real_encoder(tmp_path, capsys):
    """The README's first command: the embedded sample, multilingual-e5-small and the default method."""
    assert main(["build", "--demo", "--output", os.fspath(tmp_path / "demo"), "--cache-dir", os.fspath(tmp_path / "c"),
                 "--quiet"]) == 0
    man = read_manifest(tmp_path / "demo")
    assert set(man["configs"]) == {"swa", "deu"}
    for lang, entry in man["configs"].items():
        assert "multilingual-e5-small" in entry["aligner"]
        assert entry["stats"]["sentences_out"] == 30
        # hand labels of the sample translations: names are easy to find, so projection should nearly match them
        assert entry["reference"]["f1"] >= 0.9, (lang, entry["reference"])


def test_cli_ranks_fill_the_cache_then_assemble(tmp_path, tiny_bert, capsys):
    common = ["build", "--demo", "--lang", "deu", "--aligner-model", os.fspath(tiny_bert), "--layer", "1",
              "--cache-dir", os.fspath(tmp_path / "cache"), "--chunk-size", "16", "--quiet"]
    for rank in ("0", "1"):
        assert main([*common, "--rank", rank, "--world-size", "2"]) == 0
    err = capsys.readouterr().err
    assert "deu: 1 of 2 chunks cached (rank 0 of 2)" in err and "(rank 1 of 2)" in err
    rows_dir = next((tmp_path / "cache" / "rows").iterdir())
    assert sorted(p.name for p in rows_dir.iterdir()) == ["16-00000.json", "16-00001.json"]
    assert not (tmp_path / "out").exists()
    assert main([*common, "--output", os.fspath(tmp_path / "out")]) == 0
    assert read_manifest(tmp_path / "out")["configs"]["deu"]["fingerprint"] == rows_dir.name
    assert main([*common, "--rank", "0"]) == 2


def test_cli_private_use_language_codes_need_the_override():
    from silver_ner.cli import build_parser
    from silver_ner.commands.build import specs_from_args

    argv = ["build", "--lang", "qaa", "--parallel", "a.txt", "b.txt", "--source-labels", "c.conll", "--output", "x"]
    specs = specs_from_args(build_parser().parse_args([*argv, "--allow-unlisted-lang"]))
    assert [s.lang for s in specs] == ["qaa"]
    with pytest.raises(ValueError, match="qaa"):
        specs_from_args(build_parser().parse_args(argv))
    with pytest.raises(ValueError, match="did you mean 'swa'"):  # the override never accepts a mistyped code
        specs_from_args(build_parser().parse_args([*argv[:2], "SWA", *argv[3:], "--allow-unlisted-lang"]))


def test_cli_lower_case_labels_and_no_validation_split(tmp_path, tiny_bert, capsys):
    out = tmp_path / "out"
    code = main(["build", "--demo", "--lang", "deu", "--output", os.fspath(out), "--aligner-model", os.fspath(tiny_bert),
                 "--layer", "1", "--cache-dir", os.fspath(tmp_path / "cache"), "--quiet", "--labels", "per,loc",
                 "--validation-fraction", "0"])
    assert code == 0, capsys.readouterr().err
    entry = read_manifest(out)["configs"]["deu"]
    assert entry["label_names"] == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert entry["stats"]["entities_per_class"].get("PER", 0) > 0
    assert entry["splits"] == ["train"] and entry["num_rows"] == {"train": 30}
    assert list(datasets.load_from_disk(os.fspath(out / "deu"))) == ["train"]
