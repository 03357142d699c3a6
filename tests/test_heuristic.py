from silver_ner.projection.heuristic import elp, heuristic, naive, resolve_collisions
from silver_ner.projection.protocols import Alignment
from silver_ner.projection.spans import Span


def al(*pairs):
    return Alignment.from_pairs(pairs)


SRC = "the European Parliament met John Smith".split()


def test_heuristic_projects_contiguous_ranges():
    tgt = "das Europäische Parlament traf John Smith".split()
    spans = [Span(1, 3, "ORG"), Span(4, 6, "PER")]
    res = heuristic(SRC, spans, tgt, al((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)))
    assert res.spans == [Span(1, 3, "ORG"), Span(4, 6, "PER")]
    assert res.source_of == [0, 1]
    assert res.unprojected == []


def test_heuristic_ratio_filter_drops_short_projection():
    # a two-word entity aligned to one compound word: ratio 1/2 is not > 0.8
    tgt = "das Europaparlament tagte".split()
    res = heuristic(SRC, [Span(1, 3, "ORG")], tgt, al((1, 1), (2, 1)))
    assert res.spans == []
    assert res.unprojected == [0]
    # with a looser ratio it is kept
    res = heuristic(SRC, [Span(1, 3, "ORG")], tgt, al((1, 1), (2, 1)), ratio=0.4)
    assert res.spans == [Span(1, 2, "ORG")]


def test_heuristic_merges_over_one_unaligned_word_only():
    tgt = "Herr John von Smith sagte".split()
    spans = [Span(4, 6, "PER")]
    res = heuristic(SRC, spans, tgt, al((4, 1), (5, 3)))
    assert res.spans == [Span(1, 4, "PER")]
    # the gap word is aligned elsewhere: no merge, and each single word is too short
    res = heuristic(SRC, spans, tgt, al((4, 1), (5, 3), (3, 2)))
    assert res.spans == []
    # two unaligned words are too wide a gap
    tgt2 = "Herr John von der Smith".split()
    res = heuristic(SRC, spans, tgt2, al((4, 1), (5, 4)), ratio=0.4)
    assert res.spans == [Span(1, 2, "PER"), Span(4, 5, "PER")]
    assert res.source_of == [0, 0]


def test_heuristic_later_entity_overwrites():
    src = "A B C".split()
    tgt = "x y z".split()
    spans = [Span(0, 2, "ORG"), Span(2, 3, "PER")]
    res = heuristic(src, spans, tgt, al((0, 0), (1, 1), (2, 1)), ratio=0.4)
    assert res.spans == [Span(0, 1, "ORG"), Span(1, 2, "PER")]


def test_unaligned_entity_is_unprojected_everywhere():
    tgt = "das Parlament".split()
    spans = [Span(4, 6, "PER"), Span(1, 3, "ORG")]
    links = al((2, 1))
    for fn in (heuristic, elp, naive):
        res = fn(SRC, spans, tgt, links) if fn is not heuristic else fn(SRC, spans, tgt, links, ratio=0.4)
        assert 0 in res.unprojected
        assert res.spans == [Span(1, 2, "ORG")]


def test_elp_drops_punctuation_fills_gaps_keeps_largest_group():
    src = "Mr Smith".split()
    tgt = "Herr , Smith von x y z Smith".split()
    # links to "Herr", ",", "Smith" and far away "Smith"; punctuation dropped, gap of 1 filled
    res = elp(src, [Span(0, 2, "PER")], tgt, al((0, 0), (1, 1), (1, 2), (1, 7)))
    assert res.spans == [Span(0, 3, "PER")]


def test_naive_min_to_max():
    src = "Mr Smith".split()
    tgt = "Herr x y Smith".split()
    res = naive(src, [Span(1, 2, "PER")], tgt, al((1, 0), (1, 3)))
    assert res.spans == [Span(0, 4, "PER")]


def test_collisions_same_type_merges_other_type_longer_wins():
    res = resolve_collisions([(Span(0, 2, "LOC"), 1.0, 0), (Span(1, 3, "LOC"), 1.0, 1)], 2)
    assert res.spans == [Span(0, 3, "LOC")]
    assert res.unprojected == [1]
    res = resolve_collisions([(Span(0, 2, "LOC"), 1.0, 0), (Span(1, 4, "ORG"), 1.0, 1)], 2)
    assert res.spans == [Span(1, 4, "ORG")]
    assert res.unprojected == [0]
    res = resolve_collisions([(Span(0, 3, "LOC"), 1.0, 0), (Span(1, 4, "ORG"), 1.0, 1)], 2)
    assert res.spans == [Span(0, 3, "LOC")]
