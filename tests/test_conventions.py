"""Declared target-language span conventions: parsing and span extension (pure)."""

import unicodedata

import pytest

from silver_ner.projection.conventions import ConventionError, attach_leading_phrases, parse_conventions
from silver_ner.projection.spans import Span

DECL = """\
# Hausa: classifier nouns open LOC and ORG spans
hau LOC jihar
hau\tLOC\tkaramar hukumar   # two-word phrase
hau LOC Kasar
hau ORG jam'iyyar
hau LOC jihar
yor ORG ilé
"""


def test_parse_groups_by_language_and_type_normalised_and_once():
    conv = parse_conventions(DECL, "c.tsv")
    assert conv["hau"] == {"LOC": [("jihar",), ("karamar", "hukumar"), ("kasar",)], "ORG": [("jam'iyyar",)]}
    assert conv["yor"] == {"ORG": [(unicodedata.normalize("NFC", "ilé"),)]}


@pytest.mark.parametrize(
    "text, message",
    [
        ("hau LOC jihar\nhau LOC\n", "c.tsv:2: expected 'LANG TYPE WORD...'"),
        ("\n\nHAU LOC jihar\n", "c.tsv:3: language code 'HAU'"),
        ("hau B-LOC jihar\n", "c.tsv:1: 'B-LOC' is not an entity type"),
        ("hau O jihar\n", "c.tsv:1: 'O' is not an entity type"),
        ("# x\nhau MISC jihar\n", "c.tsv:2: entity type 'MISC' is not in the label set PER,ORG,LOC"),
    ],
)
def test_parse_errors_name_the_source_and_line(text, message):
    with pytest.raises(ConventionError, match=message.replace(".", r"\.")):
        parse_conventions(text, "c.tsv", labels=("PER", "ORG", "LOC"))


def test_spans_take_in_the_declared_word_before_them():
    conv = parse_conventions(DECL)["hau"]
    toks = "Gwamnan Jihar Kano ya ziyarci karamar hukumar Dala da kasar Ingila".split()
    spans = [Span(2, 3, "LOC"), Span(7, 8, "LOC"), Span(10, 11, "LOC")]
    out, n = attach_leading_phrases(toks, spans, conv)
    # case-insensitive; the longest declared phrase wins ("karamar hukumar", not nothing)
    assert out == [Span(1, 3, "LOC"), Span(5, 8, "LOC"), Span(9, 11, "LOC")]
    assert n == {"LOC": 3}


def test_only_the_declared_type_and_free_words_are_taken():
    conv = parse_conventions(DECL)["hau"]
    toks = "jihar Kano jihar Kano".split()
    # PER does not take "jihar"; a word already inside another span stays there
    assert attach_leading_phrases(toks, [Span(1, 2, "PER")], conv) == ([Span(1, 2, "PER")], {})
    spans = [Span(0, 1, "ORG"), Span(1, 2, "LOC"), Span(3, 4, "LOC")]
    out, n = attach_leading_phrases(toks, spans, conv)
    assert out == [Span(0, 1, "ORG"), Span(1, 2, "LOC"), Span(2, 4, "LOC")] and n == {"LOC": 1}
    # a span at the start of the sentence, and no conventions at all
    assert attach_leading_phrases(["Kano"], [Span(0, 1, "LOC")], conv)[0] == [Span(0, 1, "LOC")]
    assert attach_leading_phrases(toks, spans, {}) == (spans, {})


def test_decomposed_tone_marks_match_their_composed_declaration():
    conv = parse_conventions("yor ORG ilé\n")["yor"]
    toks = [unicodedata.normalize("NFD", "Ilé"), "Aṣòfin"]
    assert attach_leading_phrases(toks, [Span(1, 2, "ORG")], conv)[0] == [Span(0, 2, "ORG")]
