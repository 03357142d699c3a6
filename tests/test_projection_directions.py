"""experiments/projection_directions.py: method entries, the annotations' ceiling, frequent words."""

from types import SimpleNamespace

import pytest

from silver_ner.projection.protocols import Alignment
from silver_ner.projection.spans import Span
from conftest import load_script

def _load():
    return load_script("experiments", "projection_directions")


MOD = _load()


def _sent(tokens, spans=()):
    return SimpleNamespace(tokens=tokens.split(), spans=list(spans))


def test_method_entries_set_layer_token_type_links_and_parameters():
    assert MOD.parse_method("paper=ngram-greedy@6:bpe") == ("paper", "ngram-greedy", {}, {"layer": 6, "token_type": "bpe"})
    assert MOD.parse_method("tuned-greedy") == ("tuned-greedy", "tuned-greedy", {}, {})
    label, name, params, setting = MOD.parse_method("x=tuned-greedy@7:word:itermax+argmax:owned=true:max_len=4:weighted")
    assert (label, name) == ("x", "tuned-greedy")
    assert params == {"owned": True, "max_len": 4, "weighted": True}
    assert setting == {"layer": 7, "token_type": "word", "links": ("itermax", "argmax")}
    with pytest.raises(SystemExit, match="not a number"):
        MOD.parse_method("ngram-greedy@six")


def test_ceiling_matches_linked_same_label_gold_spans_once_each():
    src = [_sent("A b C d", [Span(0, 1, "ORG"), Span(2, 3, "LOC")]), _sent("P q", [Span(0, 1, "PER")])]
    tgt = [_sent("A b C d", [Span(0, 1, "ORG"), Span(2, 3, "MISC")]), _sent("P q", [Span(0, 1, "PER")])]
    links = [Alignment.from_pairs([(0, 0), (2, 2)]), Alignment(())]  # the second sentence has no links
    # same label: 1 match, 2 projected (the unlinked PER is not), 3 gold -> P 1/2, R 1/3
    assert MOD.ceiling(src, tgt, links) == pytest.approx(0.4)
    # any label: 2 matches -> P 1, R 2/3
    assert MOD.ceiling(src, tgt, links, same_label=False) == pytest.approx(0.8)
    # two source entities reaching one gold span: it is matched once
    two = [_sent("A B c", [Span(0, 1, "ORG"), Span(1, 2, "ORG")])]
    one = [_sent("AB c", [Span(0, 1, "ORG")])]
    assert MOD.ceiling(two, one, [Alignment.from_pairs([(0, 0), (1, 0)])]) == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_frequent_words_are_counted_once_per_sentence_lower_cased():
    conll = SimpleNamespace(sentences=[_sent("The the cat"), _sent("the dog"), _sent("a bird"), _sent("A fish")])
    assert MOD.frequent_words(conll, 0.5) == ["a", "the"]
    assert MOD.frequent_words(conll, 0.75) == []


def test_wider_spans_and_their_extra_words():
    gold = [Span(1, 2, "ORG")]
    pred = [Span(0, 2, "ORG")]
    assert MOD.classify(gold, pred)["wider"] == 1
    assert MOD.extra_words("the Commission acts".split(), gold, pred) == ["the"]


def test_candidate_rows_and_type_restriction_end_to_end(word_model, tmp_path, monkeypatch):
    """spans-greedy with the word model's spans as candidates; --types leaves MISC out of sources and gold."""
    import json
    import sys

    from conftest import SameWordAligner

    en = "John B-PER\nSmith I-PER\nvisited O\nNairobi B-LOC\nspeaking O\nGerman B-MISC\n\n"
    de = "John B-PER\nSmith I-PER\nbesuchte O\nNairobi B-LOC\nund O\nsprach O\nGerman B-MISC\n\n"
    (tmp_path / "en.conll").write_text(en, encoding="utf-8")
    (tmp_path / "de.conll").write_text(de, encoding="utf-8")
    monkeypatch.setattr(MOD, "make_aligner", lambda *a, **k: SameWordAligner())

    def run(out, *extra):
        monkeypatch.setattr(sys, "argv", ["projection_directions.py", "--data", str(tmp_path), "--langs", "en,de",
                                          "--methods", "cand=spans-greedy,tuned-greedy", "--candidates-from",
                                          str(word_model), "--output", str(out), *extra])
        MOD.main()
        return {(r["method"], r["source"], r["target"]): r["f1"]
                for r in json.loads((out / "directions.json").read_text(encoding="utf-8"))["rows"]}

    restricted = run(tmp_path / "a", "--types", "PER,ORG,LOC")
    assert restricted[("cand", "en", "de")] == 1.0 and restricted[("cand", "de", "en")] == 1.0
    full = run(tmp_path / "b")
    # with MISC scored, the candidates (no span on German) miss it: P 1, R 2/3
    assert full[("cand", "en", "de")] == pytest.approx(0.8)
    assert full[("tuned-greedy", "en", "de")] == 1.0  # n-gram candidates reach German
    assert "types PER,ORG,LOC only" in (tmp_path / "a" / "directions.md").read_text(encoding="utf-8")
