import pytest

from silver_ner.projection.multisource import combine, combine_weighted, narrow_to_nested, tally
from silver_ner.projection.protocols import ProjectionResult
from silver_ner.projection.spans import Span


def res(*items):
    return ProjectionResult(spans=[s for s, _ in items], scores=[sc for _, sc in items], source_of=list(range(len(items))))


def test_majority_span_wins_over_overlapping_minority():
    a = res((Span(0, 2, "PER"), 1.0), (Span(4, 5, "LOC"), 0.5))
    b = res((Span(0, 2, "PER"), 0.8))
    c = res((Span(1, 3, "PER"), 1.0), (Span(4, 5, "ORG"), 0.9))
    out = combine([a, b, c])
    assert out.spans == [Span(0, 2, "PER"), Span(4, 5, "ORG")]
    assert out.scores == [2.0, 1.0]
    assert out.summed == [pytest.approx(1.8), pytest.approx(0.9)]
    assert out.source_of == [0, 2]
    assert out.dropped == 2  # [1,3) PER overlaps the majority; LOC loses the tie on summed score


def test_min_votes_counts_what_it_leaves_out():
    a = res((Span(0, 2, "PER"), 1.0), (Span(4, 5, "LOC"), 1.0))
    b = res((Span(0, 2, "PER"), 1.0))
    out = combine([a, b], min_votes=2)
    assert out.spans == [Span(0, 2, "PER")]
    assert out.below_min_votes == 1
    with pytest.raises(ValueError, match="min_votes"):
        combine([a], min_votes=0)


def test_same_span_different_label_are_different_votes_and_duplicates_vote_once():
    a = res((Span(0, 1, "PER"), 1.0), (Span(0, 1, "PER"), 1.0))
    b = res((Span(0, 1, "ORG"), 1.0))
    votes = {(v.span.label): v.votes for v in tally([a, b])}
    assert votes == {"PER": 1, "ORG": 1}
    # tie on votes and summed score: shorter, then leftmost, then label order decides
    assert combine([a, b]).spans == [Span(0, 1, "ORG")]


def test_single_source_is_unchanged():
    a = res((Span(0, 2, "PER"), 0.7), (Span(3, 4, "LOC"), 0.9))
    assert combine([a]).spans == a.spans
    assert combine([]).spans == []


def test_weighted_prefers_the_reliable_source_where_two_disagree():
    a = res((Span(0, 2, "ORG"), 0.6), (Span(5, 6, "LOC"), 0.9))
    b = res((Span(0, 3, "ORG"), 0.9), (Span(5, 6, "LOC"), 0.8), (Span(8, 9, "PER"), 0.7))
    # plain voting: the agreed LOC, then the higher-scored ORG (b's) and b's PER
    assert combine([a, b]).spans == [Span(0, 3, "ORG"), Span(5, 6, "LOC"), Span(8, 9, "PER")]
    out = combine_weighted([a, b], [0.9, 0.7])
    assert out.spans == [Span(0, 2, "ORG"), Span(5, 6, "LOC"), Span(8, 9, "PER")]
    assert out.scores == [pytest.approx(0.9), pytest.approx(1.6), pytest.approx(0.7)]
    assert out.source_of == [0, 0, 1]
    assert out.dropped == 1
    # a threshold above the weaker weight keeps only what the reliable source proposes
    out = combine_weighted([a, b], [0.9, 0.7], threshold=0.8)
    assert out.spans == [Span(0, 2, "ORG"), Span(5, 6, "LOC")]
    assert out.below_min_votes == 2


def test_weighted_with_scores_drops_low_confidence_single_votes():
    a = res((Span(0, 1, "PER"), 0.2), (Span(3, 4, "LOC"), 0.9))
    b = res((Span(3, 4, "LOC"), 0.5))
    out = combine_weighted([a, b], [1.0, 1.0], threshold=0.5, use_scores=True)
    assert out.spans == [Span(3, 4, "LOC")]
    assert out.scores == [pytest.approx(1.4)]
    assert out.below_min_votes == 1


def test_equal_weights_without_scores_match_plain_voting():
    a = res((Span(0, 2, "PER"), 1.0), (Span(4, 5, "LOC"), 0.5))
    b = res((Span(0, 2, "PER"), 0.8))
    c = res((Span(1, 3, "PER"), 1.0), (Span(4, 5, "ORG"), 0.9))
    assert combine_weighted([a, b, c], [1, 1, 1], threshold=2).spans == combine([a, b, c], min_votes=2).spans
    assert combine_weighted([a, b, c], [1, 1, 1]).spans == combine([a, b, c]).spans


def test_weighted_rejects_bad_weights():
    a = res((Span(0, 1, "PER"), 1.0))
    with pytest.raises(ValueError, match="2 weights for 1 sources"):
        combine_weighted([a], [1.0, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        combine_weighted([a], [-1.0])


def test_narrow_to_nested_makes_an_extra_edge_word_agree():
    # "the European Parliament" (0-3) from one source, "European Parliament" (1-3) from another
    a = res((Span(0, 3, "ORG"), 0.9), (Span(5, 6, "LOC"), 0.8))
    b = res((Span(1, 3, "ORG"), 0.7), (Span(5, 7, "PER"), 0.6))
    c = res((Span(2, 3, "ORG"), 0.5))
    narrowed = narrow_to_nested([a, b])
    assert narrowed[0].spans == [Span(1, 3, "ORG"), Span(5, 6, "LOC")]  # LOC stays: label differs
    assert narrowed[0].scores == [0.9, 0.8]
    assert narrowed[1].spans == b.spans
    assert combine(narrowed).spans == [Span(1, 3, "ORG"), Span(5, 6, "LOC")]
    assert combine(narrowed).scores == [2.0, 1.0]
    # the shortest nested span wins; the inputs are not changed
    assert [r.spans[0] for r in narrow_to_nested([a, b, c])] == [Span(2, 3, "ORG")] * 3
    assert a.spans[0] == Span(0, 3, "ORG")
