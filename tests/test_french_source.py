"""A parallel corpus whose source side is French (MAFAND-MT fr-<lang> pairs): the source language
reaches the pairs and the manifest, and French elisions are split off the source words."""

import os

import pytest

from silver_ner.builders.build import SourceSpec, read_manifest
from silver_ner.builders.parallel import pairs_from_parallel
from silver_ner.builders.sources import SourceReport
from silver_ner.builders.wordsplit import split_elisions
from silver_ner.cli import build_parser, main
from silver_ner.commands.build import specs_from_args
from silver_ner.projection.errors import UserError
from silver_ner.projection.spans import Span


class CapitalTagger:
    """Tags every capitalised token after the first as a one-token ORG."""

    identity = "capitals"

    def tag(self, sentences):
        return [[Span(i, i + 1, "ORG") for i, t in enumerate(s) if i and t[:1].isupper()] for s in sentences]


def test_split_elisions_splits_the_article_and_keeps_lexical_apostrophes():
    toks = ["la", "75e", "Assemblée", "de", "l’ONU", ",", "alors", "qu’il", "parlait", "d'Abidjan",
            "aujourd’hui", "quelqu'un", "L'Union", "jusqu’à", "n’", "s'est"]
    assert split_elisions(toks) == ["la", "75e", "Assemblée", "de", "l’", "ONU", ",", "alors", "qu’", "il", "parlait",
                                    "d'", "Abidjan", "aujourd’hui", "quelqu'un", "L'", "Union", "jusqu’", "à", "n’",
                                    "s'", "est"]


def test_parallel_french_source_lines_have_elisions_split(tmp_path):
    src, tgt = tmp_path / "dev.fr", tmp_path / "dev.ewe"
    src.write_text("Il parle de l’ONU à Lomé.\n", encoding="utf-8")
    tgt.write_text("Eƒo nu tso ONU ŋu le Lomé.\n", encoding="utf-8")
    fra = list(pairs_from_parallel(src, tgt, "ewe", CapitalTagger(), SourceReport(), source_lang="fra"))
    assert fra[0].source_tokens == ["Il", "parle", "de", "l’", "ONU", "à", "Lomé", "."]
    assert fra[0].source_spans == [Span(4, 5, "ORG"), Span(6, 7, "ORG")]
    assert fra[0].source_lang == "fra"
    # English source lines are tokenised as before (an apostrophe inside a word stays)
    src.write_text("He spoke of l’ONU in Lomé.\n", encoding="utf-8")
    eng = list(pairs_from_parallel(src, tgt, "ewe", CapitalTagger(), SourceReport()))
    assert eng[0].source_tokens == ["He", "spoke", "of", "l’ONU", "in", "Lomé", "."]


def _args(*argv):
    return build_parser().parse_args(["build", *argv])


def test_source_lang_option_reaches_the_source_spec_and_manifest_description():
    argv = ["--lang", "ewe", "--parallel", "a.fr", "b.ewe", "--tagger", "teacher", "--output", "x"]
    (spec,) = specs_from_args(_args(*argv, "--source-lang", "fra"))
    assert spec.source.language == "fra"
    with pytest.raises(UserError, match=r"--source-lang fr: not an ISO 639-3 code .*did you mean 'fra'"):
        specs_from_args(_args(*argv, "--source-lang", "fr"))  # two-letter codes are refused as for --lang
    src, tgt = spec.source.describe("ewe")
    assert src["language"] == "fra" and tgt["language"] == "ewe"
    (default,) = specs_from_args(_args(*argv))
    assert default.source.language == "eng"


def test_unknown_source_lang_is_one_clean_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--lang", "ewe", "--parallel", "a", "b", "--tagger", "t", "--source-lang", "xx",
                 "--output", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--source-lang xx" in err[0], err


def test_cli_french_parallel_build_records_the_source_language(tmp_path, tiny_bert, capsys):
    src, tgt, labels = tmp_path / "p.fr", tmp_path / "p.ewe", tmp_path / "p.conll"
    src.write_text("Kofi est à Lomé .\nIl aime la CEDEAO .\n" * 4, encoding="utf-8")
    tgt.write_text("Kofi le Lomé .\nEelɔ̃ CEDEAO .\n" * 4, encoding="utf-8")
    labels.write_text("Kofi B-PER\nest O\nà O\nLomé B-LOC\n. O\n\nIl O\naime O\nla O\nCEDEAO B-ORG\n. O\n\n" * 4,
                      encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "--lang", "ewe", "--parallel", os.fspath(src), os.fspath(tgt), "--source-labels",
                 os.fspath(labels), "--source-lang", "fra", "--validation-fraction", "0.5", "--aligner-model", os.fspath(tiny_bert), "--layer", "2",
                 "--cache-dir", os.fspath(tmp_path / "cache"), "--output", os.fspath(out), "--quiet"]) == 0
    entry = read_manifest(out)["configs"]["ewe"]
    assert entry["source"]["language"] == "fra"
    assert entry["target_source"]["language"] == "ewe"


def test_source_spec_keeps_english_default():
    assert SourceSpec("parallel", {"source_text": "a", "target_text": "b"}, model="m").language == "eng"


@pytest.mark.parametrize("token", ["l'", "d’", "qu'", "C'"])
def test_a_lone_elided_article_stays_one_token(token):
    assert split_elisions([token]) == [token]
