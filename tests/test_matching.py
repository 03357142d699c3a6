import pytest

from silver_ner.projection.backtranslation import project_from_backtranslation
from silver_ner.projection.candidates import combine_alignments, ngram_candidates, pruned_ngram_candidates
from silver_ner.projection.matching import match, trim_span
from silver_ner.projection.methods import DEFAULT_METHOD, get_method, get_spec
from silver_ner.projection.protocols import Alignment
from silver_ner.projection.spans import Span

SRC = "I met John Smith in Paris .".split()
TGT = "Ich traf John Smith in Paris .".split()
SPANS = [Span(2, 4, "PER"), Span(5, 6, "LOC")]
DIAG = Alignment.from_pairs([(i, i) for i in range(7)])


def test_ngram_candidates_exclude_sentence_final_marks_and_respect_max_len():
    toks = "Wer ist John ?".split()
    cands = ngram_candidates(toks)
    assert (2, 3) in cands and all(b <= 3 for _, b in cands)
    assert len(ngram_candidates(toks, exclude_final=False)) == 10
    assert max(b - a for a, b in ngram_candidates(toks, max_len=2)) == 2


def test_score_is_dice_of_links():
    # entity of 2 words, candidate of 3 words with 2 links: 2*2/(2+3)
    links = Alignment.from_pairs([(2, 1), (3, 3)])
    rows = pruned_ngram_candidates([Span(2, 4, "PER")], TGT, links)
    best = max(rows[0])
    assert best[1:] == (1, 4) and best[0] == pytest.approx(0.8)
    assert sorted((a, b) for _, a, b in rows[0]) == [(1, 2), (1, 4), (3, 4)]  # first and last word linked
    assert all(s == pytest.approx(2 / 3) for s, a, b in rows[0] if b - a == 1)  # one link, one word


@pytest.mark.parametrize("name", ["ngram-greedy", "ngram-exact", "ngram-ilp", "heuristic", "elp", "naive"])
def test_every_method_projects_a_monotone_alignment(name):
    res = get_method(name)(SRC, SPANS, TGT, DIAG)
    assert res.spans == SPANS
    assert res.unprojected == []


def test_threshold_and_unaligned_entities():
    links = Alignment.from_pairs([(2, 2), (5, 5)])
    res = match(SRC, SPANS, TGT, links)
    assert res.spans == [Span(2, 3, "PER"), Span(5, 6, "LOC")]
    res = match(SRC, SPANS, TGT, links, threshold=0.7)  # PER scores 2/3
    assert res.spans == [Span(5, 6, "LOC")] and res.unprojected == [0]
    res = match(SRC, SPANS, TGT, Alignment(()))
    assert res.spans == [] and res.unprojected == [0, 1]


def test_given_candidate_spans_ignore_their_class():
    cands = [Span(2, 4, "MISC"), Span(4, 6, "ORG")]
    res = get_method("spans-exact")(SRC, SPANS, TGT, DIAG, candidate_spans=cands)
    assert res.spans == [Span(2, 4, "PER"), Span(4, 6, "LOC")]
    assert [round(s, 3) for s in res.scores] == [1.0, 0.667]
    with pytest.raises(ValueError, match="outside a target of 7 words"):
        match(SRC, SPANS, TGT, DIAG, candidate_spans=[(5, 9)])


def test_weighted_links_prefer_agreeing_aligners():
    a = Alignment.from_pairs([(5, 5), (5, 4)])
    b = Alignment.from_pairs([(5, 5)])
    both = combine_alignments([a, b])
    assert dict(zip(both.links, both.scores)) == {(5, 4): 1.0, (5, 5): 2.0}
    src_spans = [Span(5, 6, "LOC")]
    # weighted: [5,6) scores 2*2/2 and ties with [4,6) (2*3/3): greedy takes the shorter,
    # exact the longer
    assert match(SRC, src_spans, TGT, both, weighted=True, solver="greedy").spans == [Span(5, 6, "LOC")]
    assert match(SRC, src_spans, TGT, both, weighted=True, solver="exact").spans == [Span(4, 6, "LOC")]
    # counted: [4,6) has two links (2*2/3) and beats [5,6) (2*1/2)
    assert match(SRC, src_spans, TGT, both, solver="greedy").spans == [Span(4, 6, "LOC")]


def test_unlinked_words_inside_a_name_can_be_free():
    src = "the competition policy".split()
    tgt = "la política de la competencia".split()
    links = Alignment.from_pairs([(1, 4), (2, 1)])
    spans = [Span(1, 3, "MISC")]
    # plain Dice: 2*1/(2+1) for one word ties with 2*2/(2+4) for the whole name; greedy
    # takes the shorter
    assert match(src, spans, tgt, links, solver="greedy").spans == [Span(1, 2, "MISC")]
    # "de la" reached by no link cost nothing: 2*2/(2+2) for the whole name
    res = match(src, spans, tgt, links, solver="greedy", unlinked_cost=0.0)
    assert res.spans == [Span(1, 5, "MISC")] and res.scores == [1.0]
    # a word linked elsewhere still costs: 2*2/(2+3)
    busy = Alignment.from_pairs([(1, 4), (2, 1), (0, 3)])
    assert match(src, spans, tgt, busy, solver="greedy", unlinked_cost=0.0).scores == [pytest.approx(0.8)]
    with pytest.raises(ValueError, match="unlinked_cost"):
        match(src, spans, tgt, links, unlinked_cost=-1)


def test_combine_alignments_can_weigh_by_link_scores():
    a = Alignment.from_pairs([(0, 0), (1, 1)], [0.5, 0.8])
    b = Alignment.from_pairs([(0, 0)], [0.9])
    both = combine_alignments([a, b], [1.0, 2.0], use_scores=True)
    assert both.links == ((0, 0), (1, 1))
    assert both.scores == (pytest.approx(0.5 + 1.8), pytest.approx(0.8))
    with pytest.raises(ValueError, match="2 alignments but 1 weights"):
        combine_alignments([a, b], [1.0])


def test_trim_span_strips_punctuation_and_listed_words():
    toks = "die „ Europäische Union “ tagt".split()
    assert trim_span(Span(0, 5, "ORG"), toks, True, ["die"]) == Span(2, 4, "ORG")
    assert trim_span(Span(1, 2, "ORG"), toks, True) == Span(1, 2, "ORG")  # never empty


def test_backtranslation_projects_from_the_back_translation():
    bt = "I met John Smith in Paris .".split()
    tgt_bt = Alignment.from_pairs([(i, i) for i in range(7)])  # (target, back-translation)
    res = project_from_backtranslation(TGT, bt, SPANS, tgt_bt, "ngram-exact")
    assert res.spans == SPANS
    with pytest.raises(ValueError, match="outside a back-translation"):
        project_from_backtranslation(TGT, bt[:3], SPANS, tgt_bt, "naive")


def test_registry_names_and_errors():
    assert get_spec(None).name == DEFAULT_METHOD
    with pytest.raises(ValueError, match="valid methods: .*heuristic.*ngram-exact"):
        get_method("t-projection")
