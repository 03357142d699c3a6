"""`silver-ner tag`: direct tagging with a model, translate-test through the build's steps (fakes with
known answers, then the command end to end on the tiny translation and tagging models)."""

import json

import pytest
from conftest import SameWordAligner

from silver_ner.builders.tagging import (
    FileTranslator,
    TagInput,
    TranslateTest,
    detect_format,
    read_input,
    tag_direct,
    write_output,
)
from silver_ner.builders.steps import MapLabels
from silver_ner.builders.wordsplit import tokenize
from silver_ner.cli import main
from silver_ner.projection.errors import UserError
from silver_ner.projection.spans import Span, tags_to_spans
from silver_ner.projection.step import LabelledSource, ProjectionStep

pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")


class DictTranslator:
    identity = "dict"

    def __init__(self, table):
        self.table, self.calls = table, []

    def translate(self, sentences, source_lang, target_lang):
        self.calls.append((list(sentences), source_lang, target_lang))
        return [self.table[s] for s in sentences]


class LexiconTagger:
    """Tags the words of a small lexicon as one-word entities ('EU' is MISC, a type the tests drop with a
    label restriction)."""

    identity = "lexicon"
    LEXICON = {"Amina": "PER", "Juma": "PER", "John": "PER", "Mombasa": "LOC", "EU": "MISC"}

    def tag(self, sentences):
        return [[Span(i, i + 1, self.LEXICON[w]) for i, w in enumerate(s) if w in self.LEXICON] for s in sentences]


# -- input -------------------------------------------------------------------------------------------


def test_format_detection():
    assert detect_format(["Amina O", "alisema O", "", "Nairobi B-LOC"]) == "conll"
    assert detect_format(["Amina\tB-PER"]) == "conll"
    assert detect_format(["Amina alisema leo", "Nairobi ni mji"]) == "text"
    assert detect_format(["Amina O", "Rais alisema leo"]) == "text"  # one line without a tag column
    assert detect_format(["", "  "]) == "text"


def test_text_input_is_tokenised_and_blank_lines_counted(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("Rais Samia alisema (leo).\n\nAmina yuko Nairobi.\n", encoding="utf-8")
    text = read_input(f)
    assert text.format == "text" and text.blank_lines == 1
    assert [s.tokens for s in text.sentences] == [["Rais", "Samia", "alisema", "(", "leo", ")", "."],
                                                  ["Amina", "yuko", "Nairobi", "."]]
    assert [s.line for s in text.sentences] == [1, 3]
    assert [s.tokens for s in read_input(f, pretokenized=True).sentences][0] == ["Rais", "Samia", "alisema", "(leo)."]


def test_conll_input_keeps_tokens_and_lines(tmp_path):
    f = tmp_path / "in.conll"
    f.write_text("Amina B-PER\nyuko O\n\nNairobi B-LOC\n.\tO\n", encoding="utf-8")
    text = read_input(f)
    assert text.format == "conll"
    assert [(s.tokens, s.line) for s in text.sentences] == [(["Amina", "yuko"], 1), (["Nairobi", "."], 4)]


def test_bad_inputs_name_the_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"empty\.txt: no sentence to tag"):
        read_input(empty)
    bad = tmp_path / "bad.conll"
    bad.write_text("Amina B-PER\nyuko X-Y\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad\.conll:2: not an IOB2 tag"):
        read_input(bad, "conll")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Amina\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin\.txt:2: not valid utf-8"):
        read_input(latin)


# -- translate-test through the steps -----------------------------------------------------------


def sentences(*texts):
    return [TagInput(t.split(), k + 1) for k, t in enumerate(texts)]


def test_translate_test_projects_the_translation_entities_back():
    inp = sentences("Jana Amina alikutana na Juma huko Mombasa", "Hakuna jina hapa")
    tr = DictTranslator({"Jana Amina alikutana na Juma huko Mombasa": "Yesterday Amina met Juma in Mombasa",
                         "Hakuna jina hapa": "No name here"})
    run = TranslateTest(tr, LexiconTagger(), SameWordAligner(), ProjectionStep("ngram-exact"), "swa")
    tagged, rep, counters = run.run(inp)
    assert tr.calls == [(["Jana Amina alikutana na Juma huko Mombasa", "Hakuna jina hapa"], "swa", "eng")]
    first, second = tagged
    assert first.tags == ["O", "B-PER", "O", "O", "B-PER", "O", "B-LOC"]
    assert first.translation["entities"] == [
        {"start": 1, "end": 2, "label": "PER", "text": "Amina"},
        {"start": 3, "end": 4, "label": "PER", "text": "Juma"},
        {"start": 5, "end": 6, "label": "LOC", "text": "Mombasa"},
    ]
    assert first.translation["tokens"] == ["Yesterday", "Amina", "met", "Juma", "in", "Mombasa"]
    assert first.scores and first.translation["unprojected"] == 0
    assert second.tags == ["O", "O", "O"] and second.translation["entities"] == []
    assert rep.sentences == 2 and rep.words == 10 and rep.translation_entities == 3


def test_translate_test_counts_and_labels():
    inp = sentences("Jana Amina alikutana na Juma EU", "Hakuna")
    tr = DictTranslator({"Jana Amina alikutana na Juma EU": "Yesterday Amina met Juma EU", "Hakuna": ""})
    run = TranslateTest(tr, LexiconTagger(), SameWordAligner(), ProjectionStep("ngram-exact"), "swa",
                        map_labels=MapLabels(("PER", "LOC")))
    tagged, rep, counters = run.run(inp)
    # EU is MISC on the translation: outside the label set, dropped and counted
    assert tagged[0].tags == ["O", "B-PER", "O", "O", "B-PER", "O"]
    assert [e["text"] for e in tagged[0].translation["entities"]] == ["Amina", "Juma"]
    assert counters.backtranslation["labels_dropped"] == 1
    # an empty translation: the sentence is kept, tagged O, and counted
    assert tagged[1].tags == ["O"] and tagged[1].translation == {"text": "", "empty": True}
    assert rep.empty_translations == 1 and rep.sentences == 2


def test_unlinked_entities_are_counted_as_unprojected():
    inp = sentences("Jana Amina alikutana na Yohana")
    tr = DictTranslator({"Jana Amina alikutana na Yohana": "Yesterday Amina met John"})
    tagged, rep, _ = TranslateTest(tr, LexiconTagger(), SameWordAligner(), ProjectionStep("ngram-exact"), "swa").run(inp)
    assert tagged[0].tags == ["O", "B-PER", "O", "O", "O"]  # John has no link to Yohana
    assert tagged[0].translation["unprojected"] == 1 and rep.unprojected == 1


def test_batches_keep_input_order():
    texts = [f"Neno{k} Amina" for k in range(7)]
    tr = DictTranslator({t: t for t in texts})
    run = TranslateTest(tr, LexiconTagger(), SameWordAligner(), ProjectionStep("ngram-exact"), "swa", batch_size=3)
    tagged, rep, _ = run.run(sentences(*texts))
    assert len(tr.calls) == 3 and [t.line for t in tagged] == list(range(1, 8))
    assert all(t.tags == ["O", "B-PER"] for t in tagged)


def test_candidate_methods_need_a_candidate_model():
    with pytest.raises(UserError, match="--candidates-from"):
        TranslateTest(DictTranslator({}), LexiconTagger(), SameWordAligner(), ProjectionStep("spans-greedy"), "swa")


def test_file_translator(tmp_path):
    inp = sentences("Amina yuko", "Juma yuko", "Amina yuko")
    f = tmp_path / "en.txt"
    f.write_text("Amina is here\nJuma is here\nAmina is there\n", encoding="utf-8")
    tr = FileTranslator(f, inp)
    assert tr.translate(["Juma yuko", "Amina yuko"], "swa", "eng") == ["Juma is here", "Amina is here"]
    assert tr.conflicts == 1 and tr.identity.startswith("file:en.txt@")
    short = tmp_path / "short.txt"
    short.write_text("one line\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"short\.txt: 1 translations for 3 input sentences"):
        FileTranslator(short, inp)


def test_write_output_formats(tmp_path):
    from silver_ner.builders.tagging import TaggedSentence

    t = TaggedSentence(["Amina", "yuko", "Dar", "es", "Salaam"], 4, ["B-PER", "O", "B-LOC", "I-LOC", "I-LOC"], [0.9, 0.5])
    out = tmp_path / "o.conll"
    assert write_output(out, [t], "conll") == 1
    assert out.read_text(encoding="utf-8") == "Amina B-PER\nyuko O\nDar B-LOC\nes I-LOC\nSalaam I-LOC\n\n"
    js = tmp_path / "o.jsonl"
    write_output(js, [t], "jsonl")
    row = json.loads(js.read_text(encoding="utf-8"))
    assert row["line"] == 4 and row["entities"] == [
        {"start": 0, "end": 1, "label": "PER", "text": "Amina", "score": 0.9},
        {"start": 2, "end": 5, "label": "LOC", "text": "Dar es Salaam", "score": 0.5}]
    assert not list(tmp_path.glob("*.tmp-*"))


# -- direct tagging --------------------------------------------------------------------------------


def test_direct_tagging_with_the_word_model(word_model, tmp_path):
    from silver_ner.builders.tagger import HFTagger

    inp = sentences("John Smith alikwenda Nairobi", "hakuna")
    tagged, rep = tag_direct(HFTagger(word_model), inp)
    assert [t.tags for t in tagged] == [["B-PER", "I-PER", "O", "B-LOC"], ["O"]]
    assert rep.entities == 2 and all(0.5 < s <= 1 for s in tagged[0].scores)


def test_tag_command_direct(word_model, tmp_path, capsys):
    f = tmp_path / "in.txt"
    f.write_text("John Smith alikwenda Nairobi.\nhakuna\n", encoding="utf-8")
    out = tmp_path / "out.conll"
    assert main(["tag", str(f), "--lang", "swa", "--model", str(word_model), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == ("John B-PER\nSmith I-PER\nalikwenda O\nNairobi B-LOC\n. O\n\n"
                                               "hakuna O\n\n")
    err = capsys.readouterr().err
    assert "2 sentences (6 words, 2 entities)" in err and "(text, direct)" in err


@pytest.mark.parametrize("argv, message", [
    ([], "name the model"),
    (["--model", "m", "--translator", "t", "--tagger", "x"], "give one of the two"),
    (["--translator", "t"], "translate-test needs --tagger"),
    (["--translator", "t", "--translations", "f", "--tagger", "x"], "not both"),
    (["--model", "m", "--method", "ngram-exact"], "--method: translate-test options"),
    (["--model", "m", "--lang", "xx1"], "not an ISO 639-3 code"),
])
def test_tag_command_errors(tmp_path, capsys, argv, message):
    f = tmp_path / "in.txt"
    f.write_text("Amina\n", encoding="utf-8")
    out = tmp_path / "out.conll"
    lang = [] if "--lang" in argv else ["--lang", "swa"]
    assert main(["tag", str(f), *lang, "-o", str(out), *argv]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_tag_command_translation_file_of_wrong_length_writes_nothing(word_model, tmp_path, capsys):
    f = tmp_path / "in.txt"
    f.write_text("Amina\nJuma\n", encoding="utf-8")
    en = tmp_path / "en.txt"
    en.write_text("Amina\n", encoding="utf-8")
    out = tmp_path / "out.conll"
    assert main(["tag", str(f), "--lang", "swa", "--translations", str(en), "--tagger", str(word_model),
                 "-o", str(out)]) == 2
    assert "en.txt: 1 translations for 2 input sentences" in capsys.readouterr().err and not out.exists()


# -- translate-test end to end on the tiny models ----------------------------------------------------


def test_tag_command_translate_test_end_to_end(tiny_m2m100, word_model, tiny_bert, tmp_path, monkeypatch):
    """Tiny random M2M100 (German -> English), the word model tagging the translations, the tiny encoder
    aligning: the output is the composition of the three, and a second run answers from the translation cache."""
    from silver_ner.builders.tagger import HFTagger
    from silver_ner.builders.translate import HFTranslator
    from silver_ner.projection.aligner import EmbeddingAligner

    f = tmp_path / "de.txt"
    f.write_text("John Smith besuchte Nairobi.\nDie Kommission tagte.\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    cache = tmp_path / "cache"
    argv = ["tag", str(f), "--lang", "deu", "--translator", tiny_m2m100, "--translator-param", "num_beams=1",
            "--translator-param", "max_length=16", "--tagger", str(word_model), "--aligner-model", str(tiny_bert),
            "--layer", "2", "--method", "ngram-exact", "--format", "jsonl", "-o", str(out), "--cache-dir", str(cache)]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["tokens"] for r in rows] == [tokenize("John Smith besuchte Nairobi."), tokenize("Die Kommission tagte.")]
    # the same pieces composed by hand
    tr = HFTranslator(tiny_m2m100, num_beams=1, max_length=16, long_input="split", cache_path=cache / "translations.sqlite")
    texts = tr.translate(["John Smith besuchte Nairobi.", "Die Kommission tagte."], "deu", "eng")
    assert tr.stats["translated"] == 0  # the command filled the cache
    tagger = HFTagger(word_model)
    aligner = EmbeddingAligner(model=str(tiny_bert), layer=2, method="itermax")
    step = ProjectionStep("ngram-exact")
    for row, text in zip(rows, texts):
        bt = tokenize(text)
        assert row["translation"]["text"] == text and row["translation"]["tokens"] == bt
        bt_spans = tagger.tag([bt])[0]
        assert [(e["start"], e["end"], e["label"]) for e in row["translation"]["entities"]] == \
            [(s.start, s.end, s.label) for s in bt_spans]
        links = step.align(aligner, [(bt, row["tokens"])])[0]
        expected = step.project_one(LabelledSource.of(bt, bt_spans), row["tokens"], links)
        assert tags_to_spans(row["tags"]) == sorted(expected.spans, key=lambda s: s.start)
    # second run: no sentence goes through the model again
    calls = []
    original = HFTranslator._generate
    monkeypatch.setattr(HFTranslator, "_generate", lambda self, *a: calls.append(a) or original(self, *a))
    assert main(argv) == 0 and calls == []


def test_translate_test_with_a_translation_file_through_the_command(word_model, tiny_bert, tmp_path):
    """Human translations as the 'MT': the word model finds John Smith and Nairobi in the English lines,
    and identical words let even the tiny encoder link them back."""
    f = tmp_path / "sw.conll"
    f.write_text("John O\nSmith O\nalikwenda O\nNairobi O\n\nhakuna O\n", encoding="utf-8")
    en = tmp_path / "en.txt"
    en.write_text("John Smith went to Nairobi\nnothing\n", encoding="utf-8")
    out = tmp_path / "out.conll"
    assert main(["tag", str(f), "--lang", "swa", "--translations", str(en), "--tagger", str(word_model),
                 "--aligner-model", str(tiny_bert), "--layer", "2", "--method", "ngram-exact", "-o", str(out),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    blocks = out.read_text(encoding="utf-8").strip().split("\n\n")
    assert len(blocks) == 2 and blocks[1] == "hakuna O"
    got = [line.split() for line in blocks[0].splitlines()]
    assert [w for w, _ in got] == ["John", "Smith", "alikwenda", "Nairobi"]
    assert got[0][1] == "B-PER" and got[3][1] == "B-LOC"


def test_entity_scores_follow_the_spans_in_sentence_order():
    """The projection may return spans in source order; scores are reported in the sentence's order."""
    from silver_ner.projection.protocols import ProjectionResult

    def reversed_projection(src_tokens, src_spans, tgt_tokens, alignment, **_):
        # the second source entity first, with its own score
        return ProjectionResult(spans=[Span(3, 4, "LOC"), Span(0, 1, "PER")], scores=[0.25, 0.75], source_of=[1, 0])

    inp = sentences("Amina yuko huko Mombasa")
    tr = DictTranslator({"Amina yuko huko Mombasa": "Amina is in Mombasa"})
    step = ProjectionStep(func=reversed_projection)
    tagged, _, _ = TranslateTest(tr, LexiconTagger(), SameWordAligner(), step, "swa").run(inp)
    assert [(e["text"], e["score"]) for e in tagged[0].to_json()["entities"]] == [("Amina", 0.75), ("Mombasa", 0.25)]


def test_candidate_model_with_a_method_that_makes_its_own_candidates_is_refused(tmp_path, capsys):
    f = tmp_path / "in.txt"
    f.write_text("Amina\n", encoding="utf-8")
    en = tmp_path / "en.txt"
    en.write_text("Amina\n", encoding="utf-8")
    assert main(["tag", str(f), "--lang", "swa", "--translations", str(en), "--tagger", "t", "--method", "ngram-exact",
                 "--candidates-from", "m", "-o", str(tmp_path / "o.conll")]) == 2
    assert "--candidates-from needs a method that matches given spans" in capsys.readouterr().err
    assert not (tmp_path / "o.conll").exists()
