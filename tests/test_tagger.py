"""The one tagger (builders.tagger): windows for long sentences, NFC words, per-word probabilities,
and the same output through every caller (build tagger, students.predict, evaluation, training mask)."""

import unicodedata
from pathlib import Path

import pytest
from tiny_models import LABELS, YORUBA, build_tiny_tokenizer, build_word_classifier, word_classifier_config as _config

from silver_ner.projection.spans import Span, repair_tags, tags_to_spans


def build_random_classifier(path: Path, seed: int = 0) -> Path:
    import torch
    from transformers import BertForTokenClassification

    tok = build_tiny_tokenizer(path)
    torch.manual_seed(seed)
    BertForTokenClassification(_config(tok, 2)).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    return build_random_classifier(tmp_path_factory.mktemp("random-classifier"))


def long_sentence(repeats: int = 30) -> tuple[list[str], list[str]]:
    """``Nairobi ni mji`` repeated: 6 subwords a repeat, 180 for 30, past the 128 limit."""
    words = ["Nairobi", "ni", "mji"] * repeats
    return words, ["B-LOC", "O", "O"] * repeats


# --------------------------------------------------------------------------- windows


def test_window_plan_by_hand():
    from silver_ner.builders.tagger import plan_windows

    # ten one-subword words, four subwords a window, two shared: each word labelled where most central
    windows, owner = plan_windows([1] * 10, 4, 2)
    assert windows == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert owner == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]
    # a sentence that fits is one window
    assert plan_windows([2, 2], 4, 2) == ([(0, 2)], [0, 0])
    # a word longer than a window gets a window of its own (cut to its first subwords)
    assert plan_windows([1, 6, 1], 4, 2) == ([(0, 1), (1, 2), (2, 3)], [0, 1, 2])
    # no overlap: consecutive windows
    assert plan_windows([1] * 5, 2, 0) == ([(0, 2), (2, 4), (4, 5)], [0, 0, 1, 1, 2])


def test_a_sentence_longer_than_the_limit_gets_a_label_on_every_word(word_model):
    from silver_ner.builders.tagger import HFTagger
    from silver_ner.students.predict import load_token_classifier, predict_tags

    words, gold = long_sentence()
    pred = predict_tags(load_token_classifier(word_model), [words, ["John", "Smith"]])
    assert pred.tags == [gold, ["B-PER", "I-PER"]]
    assert [p > 0.9 for p in pred.entity_probs[0]] == [t != "O" for t in gold]
    assert pred.windowed_sentences == [0] and pred.untagged_words == 0
    tagger = HFTagger(word_model)
    assert tagger.max_length == 128
    assert tagger.tag([words]) == [tags_to_spans(gold)]
    assert tagger.windowed == 1


def test_a_word_longer_than_a_window_still_gets_its_label(word_model):
    from silver_ner.builders.tagger import HFTagger

    # "Nairobixyz" is Nairobi ##x ##y ##z: four subwords, a window holds three
    tagger = HFTagger(word_model, max_length=5)
    pred = tagger.predict([["mji", "Nairobixyz", "mji", "John"]])
    assert pred.tags == [["O", "B-LOC", "O", "B-PER"]]


def test_a_word_without_subwords_is_tagged_o_and_counted(word_model):
    from silver_ner.builders.tagger import HFTagger

    pred = HFTagger(word_model).predict([["John", "", "Nairobi"], ["x"]])
    assert pred.tags == [["B-PER", "O", "B-LOC"], ["O"]]
    assert pred.entity_probs[0][1] == 0.0
    assert pred.untagged_words == 1 and pred.untagged_sentences == [0]


# --------------------------------------------------------------------------- short sentences unchanged


def reference_first_subword(path, sentences):
    """Each sentence alone through the tokenizer and the model, first-subword argmax, IOB2 repair."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForTokenClassification.from_pretrained(path).eval()
    tags, probs = [], []
    with torch.inference_mode():
        for words in sentences:
            words = [unicodedata.normalize("NFC", w) for w in words]
            enc = tok(words, is_split_into_words=True, return_tensors="pt")
            logits = model(**enc).logits[0]
            firsts, seen = [], set()
            for pos, w in enumerate(enc.word_ids(0)):
                if w is not None and w not in seen:
                    seen.add(w)
                    firsts.append(pos)
            best = logits.argmax(-1).tolist()
            p_o = logits.softmax(-1)[:, 0].tolist()
            tags.append(repair_tags([LABELS[best[p]] for p in firsts])[0])
            probs.append([1 - p_o[p] for p in firsts])
    return tags, probs


SHORT = [["John", "Smith", "visited", "Nairobi"], ["Ade", unicodedata.normalize("NFD", YORUBA), "Lagos"],
         ["the", "European", "Union", "said", "x"], ["Kenya"]]


def test_short_sentences_keep_the_labels_of_a_plain_first_subword_run(random_model):
    from silver_ner.builders.tagger import HFTagger

    ref_tags, ref_probs = reference_first_subword(random_model, SHORT)
    assert any(t != "O" for ts in ref_tags for t in ts)  # the random model does tag entities
    pred = HFTagger(random_model, batch_size=3).predict(SHORT)
    assert pred.tags == ref_tags and pred.windowed_sentences == []
    for got, want in zip(pred.entity_probs, ref_probs):
        assert got == pytest.approx(want, abs=1e-5)


def test_build_tagger_and_predict_tags_give_identical_output(random_model):
    from silver_ner.builders.tagger import HFTagger
    from silver_ner.students.predict import load_token_classifier, predict_tags

    sentences = SHORT + [long_sentence()[0]]
    via_students = predict_tags(load_token_classifier(random_model), sentences, batch_size=2)
    tagger = HFTagger(random_model, batch_size=2)
    via_build = tagger.predict(sentences)
    assert via_students.tags == via_build.tags
    assert via_students.entity_probs == via_build.entity_probs
    assert tagger.tag(sentences) == [tags_to_spans(t) for t in via_students.tags]
    # batch size does not change the labels
    assert HFTagger(random_model, batch_size=1).predict(sentences).tags == via_build.tags


# --------------------------------------------------------------------------- normalisation


def test_words_are_nfc_normalised_for_every_caller(tmp_path):
    from silver_ner.builders.tagger import HFTagger, normalise_words
    from silver_ner.students.labels import nfc
    from silver_ner.students.predict import load_token_classifier, predict_tags

    # a tokenizer with no normaliser of its own: decomposed tone marks would be other pieces
    path = build_word_classifier(tmp_path / "m", nfc_in_tokenizer=False)
    decomposed = unicodedata.normalize("NFD", YORUBA)
    assert decomposed != YORUBA
    assert normalise_words([decomposed, "Ọba"]) == nfc([decomposed, "Ọba"]) == [YORUBA, "Ọba"]
    sents = [["Ade", decomposed, "Lagos"], ["Ade", YORUBA, "Lagos"]]
    assert HFTagger(path).tag(sents) == [[Span(1, 2, "ORG")]] * 2
    assert predict_tags(load_token_classifier(path), sents).tags == [["O", "B-ORG", "O"]] * 2


# --------------------------------------------------------------------------- interface


def test_the_tagger_is_a_projection_tagger_and_keeps_the_callers_threads(word_model):
    import torch

    from silver_ner.builders.tagger import HFTagger, WordTagger
    from silver_ner.projection.errors import UserError
    from silver_ner.projection.protocols import Tagger

    before = torch.get_num_threads()
    tagger = HFTagger(word_model, threads=1, device="cpu")
    assert isinstance(tagger, Tagger) and isinstance(tagger, WordTagger)
    assert tagger.tag([["John", "Smith"]]) == [[Span(0, 2, "PER")]]
    assert torch.get_num_threads() == before
    with pytest.raises(UserError, match="threads must be at least 1"):
        HFTagger(word_model, threads=0)
    with pytest.raises(UserError, match="overlap must be in"):
        HFTagger(word_model, max_length=6, overlap=4)
    with pytest.raises(UserError, match="leaves no room"):
        HFTagger(word_model, max_length=2)


# --------------------------------------------------------------------------- callers


def test_evaluation_scores_every_word_of_a_long_sentence(word_model, tmp_path):
    from silver_ner.students.evaluation import evaluate_model, format_records

    words, gold = long_sentence()
    path = tmp_path / "test.txt"
    path.write_text("\n".join(f"{w} {t}" for w, t in zip(words, gold)) + "\n\nJohn B-PER\nSmith I-PER\n", encoding="utf-8")
    rec = evaluate_model(str(word_model), [str(path)], results_file=None)[0]
    assert rec["metrics"]["f1"] == 1.0 and rec["metrics"]["per_type"]["LOC"]["number"] == 30
    assert rec["windowed_sentences"] == 1 and rec["untagged_words"] == 0
    assert "truncated_words" not in rec
    assert "1 sentences longer than the model's length limit tagged in windows" in format_records([rec])


def test_training_mask_reads_windowed_predictions(word_model):
    from silver_ner.students.train import _mask_where_model_disagrees

    words, _ = long_sentence()
    ids = [[0] * len(words)]  # the data says O everywhere; the model tags 30 Nairobi, the last ones past 128 subwords
    masked, record = _mask_where_model_disagrees(ids, [words], 0, str(word_model), min_prob=0.9)
    assert record["words"] == 30
    assert [i for i, a in enumerate(masked[0]) if a == -100] == list(range(0, len(words), 3))
