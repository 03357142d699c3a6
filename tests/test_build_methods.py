"""The paper's methods from the build: multi-source voting, model-predicted candidate spans,
sentence-parallel CoNLL sources; the build's rows equal eval-projection's projections."""

import json

import pytest
from conftest import SameWordAligner

from silver_ner.builders.build import MORE_SOURCE_PREFIX, BuildSpec, LanguageBuild, SourceSpec
from silver_ner.builders.steps import Batch, BuildCounters, run_steps
from silver_ner.leaderboard.projection_eval import evaluate_projection
from silver_ner.projection.errors import UserError
from silver_ner.projection.spans import Span, tags_to_spans

EN = """John\tB-PER
Smith\tI-PER
visited\tO
Berlin\tB-LOC
.\tO

The\tO
Commission\tB-ORG
met\tO
in\tO
Paris\tB-LOC
.\tO
"""
ES = """John\tB-PER
Smith\tO
visitó\tO
Berlin\tB-LOC
.\tO

La\tO
Commission\tB-ORG
se\tO
reunió\tO
en\tO
Paris\tB-LOC
.\tO
"""
DE = """John\tB-PER
Smith\tI-PER
besuchte\tO
Berlin\tB-LOC
.\tO

Die\tO
Commission\tB-ORG
tagte\tO
in\tO
Paris\tB-LOC
.\tO
"""


class FixedTagger:
    """Finds the given spans in every sentence whose first word is the key."""

    identity = "fixed"

    def __init__(self, spans):
        self.spans = spans

    def tag(self, sentences):
        return [list(self.spans.get(s[0], [])) for s in sentences]


@pytest.fixture
def files(tmp_path):
    out = {}
    for lang, text in (("en", EN), ("es", ES), ("de", DE)):
        out[lang] = tmp_path / f"{lang}.conll"
        out[lang].write_text(text, encoding="utf-8")
    return out


def rows_of(lb):
    return [row for _, _, row in lb.rows(range(lb.num_chunks()))]


def spans_of(lb, row):
    return tags_to_spans([lb.spec.label_names[t] for t in row["ner_tags"]])


def test_parallel_conll_pairs_sentence_by_sentence(files, tmp_path):
    spec = BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": str(files["en"]), "target_conll": str(files["de"])}),
                     method="ngram-exact", validation_fraction=0)
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner())
    rows = rows_of(lb)
    assert [r["tokens"][:2] for r in rows] == [["John", "Smith"], ["Die", "Commission"]]
    assert [spans_of(lb, r) for r in rows] == [[Span(0, 2, "PER"), Span(3, 4, "LOC")], [Span(1, 2, "ORG"), Span(4, 5, "LOC")]]
    origin = json.loads(rows[1]["origin"])
    assert origin == {"source_file": "en.conll", "source_line": 7, "target_file": "de.conll", "target_line": 7,
                      "target_sentence": 2}


@pytest.mark.parametrize("combine,min_votes", [("vote", 1), ("vote", 2), ("nested-vote", 1)])
def test_more_sources_vote_as_in_eval_projection(files, tmp_path, combine, min_votes):
    spec = BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": str(files["en"]), "target_conll": str(files["de"]),
                                                          MORE_SOURCE_PREFIX + "spa": str(files["es"])}),
                     method="ngram-exact", labels=("PER", "ORG", "LOC"), validation_fraction=0, combine=combine,
                     min_votes=min_votes)
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner())
    rows = rows_of(lb)
    ref = evaluate_projection([str(files["en"]), str(files["es"])], str(files["de"]), "ngram-exact",
                              aligner=SameWordAligner(), combine=combine, min_votes=min_votes)
    build_pred = [spans_of(lb, r) for r in rows]
    # the build's rows score against the German gold exactly as eval-projection's projections
    spec_ref = BuildSpec("deu", spec.source, method="ngram-exact", validation_fraction=0, combine=combine,
                         min_votes=min_votes, reference=str(files["de"]))
    scored = LanguageBuild(spec_ref, cache_dir=tmp_path / "cache", aligner=SameWordAligner()).score(str(files["de"]))
    assert scored["f1"] == round(ref["f1"], 4)
    if (combine, min_votes) == ("vote", 1):  # John Smith (en) vs John (es): one vote each, the tie goes to the shorter
        assert build_pred[0][0] == Span(0, 1, "PER")
    if min_votes == 2:
        assert build_pred[0] == [Span(3, 4, "LOC")]
    origin = json.loads(rows[0]["origin"])
    assert origin["more_sources"] == [{"lang": "spa", "source_file": "es.conll", "source_line": 1}]
    stats = lb.stats()  # both sources' entities count: English 4, Spanish 4
    assert stats["source_entities"] == 8
    assert stats["projected_entities"] == 8 - sum(r["unprojected"] for r in rows)
    assert lb.config_entry()["source"]["more_sources"] == [{"language": "spa", "files": [str(files["es"])]}]


def test_more_source_with_wrong_sentence_count_is_refused(files, tmp_path):
    short = tmp_path / "short.conll"
    short.write_text(EN.split("\n\n")[0] + "\n", encoding="utf-8")
    spec = BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": str(files["en"]), "target_conll": str(files["de"]),
                                                          MORE_SOURCE_PREFIX + "spa": str(short)}), method="ngram-exact")
    with pytest.raises(UserError, match=r"short.conll: 1 sentences, but the target has 2"):
        LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner()).pairs()


def test_more_sources_need_numbered_targets():
    with pytest.raises(UserError, match="--parallel or --parallel-conll"):
        SourceSpec("translated-conll", {"source_gold": "a", "translated_conll": "b", MORE_SOURCE_PREFIX + "spa": "c"})


def test_candidates_from_a_model_are_matched(fake_hub_models, files, tmp_path):
    spec = BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": str(files["en"]), "target_conll": str(files["de"])}),
                     method="spans-exact", validation_fraction=0, candidates_model="fixed-model")
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner())
    lb._candidate_tagger = FixedTagger({"John": [Span(0, 1, "X"), Span(3, 4, "X")], "Die": [Span(1, 2, "X")]})
    rows = rows_of(lb)
    # only what the model proposed can be chosen: "John" (not "John Smith"); Paris was not proposed
    assert [spans_of(lb, r) for r in rows] == [[Span(0, 1, "PER"), Span(3, 4, "LOC")], [Span(1, 2, "ORG")]]
    assert rows[1]["unprojected"] == 1
    with_ngrams = BuildSpec("deu", spec.source, method="spans-exact", validation_fraction=0,
                            candidates_model="fixed-model", candidates_union=True)
    lb2 = LanguageBuild(with_ngrams, cache_dir=tmp_path / "cache", aligner=SameWordAligner())
    lb2._candidate_tagger = lb._candidate_tagger
    assert lb2.fingerprint() != lb.fingerprint()
    assert [spans_of(lb2, r) for r in rows_of(lb2)] == [[Span(0, 2, "PER"), Span(3, 4, "LOC")],
                                                          [Span(1, 2, "ORG"), Span(4, 5, "LOC")]]


def test_candidate_methods_and_models_go_together(files):
    src = SourceSpec("parallel-conll", {"source_gold": str(files["en"]), "target_conll": str(files["de"])})
    with pytest.raises(UserError, match="--candidates-from MODEL"):
        BuildSpec("deu", src, method="spans-greedy").link_settings()
    with pytest.raises(UserError, match="needs a method that matches given spans"):
        BuildSpec("deu", src, method="ngram-greedy", candidates_model="m").link_settings()


def test_steps_run_batch_by_batch_and_counters_add_up(files, tmp_path):
    spec = BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": str(files["en"]), "target_conll": str(files["de"])}),
                     method="ngram-exact", validation_fraction=0)
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner())
    pairs = lb.pairs()
    steps = lb.steps(SameWordAligner())
    one = run_steps(steps, Batch.of(pairs))
    total = BuildCounters()
    rows = []
    for p in pairs:  # the same steps, one pair per batch, as an external engine would call them
        b = run_steps(steps, Batch.of([p]))
        total.add(b.counters)
        rows += [r.row for r in b.records]
    assert rows == [r.row for r in one.records]
    assert total.to_dict() == one.counters.to_dict()
    assert one.counters.sentences_in == 2 and one.counters.source_entities == 4
    assert dict(one.counters.entities_per_class) == {"PER": 1, "LOC": 2, "ORG": 1}
    assert BuildCounters.from_dict(one.counters.to_dict()).to_dict() == one.counters.to_dict()
