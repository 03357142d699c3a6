"""The one projection step: link resolution, single- and multi-source projection, candidates."""

import pytest

from silver_ner.projection.errors import UserError
from silver_ner.projection.methods import get_method
from silver_ner.projection.protocols import Alignment
from silver_ner.projection.spans import Span
from silver_ner.projection.step import LabelledSource, ProjectionItem, ProjectionStep


class TableAligner:
    """Answers from fixed link tables: ``links[method][(src, tgt)]`` is a list of (i, j) links."""

    identity = "table"

    def __init__(self, links, own="itermax"):
        self.links, self.own, self.calls = links, own, []

    def _one(self, method, src, tgt):
        return Alignment.from_pairs(self.links[method][(tuple(src), tuple(tgt))])

    def align(self, pairs):
        self.calls.append(("align", len(pairs)))
        return [self._one(self.own, s, t) for s, t in pairs]

    def align_methods(self, pairs, methods):
        self.calls.append(("align_methods", tuple(methods)))
        return {m: [self._one(m, s, t) for s, t in pairs] for m in methods if m in self.links}


EN = ("John", "Smith", "lives", "in", "Berlin", ".")
DE = ("John", "Smith", "wohnt", "in", "Berlin", ".")
ES = ("John", "Smith", "vive", "en", "Berlín", ".")
SW = ("John", "Smith", "anaishi", "Berlin", ".")
EN_SPANS = (Span(0, 2, "PER"), Span(4, 5, "LOC"))
DE_SPANS = (Span(0, 2, "PER"), Span(4, 5, "LOC"))
ES_SPANS = (Span(0, 1, "PER"), Span(4, 5, "LOC"))  # a shorter person span than the others
DIAG = [(0, 0), (1, 1), (2, 2), (4, 3), (5, 4)]


def item(*sources, target=SW, candidates=None):
    return ProjectionItem.of(target, [LabelledSource.of(t, s) for t, s in sources], candidates)


def test_single_source_equals_the_method_called_directly():
    aligner = TableAligner({"itermax": {(EN, SW): DIAG}})
    step = ProjectionStep("ngram-exact")
    (out,) = step.run([item((EN, EN_SPANS))], aligner)
    direct = get_method("ngram-exact")(EN, list(EN_SPANS), SW, Alignment.from_pairs(DIAG))
    assert out.spans == direct.spans == [Span(0, 2, "PER"), Span(3, 4, "LOC")]
    assert out.scores == direct.scores and out.unprojected == 0 and out.left_out_by_voting == 0
    assert aligner.calls == [("align", 1)]


def test_unlinked_entity_is_counted_unprojected():
    aligner = TableAligner({"itermax": {(EN, SW): [(0, 0), (1, 1), (2, 2)]}})
    (out,) = ProjectionStep("ngram-exact").run([item((EN, EN_SPANS))], aligner)
    assert out.spans == [Span(0, 2, "PER")]
    assert out.unprojected == 1 and out.per_source[0].unprojected == [1]
    assert out.source_entities == 2


def test_method_reading_two_link_sets_asks_for_both_and_unites_them():
    aligner = TableAligner({"itermax": {(EN, SW): [(0, 0), (1, 1)]}, "argmax": {(EN, SW): [(4, 3)]}})
    step = ProjectionStep("ngram-exact", links=("itermax", "argmax"))
    (out,) = step.run([item((EN, EN_SPANS))], aligner)
    assert aligner.calls == [("align_methods", ("itermax", "argmax"))]
    assert out.spans == [Span(0, 2, "PER"), Span(3, 4, "LOC")]
    assert out.alignments[0].links == ((0, 0), (1, 1), (4, 3))


def test_missing_link_set_is_a_clear_error():
    aligner = TableAligner({"itermax": {(EN, SW): DIAG}})
    with pytest.raises(UserError, match="gives no argmax links"):
        ProjectionStep("ngram-exact", links=("itermax", "argmax")).run([item((EN, EN_SPANS))], aligner)


def test_several_sources_vote_per_target():
    links = {(EN, SW): DIAG, (DE, SW): DIAG, (ES, SW): DIAG}
    aligner = TableAligner({"itermax": links})
    three = item((EN, EN_SPANS), (DE, DE_SPANS), (ES, ES_SPANS))
    (out,) = ProjectionStep("ngram-exact").run([three], aligner)
    # two sources say John Smith, one says John: the majority span wins, the other is left out
    assert out.spans == [Span(0, 2, "PER"), Span(3, 4, "LOC")]
    assert out.scores == [2.0, 3.0] and out.left_out_by_voting == 1
    assert len(out.per_source) == 3 and out.per_source[2].spans[0] == Span(0, 1, "PER")
    (strict,) = ProjectionStep("ngram-exact", min_votes=3).run([three], aligner)
    assert strict.spans == [Span(3, 4, "LOC")]
    (nested,) = ProjectionStep("ngram-exact", combine="nested-vote").run([three], aligner)
    assert nested.spans == [Span(0, 1, "PER"), Span(3, 4, "LOC")]  # the inner span every source contains
    # aligned in one batch per source position, as many calls as sources
    assert aligner.calls[:3] == [("align", 1)] * 3


def test_items_with_different_numbers_of_sources():
    links = {(EN, SW): DIAG, (DE, SW): DIAG, (EN, DE): [(i, i) for i in range(6)]}
    aligner = TableAligner({"itermax": links})
    outs = ProjectionStep("ngram-exact").run([item((EN, EN_SPANS), (DE, DE_SPANS)), item((EN, EN_SPANS), target=DE)],
                                             aligner)
    assert [len(o.per_source) for o in outs] == [2, 1]
    assert outs[1].spans == [Span(0, 2, "PER"), Span(4, 5, "LOC")]
    assert aligner.calls == [("align", 2), ("align", 1)]


def test_candidate_methods_match_given_spans_and_optionally_all_ngrams():
    aligner = TableAligner({"itermax": {(EN, SW): DIAG}})
    cands = (Span(0, 1, "X"), Span(3, 4, "X"))  # the model found only "John" and "Berlin"
    (out,) = ProjectionStep("spans-exact").run([item((EN, EN_SPANS), candidates=cands)], aligner)
    assert out.spans == [Span(0, 1, "PER"), Span(3, 4, "LOC")]
    (union,) = ProjectionStep("spans-exact", union_ngrams=True).run([item((EN, EN_SPANS), candidates=cands)], aligner)
    assert union.spans == [Span(0, 2, "PER"), Span(3, 4, "LOC")]
    with pytest.raises(UserError, match="needs candidate spans"):
        ProjectionStep("spans-exact").run([item((EN, EN_SPANS))], aligner)
    with pytest.raises(UserError, match="n-gram union applies to spans"):
        ProjectionStep("ngram-exact", union_ngrams=True)


def test_bad_parameters_and_rules_are_user_errors():
    with pytest.raises(UserError, match="bad parameters"):
        ProjectionStep("ngram-exact", params={"nonsense": 1})
    with pytest.raises(UserError, match="combination rule"):
        ProjectionStep(combine="majority")
    with pytest.raises(UserError, match="min_votes"):
        ProjectionStep(min_votes=0)
    with pytest.raises(UserError, match="unknown projection method"):
        ProjectionStep("nope")
