import pytest

from silver_ner.projection.spans import Span, TagError, TagRepairs, iob2_names, map_labels, repair_tags, spans_to_tags, tags_to_spans


def test_roundtrip():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]
    spans = tags_to_spans(tags)
    assert spans == [Span(0, 2, "PER"), Span(3, 4, "LOC"), Span(4, 6, "LOC")]
    assert spans_to_tags(spans, 6) == tags


def test_i_without_b_is_repaired_and_counted():
    rep = TagRepairs()
    spans = tags_to_spans(["O", "I-ORG", "I-ORG", "I-PER"], rep)
    assert spans == [Span(1, 3, "ORG"), Span(3, 4, "PER")]
    assert rep.i_without_b == [1, 3]
    assert repair_tags(["I-LOC", "O"]) == (["B-LOC", "O"], 1)


def test_bad_tag_and_overlap():
    with pytest.raises(TagError):
        tags_to_spans(["B-PER", "X"])
    with pytest.raises(ValueError, match="overlaps"):
        spans_to_tags([Span(0, 2, "PER"), Span(1, 3, "LOC")], 4)
    with pytest.raises(ValueError):
        Span(2, 2, "PER")


def test_names_and_mapping():
    assert iob2_names(["PER", "ORG"]) == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
    assert map_labels([Span(0, 1, "MISC"), Span(1, 2, "PER")], {"MISC": None, "PER": "PER"}) == [Span(1, 2, "PER")]
    with pytest.raises(KeyError):
        map_labels([Span(0, 1, "DATE")], {"PER": "PER"})
