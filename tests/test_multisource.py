import pytest

from silver_ner.projection.multisource import combine, tally
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
