"""Checks of the build's label inputs: source labels against their text, IOB2 repairs and bad files in the manifest."""

import json

import pytest

from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec, load_pairs
from silver_ner.builders.conll import InputEncodingError
from silver_ner.projection.errors import UserError
from silver_ner.projection.protocols import Alignment

SRC = "He went to Nairobi .\nShe lives in Lagos .\nWe saw Accra .\nThey left Kano .\n"
TGT = "Alienda Nairobi .\nAnaishi Lagos .\nTuliona Accra .\nWaliondoka Kano .\n"


def conll(*sentences):
    return "\n".join("".join(f"{t} {'B-LOC' if t[:1].isupper() and i else 'O'}\n" for i, t in enumerate(s.split()))
                     for s in sentences)


class IdentityAligner:
    identity = "identity"

    def align(self, pairs):
        return [Alignment.from_pairs([(i, j) for i, a in enumerate(s) for j, b in enumerate(t) if a == b])
                for s, t in pairs]


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "train.en").write_text(SRC, encoding="utf-8")
    (tmp_path / "train.swa").write_text(TGT, encoding="utf-8")
    return tmp_path


def spec_for(corpus, labels_text, **params):
    (corpus / "labels.conll").write_text(labels_text, encoding="utf-8")
    files = {"source_text": str(corpus / "train.en"), "target_text": str(corpus / "train.swa"),
             "source_labels": str(corpus / "labels.conll")}
    return BuildSpec("swa", SourceSpec("parallel", files, params=params), method="naive")


def shifted():
    """The labels of lines 2..4 and one more sentence: right length, every sentence one line off."""
    return conll("He went to Nairobi .", "We saw Accra .", "They left Kano .", "Extra one .")


def test_build_refuses_labels_shifted_against_the_source_text(corpus, tmp_path, capsys):
    from silver_ner.cli import main

    (corpus / "labels.conll").write_text(shifted(), encoding="utf-8")
    rc = main(["build", "--parallel", str(corpus / "train.en"), str(corpus / "train.swa"),
               "--source-labels", str(corpus / "labels.conll"), "--lang", "swa", "--labels", "LOC",
               "--output", str(tmp_path / "out"),
               "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert f"{corpus / 'labels.conll'}:7: tokens of label sentence 2 differ from line 2 of {corpus / 'train.en'}" in err
    assert not (tmp_path / "out").exists()


def test_label_tokens_option_counts_every_mismatch_in_the_manifest(corpus, tmp_path):
    spec = spec_for(corpus, shifted(), source_labels_tokens=True)
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=IdentityAligner())
    checks = lb.config_entry()["stats"]["input_checks"]
    labels, src = corpus / "labels.conll", corpus / "train.en"
    assert checks["label_token_mismatches"] == {
        "count": 3, "at": [f"{labels}:7 / {src}:2", f"{labels}:12 / {src}:3", f"{labels}:17 / {src}:4"]}
    assert checks["iob2_repairs"] == {"count": 0, "at": []}
    assert lb.config_entry()["target_source"]["params"] == {"source_labels_tokens": True}
    strict = spec_for(corpus, shifted())
    with pytest.raises(UserError, match="tokens of label sentence 2 differ"):
        LanguageBuild(strict, cache_dir=tmp_path / "cache", aligner=IdentityAligner()).pairs()


def test_iob2_repairs_of_source_labels_are_in_the_manifest(corpus, tmp_path):
    text = conll(*SRC.splitlines()).replace("Lagos B-LOC", "Lagos I-LOC")
    lb = LanguageBuild(spec_for(corpus, text), cache_dir=tmp_path / "cache", aligner=IdentityAligner())
    st = lb.config_entry()["stats"]
    assert st["input_checks"]["iob2_repairs"] == {
        "count": 1, "at": [f"{corpus / 'labels.conll'}:10: I-LOC without B- turned into B-"]}
    assert st["input_checks"]["label_token_mismatches"] == {"count": 0, "at": []}


def test_iob2_repairs_of_a_translated_gold_file_are_counted(tmp_path, monkeypatch):
    from silver_ner.builders import translate

    gold = tmp_path / "gold.conll"
    gold.write_text("John O\nSmith I-PER\n\nParis B-LOC\n", encoding="utf-8")
    class Silent:  # translates every sentence into nothing: every pair is dropped
        identity = "silent"

        def __init__(self, *a, **k):
            pass

        def translate(self, sentences, source_lang, target_lang):
            return [""] * len(sentences)

    monkeypatch.setattr(translate, "HFTranslator", Silent)
    pairs, report = load_pairs(BuildSpec("yor", SourceSpec("translate", {"source_gold": str(gold)}, model="m")))
    assert report.inputs["iob2_repairs"] == {"count": 1, "at": [f"{gold}:2: I-PER without B- turned into B-"]}
    assert pairs == [] and report.dropped == {"empty translation": 2}


def test_a_cached_source_without_input_checks_is_read_again(corpus, tmp_path):
    spec = spec_for(corpus, shifted())
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=IdentityAligner())
    stale = tmp_path / "cache" / "pairs" / f"{lb.source_key()}.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"pairs": [], "report": {"read": 4, "paired": 0, "dropped": {}, "notes": []}}))
    with pytest.raises(UserError, match="label file looks shifted"):
        lb.pairs()


def test_folders_and_undecodable_inputs_are_user_errors(corpus, tmp_path):
    spec = spec_for(corpus, conll(*SRC.splitlines()))
    folder = BuildSpec("swa", SourceSpec("parallel", {**spec.source.files, "source_text": str(tmp_path)}),
                       method="naive")
    with pytest.raises(UserError, match=f"^{tmp_path}: is a folder"):
        LanguageBuild(folder, cache_dir=tmp_path / "cache", aligner=IdentityAligner()).pairs()
    (corpus / "labels.conll").write_bytes(b"He O\nw\xe4nt O\n")
    with pytest.raises(InputEncodingError, match=rf"labels.conll:2: .*byte 0xe4"):
        LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=IdentityAligner()).pairs()


def test_command_option_for_label_tokens(corpus):
    from silver_ner.cli import build_parser
    from silver_ner.commands.build import source_from_args

    base = ["build", "--parallel", "a.en", "a.swa", "--lang", "swa"]
    args = build_parser().parse_args(base + ["--source-labels", "l.conll", "--source-labels-tokens"])
    assert source_from_args(args).params == {"source_labels_tokens": True}
    assert source_from_args(build_parser().parse_args(base + ["--source-labels", "l.conll"])).params == {}
    with pytest.raises(UserError, match="--source-labels-tokens goes with --source-labels"):
        source_from_args(build_parser().parse_args(base + ["--tagger", "m", "--source-labels-tokens"]))


def test_eval_projection_locates_iob2_repairs(tmp_path):
    from silver_ner.leaderboard.projection_eval import evaluate_projection, format_table

    en, de = tmp_path / "en.conll", tmp_path / "de.conll"
    en.write_text("John I-PER\nSmith I-PER\nvisited O\nParis B-LOC\n", encoding="utf-8")
    de.write_text("John B-PER\nSmith I-PER\nbesuchte O\nParis I-LOC\n", encoding="utf-8")

    class Diagonal:
        identity = "diagonal"

        def align(self, pairs):
            return [Alignment.from_pairs([(i, i) for i in range(min(len(s), len(t)))]) for s, t in pairs]

    out = evaluate_projection([str(en)], str(de), "naive", aligner=Diagonal())
    assert out["repairs"] == 2
    assert out["repair_locations"] == [f"{en}:1: I-PER without B- turned into B-",
                                       f"{de}:4: I-LOC without B- turned into B-"]
    table = format_table(out)
    assert f"{en}:1: I-PER without B- turned into B-" in table and f"{de}:4: I-LOC" in table


def test_a_folder_given_as_a_gold_or_training_file_is_named(tmp_path):
    from silver_ner.leaderboard.scoring import load_gold
    from silver_ner.students.train import load_conll_data

    for load in (load_gold, load_conll_data):
        with pytest.raises(UserError, match=f"^{tmp_path}: is a folder, expected a CoNLL file"):
            load(str(tmp_path))


def test_span_convention_files_go_through_the_shared_text_reader(tmp_path):
    from silver_ner.builders.build import load_span_conventions

    conv = tmp_path / "conv.tsv"
    conv.write_bytes("hau LOC jihar\nhau LOC k\u00e4sar\n".encode("latin-1"))
    with pytest.raises(InputEncodingError, match=r"conv.tsv:2: not valid utf-8 text: byte 0xe4 at byte 10 "):
        load_span_conventions(conv)
    with pytest.raises(UserError, match=f"^{tmp_path}: is a folder"):
        load_span_conventions(tmp_path)


def test_iob2_repairs_of_the_reference_labels_are_located(corpus, tmp_path):
    ref = corpus / "ref.conll"
    ref.write_text(conll(*[" ".join(line.replace(".", " .").split()) for line in TGT.splitlines()])
                   .replace("Nairobi B-LOC", "Nairobi I-LOC"), encoding="utf-8")
    spec = spec_for(corpus, conll(*SRC.splitlines()))
    spec.reference = str(ref)
    sc = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=IdentityAligner()).score(ref)
    assert sc["iob2_repairs"] == {"count": 1, "at": [f"{ref}:2: I-LOC without B- turned into B-"]}
