import string

import pytest

from silver_ner.builders import langcodes
from silver_ner.builders.conll import read_conll
from silver_ner.builders.sources import SourceReport
from silver_ner.builders.translate import (
    HFTranslator, TranslationCache, mark_entities, pairs_from_translation, read_markers, translate_with_markers)
from silver_ner.projection.protocols import Translator
from silver_ner.projection.spans import Span

LANG_TOKENS = ["eng_Latn", "swh_Latn", "yor_Latn"]


@pytest.fixture(scope="module")
def tiny_nllb(tmp_path_factory):
    """A tiny random NLLB-style model (M2M100 architecture) with a character tokenizer and three language codes."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    path = tmp_path_factory.mktemp("tiny-nllb")
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for ch in ["\u2581"] + list(string.ascii_letters + string.digits + ".,[]()'"):
        vocab.setdefault(ch, len(vocab))
    tok = NllbTokenizer(vocab=vocab, merges=[], additional_special_tokens=LANG_TOKENS, model_max_length=64)
    tok.save_pretrained(path)
    torch.manual_seed(0)
    cfg = M2M100Config(vocab_size=len(tok), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
                       pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
    M2M100ForConditionalGeneration(cfg).save_pretrained(path)
    return path


def test_language_code_tables():
    assert langcodes.model_code("swa", "nllb") == "swh_Latn"
    assert langcodes.model_code("yor", "m2m100") == "yo"
    assert langcodes.model_code("sw", "nllb") == "swh_Latn"  # ISO 639-1 accepted
    assert "swa" in langcodes.candidates("swa", "marian") and "sw" in langcodes.candidates("swa", "marian")
    masakhaner = "bam ewe fon hau ibo kin lug luo mos nya sna swa tsn twi wol xho yor zul".split()
    assert all(langcodes.model_code(l, "nllb").startswith(l if l != "swa" else "swh") for l in masakhaner)
    with pytest.raises(KeyError, match="pcm.*no nllb code"):
        langcodes.model_code("pcm", "nllb")
    with pytest.raises(KeyError, match="unknown language code 'xx'"):
        langcodes.normalize_iso3("xx")


def test_translate_caches_and_keeps_order(tiny_nllb, tmp_path):
    cache = tmp_path / "tr.sqlite"
    tr = HFTranslator(tiny_nllb, batch_size=2, num_beams=2, max_length=20, cache_path=cache)
    assert isinstance(tr, Translator) and tr.family == "nllb"
    assert tr.language_code("swa") == "swh_Latn"
    sents = ["a b c d e f g h", "Hi", "The EU said.", "Hi", "x y"]
    first = tr.translate(sents, "eng", "swa")
    assert len(first) == 5 and first[1] == first[3]
    assert tr.stats["translated"] == 4 and tr.stats["from_cache"] == 0
    # order: one sentence at a time gives the same outputs as the length-sorted batches
    fresh = HFTranslator(tiny_nllb, batch_size=1, num_beams=2, max_length=20, cache_path=tmp_path / "other.sqlite")
    assert [fresh.translate([s], "eng", "swa")[0] for s in sents[:3]] == first[:3]
    # a fresh translator on the same model and cache translates nothing
    again = HFTranslator(tiny_nllb, batch_size=3, num_beams=2, max_length=20, cache_path=cache)
    assert again.translate(sents, "eng", "swa") == first
    assert again.stats["translated"] == 0 and again.stats["from_cache"] == 5
    assert len(TranslationCache(cache)) == 4
    # another target language is another cache entry
    again.translate(sents[:1], "eng", "yor")
    assert again.stats["translated"] == 1


def test_language_errors_and_long_inputs(tiny_nllb, tmp_path):
    tr = HFTranslator(tiny_nllb, num_beams=1, max_length=12, cache_path=tmp_path / "c.sqlite")
    with pytest.raises(ValueError, match=r"does not cover language 'hau' \(looked for hau_Latn"):
        tr.translate(["x"], "eng", "hau")
    with pytest.raises(ValueError, match="does not cover language 'pcm': the nllb family has no code"):
        tr.translate(["x"], "eng", "pcm")
    with pytest.raises(ValueError, match="sentence 1: .* more than max_length=12"):
        tr.translate(["ok", "this sentence is far too long"], "eng", "swa")
    split = HFTranslator(tiny_nllb, num_beams=1, max_length=12, cache_path=tmp_path / "c.sqlite", long_input="split")
    out = split.translate(["ok", "this sentence is far too long"], "eng", "swa")
    assert len(out) == 2 and split.stats["split_inputs"] == 1


def test_pairs_from_translation(tiny_nllb, tmp_path):
    gold = tmp_path / "g.conll"
    gold.write_text("John B-PER\nsaid O\n. O\n\nIn O\nParis B-LOC\n", encoding="utf-8")
    tr = HFTranslator(tiny_nllb, num_beams=1, max_length=16, cache_path=tmp_path / "c.sqlite")
    rep = SourceReport()
    pairs = list(pairs_from_translation(read_conll(gold), tr, "yor", rep))
    by_name = list(pairs_from_translation(read_conll(gold), str(tiny_nllb), "yor", SourceReport(), num_beams=1,
                                          max_length=16, cache_path=tmp_path / "c.sqlite"))
    assert [p.target_tokens for p in by_name] == [p.target_tokens for p in pairs]
    assert rep.read == 2 and rep.paired + sum(rep.dropped.values()) == 2
    for p in pairs:
        assert p.target_lang == "yor" and p.origin["translator"] == tr.identity
        assert p.target_tokens
    assert pairs[0].source_spans == [Span(0, 1, "PER")]


class FakeTranslator:
    identity = "fake"

    def __init__(self, table):
        self.table = table

    def translate(self, sentences, source_lang, target_lang):
        return [self.table[s] for s in sentences]


def test_marker_translation_matches_pieces_back():
    toks = ["John", "Smith", "met", "the", "European", "Union", "in", "Paris", "."]
    spans = [Span(0, 2, "PER"), Span(4, 6, "ORG"), Span(7, 8, "LOC")]
    text = mark_entities(toks, spans)
    assert text == "[John Smith] met the [European Union] in [Paris]."
    # the translation reorders entities and loses one marker
    fake = FakeTranslator({text: "Huko [Parisi], [Jon Smith] alikutana na Umoja wa Ulaya."})
    (res,) = translate_with_markers([(toks, spans)], fake, "eng", "swa")
    assert res.tokens == ["Huko", "Parisi", ",", "Jon", "Smith", "alikutana", "na", "Umoja", "wa", "Ulaya", "."]
    assert res.spans == [Span(1, 2, "LOC"), Span(3, 5, "PER")]
    assert res.source_of == [2, 0] and res.lost == 1 and res.extra == 0


def test_marker_reader_counts_stray_and_extra_brackets():
    res = read_markers("[Ade] na [leo] ] wa", ["Ade"], ["PER"])
    assert res.spans == [Span(0, 1, "PER")] and res.extra == 1 and res.stray == 1 and res.lost == 0
    assert res.tokens == ["Ade", "na", "leo", "wa"]


class _VocabTokenizer:
    def __init__(self, tokens, name="M2M100Tokenizer"):
        self._vocab = {t: i for i, t in enumerate(tokens)}
        self.__class__ = type(name, (_VocabTokenizer,), {})

    def get_vocab(self):
        return self._vocab


def _bare_translator(family, tokens, name="x"):
    """An HFTranslator shell (no model) to check language-code lookup for families the tests cannot build."""
    tr = HFTranslator.__new__(HFTranslator)
    tr.name, tr.family, tr.tokenizer = name, family, _VocabTokenizer(tokens)
    return tr


def test_language_codes_for_m2m100_and_marian():
    m2m = _bare_translator("m2m100", ["__en__", "__sw__", "__yo__"])
    assert m2m.language_code("swa") == "sw" and m2m.language_code("yor") == "yo"
    with pytest.raises(ValueError, match=r"does not cover language 'ibo' \(looked for __ig__"):
        m2m.language_code("ibo")
    multi = _bare_translator("marian", [">>swa<<", ">>yor<<", "▁the"])
    assert multi.language_code("swa") == "swa"
    with pytest.raises(ValueError, match="looked for >>hau<<, >>ha<<"):
        multi.language_code("hau")
    single = _bare_translator("marian", ["▁the", "▁wa"])
    assert single.language_code("swa") is None  # one fixed target language
    single.tokenizer.target_lang = "sw"
    assert single.language_code("swa") is None
    with pytest.raises(ValueError, match="translates into 'sw' only"):
        single.language_code("yor")
