import pytest

from silver_ner.builders.conll import read_conll
from silver_ner.builders.parallel import ParallelFileError, pairs_from_parallel
from silver_ner.builders.sources import SourceReport
from silver_ner.projection.spans import Span


class CapitalTagger:
    """Tags every capitalised token after the first as a one-token LOC."""

    identity = "capitals"

    def __init__(self):
        self.batches = []

    def tag(self, sentences):
        self.batches.append(len(sentences))
        return [[Span(i, i + 1, "LOC") for i, t in enumerate(s) if i and t[:1].isupper()] for s in sentences]


# sentence i labels line i of the ``files`` source (line 3 is empty: its label sentence is a placeholder)
GOLD = ("He O\nwent O\nto O\nNairobi B-LOC\n. O\n\nNo O\ntarget O\nhere O\n. O\n\nx O\n\n"
        "They O\nmet O\nin O\nLagos B-LOC\n, O\nNigeria B-LOC\n. O\n")


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "dev.en"
    tgt = tmp_path / "dev.swa"
    src.write_text("He went to Nairobi.\nNo target here.\n\nThey met in Lagos, Nigeria.\n", encoding="utf-8")
    tgt.write_text("Alienda Nairobi.\n\nTupu.\nWalikutana Lagos, Nigeria.\n", encoding="utf-8")
    return src, tgt


def test_tagger_labelled_pairs_and_counted_drops(files):
    src, tgt = files
    rep = SourceReport()
    tagger = CapitalTagger()
    pairs = list(pairs_from_parallel(src, tgt, "swa", tagger, rep, batch_size=1))
    assert [p.origin["source_line"] for p in pairs] == [1, 4]
    assert pairs[0].target_tokens == ["Alienda", "Nairobi", "."]
    assert pairs[1].source_tokens == ["They", "met", "in", "Lagos", ",", "Nigeria", "."]
    assert pairs[1].source_spans == [Span(3, 4, "LOC"), Span(5, 6, "LOC")]
    assert pairs[1].target_lang == "swa" and pairs[1].origin["labels"] == "tagger:capitals"
    assert rep.read == 4 and rep.paired == 2
    assert rep.dropped == {"empty target line": 1, "empty source line": 1}
    assert any("line(s) 2 " in n for n in rep.notes) and any("line(s) 3 " in n for n in rep.notes)
    assert tagger.batches == [1, 1]


def test_gold_labeller_must_be_sentence_parallel(files, tmp_path):
    src, tgt = files
    gold = tmp_path / "gold.conll"
    gold.write_text(GOLD, encoding="utf-8")
    rep = SourceReport()
    pairs = list(pairs_from_parallel(src, tgt, "swa", read_conll(gold), rep))
    assert [p.source_spans for p in pairs] == [[Span(3, 4, "LOC")], [Span(3, 4, "LOC"), Span(5, 6, "LOC")]]
    assert pairs[0].origin["labels"].endswith("gold.conll:1")
    short = tmp_path / "short.conll"
    short.write_text("He O\n", encoding="utf-8")
    with pytest.raises(ParallelFileError, match="1 sentences but .*4 lines"):
        list(pairs_from_parallel(src, tgt, "swa", read_conll(short), SourceReport()))


def test_line_count_mismatch_names_both_files(files):
    src, tgt = files
    tgt.write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(ParallelFileError, match=r"dev.en has 4 lines but .*dev.swa has 3: line 4 of .*dev.en"):
        list(pairs_from_parallel(src, tgt, "swa", CapitalTagger(), SourceReport()))


def test_hf_tagger_on_a_tiny_token_classifier(tmp_path, files):
    from tiny_models import build_tiny_tokenizer
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from silver_ner.builders.tagger import HFTagger

    path = tmp_path / "tagger"
    tok = build_tiny_tokenizer(path)
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=128, num_labels=len(labels),
                     id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    model = BertForTokenClassification(cfg)
    with torch.no_grad():  # make the classifier follow one input feature: I-LOC everywhere, repaired to B/I
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 5.0]))
    model.save_pretrained(path)
    tagger = HFTagger(path, batch_size=2)
    sents = [["Nairobi", "ni", "mji"], ["Ade", "ẹ̀kọ́"], ["x"] * 3]
    out = tagger.tag(sents)
    assert out == [[Span(0, 3, "LOC")], [Span(0, 2, "LOC")], [Span(0, 3, "LOC")]]
    assert tagger.repairs == 3  # one I- without B- per sentence
    # a sentence longer than the model's maximum is tagged in windows, not truncated
    short = HFTagger(path, max_length=6)
    long_sentence = ["Nairobi"] * 9
    assert short.tag([long_sentence]) == [[Span(0, 9, "LOC")]] and short.windowed == 1
    rep = SourceReport()
    src, tgt = files
    pairs = list(pairs_from_parallel(src, tgt, "swa", tagger, rep))
    assert len(pairs) == 2 and pairs[0].source_spans == [Span(0, 5, "LOC")]


def test_real_mafand_dev_pairs_every_line(shared_data):
    from silver_ner.builders.parallel import mafand_paths

    src, tgt = mafand_paths("yor", "dev", shared_data)
    rep = SourceReport()
    pairs = list(pairs_from_parallel(src, tgt, "yor", CapitalTagger(), rep))
    lines = src.read_text(encoding="utf-8").splitlines()
    assert rep.read == len(lines) and rep.paired + sum(rep.dropped.values()) == rep.read
    assert len(pairs) == rep.paired and all(p.target_tokens for p in pairs)
    assert all("," not in t or t == "," for p in pairs[:200] for t in p.target_tokens)


def _sentences(*lines):
    return "\n".join("\n".join(f"{t} {'B-LOC' if t[:1].isupper() and i else 'O'}" for i, t in enumerate(l.split()))
                     + "\n" for l in lines)


def test_label_tokens_must_match_the_source_lines(tmp_path):
    src = tmp_path / "train.en"
    tgt = tmp_path / "train.swa"
    src.write_text("He went to Nairobi .\nShe lives in Lagos .\nWe saw Accra .\nThey left .\n", encoding="utf-8")
    tgt.write_text("a\nb\nc\nd\n", encoding="utf-8")
    labels = tmp_path / "labels.conll"
    # one sentence lost after the first line, one extra at the end: a shifted file of the right length
    labels.write_text(_sentences("He went to Nairobi .", "We saw Accra .", "They left .", "Extra one ."),
                      encoding="utf-8")
    with pytest.raises(ParallelFileError) as err:
        list(pairs_from_parallel(src, tgt, "swa", read_conll(labels), SourceReport()))
    msg = str(err.value)
    assert f"{labels}:7: tokens of label sentence 2 differ from line 2 of {src}" in msg
    assert "'We' where the line has 'She'" in msg and "3 of 4 label sentences differ" in msg
    assert "matches line 3, so the label file looks shifted" in msg and "--source-labels-tokens" in msg

    rep = SourceReport()
    pairs = list(pairs_from_parallel(src, tgt, "swa", read_conll(labels), rep, source_labels_tokens=True))
    assert [p.source_tokens for p in pairs][1] == ["We", "saw", "Accra", "."]  # the label file's tokens, as asked
    found = rep.inputs["label_token_mismatches"]
    assert found["count"] == 3
    assert found["at"] == [f"{labels}:7 / {src}:2", f"{labels}:12 / {src}:3", f"{labels}:16 / {src}:4"]


def test_label_tokens_equal_after_tokenising_and_nfc(tmp_path):
    src = tmp_path / "a.en"
    tgt = tmp_path / "a.yo"
    src.write_text("Ade\u0301 went to Lagos, Nigeria.\n", encoding="utf-8")
    tgt.write_text("x\n", encoding="utf-8")
    labels = tmp_path / "l.conll"
    labels.write_text("Ad\u00e9 B-PER\nwent O\nto O\nLagos B-LOC\n, O\nNigeria B-LOC\n. O\n", encoding="utf-8")
    rep = SourceReport()
    pairs = list(pairs_from_parallel(src, tgt, "yor", read_conll(labels), rep))
    assert pairs[0].source_tokens[0] == "Ad\u00e9" and rep.inputs["label_token_mismatches"]["count"] == 0


def test_sentence_count_mismatch_points_at_the_first_differing_sentence(tmp_path, files):
    src, tgt = files
    labels = tmp_path / "short.conll"
    labels.write_text(_sentences("He went to Nairobi .", "They met in Lagos , Nigeria ."), encoding="utf-8")
    with pytest.raises(ParallelFileError, match=rf"2 sentences but .*4 lines.*first label sentence that differs "
                                                rf"from its line: {labels}:7 / {src}:2"):
        list(pairs_from_parallel(src, tgt, "swa", read_conll(labels), SourceReport()))


def test_iob2_repairs_of_the_labels_are_located(tmp_path, files):
    src, tgt = files
    labels = tmp_path / "rep.conll"
    labels.write_text(GOLD.replace("Nairobi B-LOC", "Nairobi I-LOC"), encoding="utf-8")
    rep = SourceReport()
    list(pairs_from_parallel(src, tgt, "swa", read_conll(labels), rep))
    assert rep.inputs["iob2_repairs"] == {"count": 1, "at": [f"{labels}:4: I-LOC without B- turned into B-"]}


def test_parallel_text_files_report_encoding_and_folders(tmp_path, files):
    from silver_ner.builders.conll import InputEncodingError
    from silver_ner.projection.errors import UserError

    src, tgt = files
    tgt.write_bytes(b"Alienda Nairobi.\n\nTupu\xe4.\nWalikutana\n")
    with pytest.raises(InputEncodingError, match=rf"{tgt}:3: .*byte 0xe4"):
        list(pairs_from_parallel(src, tgt, "swa", CapitalTagger(), SourceReport()))
    with pytest.raises(UserError, match=f"{tmp_path}: is a folder"):
        list(pairs_from_parallel(tmp_path, src, "swa", CapitalTagger(), SourceReport()))


def test_french_label_tokens_may_split_elisions_like_the_french_tokeniser(tmp_path):
    src, tgt = tmp_path / "a.fr", tmp_path / "a.ewe"
    src.write_text("Il parle de l’ONU .\nQu'il vienne .\n", encoding="utf-8")
    tgt.write_text("x\ny\n", encoding="utf-8")
    labels = tmp_path / "l.conll"
    labels.write_text("Il O\nparle O\nde O\nl’ O\nONU B-ORG\n. O\n\nQu'il O\nvienne O\n. O\n", encoding="utf-8")
    rep = SourceReport()
    pairs = list(pairs_from_parallel(src, tgt, "ewe", read_conll(labels), rep, source_lang="fra"))
    assert pairs[0].source_tokens == ["Il", "parle", "de", "l’", "ONU", "."]
    assert rep.inputs["label_token_mismatches"]["count"] == 0
    with pytest.raises(ParallelFileError, match="token 4 is 'l’' where the line has 'l’ONU'"):
        list(pairs_from_parallel(src, tgt, "ewe", read_conll(labels), SourceReport()))  # English rules: no split
