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
# MarianTokenizer suggests sacremoses for punctuation normalisation, which these tests do not need
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")


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
    """An HFTranslator shell (no model) to check language-code lookup against a bare vocabulary."""
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


# --------------------------------------------------------------------------- M2M100 and Marian models

SENTS = ["John Smith.", "Hi", "Rais alisema leo.", "Hi", "Paris."]


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    """Multi-target: ``>>swa<<``, ``>>yor<<`` and ``>>ha<<`` target tokens."""
    pytest.importorskip("sentencepiece")
    from tiny_models import build_tiny_marian

    return build_tiny_marian(tmp_path_factory.mktemp("tiny-marian"))


def _check_translations(tr, tmp_path, target, n_distinct):
    first = tr.translate(SENTS, "eng", target)
    assert len(first) == len(SENTS) and all(isinstance(t, str) for t in first) and first[1] == first[3]
    assert tr.stats["translated"] == n_distinct and tr.stats["from_cache"] == 0
    # deterministic: a fresh translator with its own cache gives the same outputs
    fresh = HFTranslator(tr.name, batch_size=4, num_beams=2, max_length=16, cache_path=tmp_path / "other.sqlite")
    assert fresh.translate(SENTS, "eng", target) == first and fresh.stats["translated"] == n_distinct
    # and the first cache answers everything on a rerun
    again = HFTranslator(tr.name, batch_size=2, num_beams=2, max_length=16, cache_path=tmp_path / "tr.sqlite")
    assert again.translate(SENTS, "eng", target) == first
    assert again.stats["translated"] == 0 and again.stats["from_cache"] == len(SENTS)
    return first


def _record_generate(tr):
    """Wrap ``tr.model.generate`` to keep the arguments of every call."""
    calls, generate = [], tr.model.generate

    def spy(**kwargs):
        calls.append(kwargs)
        return generate(**kwargs)

    tr.model.generate = spy
    return calls


def test_m2m100_translates(tiny_m2m100, tmp_path):
    tr = HFTranslator(tiny_m2m100, batch_size=2, num_beams=2, max_length=16, cache_path=tmp_path / "tr.sqlite")
    assert isinstance(tr, Translator) and tr.family == "m2m100"
    assert tr.language_code("swa") == "sw" and tr.language_code("yor") == "yo" and tr.language_code("eng") == "en"
    calls = _record_generate(tr)
    out = _check_translations(tr, tmp_path, "swa", 4)
    assert not any("__sw__" in t or "__en__" in t for t in out)  # language tokens are not decoded
    # source language token first, target language token forced as the first generated token
    tok = tr.tokenizer
    assert calls and all(c["forced_bos_token_id"] == tok.convert_tokens_to_ids("__sw__") for c in calls)
    assert all(row[0] == tok.convert_tokens_to_ids("__en__") for c in calls for row in c["input_ids"].tolist())
    # another target language is another cache entry
    tr.translate(SENTS[:1], "eng", "yor")
    assert tr.stats["translated"] == 5 and calls[-1]["forced_bos_token_id"] == tok.convert_tokens_to_ids("__yo__")


def test_m2m100_language_errors(tiny_m2m100, tmp_path):
    tr = HFTranslator(tiny_m2m100, num_beams=1, max_length=12, cache_path=tmp_path / "c.sqlite")
    with pytest.raises(ValueError, match="does not cover language 'twi': the m2m100 family has no code"):
        tr.translate(["x"], "eng", "twi")
    with pytest.raises(ValueError, match="does not cover language 'pcm'"):
        tr.translate(["x"], "pcm", "swa")  # the source language is checked too
    # a tokenizer with a smaller language set (the WMT21 models: en, ha, is, ja, cs, ru, zh, de)
    from tiny_models import build_tiny_m2m100

    wmt = HFTranslator(build_tiny_m2m100(tmp_path / "wmt21", language_codes="wmt21"), num_beams=1,
                       max_length=12, cache_path=tmp_path / "c.sqlite")
    assert wmt.family == "m2m100" and wmt.language_code("hau") == "ha"
    with pytest.raises(ValueError, match=r"does not cover language 'swa' \(looked for __sw__"):
        wmt.translate(["x"], "eng", "swa")
    assert len(wmt.translate(["x y", "z"], "eng", "hau")) == 2


def test_marian_multi_target_translates(tiny_marian, tmp_path):
    tr = HFTranslator(tiny_marian, batch_size=2, num_beams=2, max_length=16, cache_path=tmp_path / "tr.sqlite")
    assert isinstance(tr, Translator) and tr.family == "marian"
    assert tr.language_code("swa") == "swa" and tr.language_code("swh") == "swa" and tr.language_code("yor") == "yor"
    assert tr.language_code("hau") == "ha"  # >>hau<< is missing, the ISO 639-1 token >>ha<< is used
    calls = _record_generate(tr)
    _check_translations(tr, tmp_path, "swa", 4)
    # the target token starts every input; Marian models get no source code and no forced first token
    swa = tr.tokenizer.convert_tokens_to_ids(">>swa<<")
    assert calls and all(row[0] == swa for c in calls for row in c["input_ids"].tolist())
    assert not any("forced_bos_token_id" in c for c in calls)
    tr.translate(SENTS[:1], "eng", "hau")
    assert calls[-1]["input_ids"][0, 0].item() == tr.tokenizer.convert_tokens_to_ids(">>ha<<")


def test_marian_language_errors(tiny_marian, tmp_path):
    tr = HFTranslator(tiny_marian, num_beams=1, max_length=12, cache_path=tmp_path / "c.sqlite")
    with pytest.raises(ValueError, match=r"does not cover language 'ibo' \(looked for >>ibo<<, >>ig<<"):
        tr.translate(["x"], "eng", "ibo")
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        tr.translate(["x"], "eng", "xx")
    # the source language is not a model code for Marian, but it must still be a known language
    assert len(tr.translate(["x"], "deu", "swa")) == 1


def test_marian_single_pair(tmp_path):
    pytest.importorskip("sentencepiece")
    from tiny_models import build_tiny_marian

    path = build_tiny_marian(tmp_path / "en-sw", target_codes=(), source_lang="en", target_lang="sw")
    tr = HFTranslator(path, batch_size=2, num_beams=2, max_length=16, cache_path=tmp_path / "tr.sqlite")
    assert tr.family == "marian" and tr.language_code("swa") is None
    with pytest.raises(ValueError, match="translates into 'sw' only, not 'yor'"):
        tr.translate(["x"], "eng", "yor")
    calls = _record_generate(tr)
    _check_translations(tr, tmp_path, "swa", 4)
    # the input is the sentence alone: nothing in front
    alone = {tuple(tr.tokenizer(s)["input_ids"]) for s in SENTS}
    pad = tr.tokenizer.pad_token_id
    assert all(tuple(i for i in row if i != pad) in alone for c in calls for row in c["input_ids"].tolist())


def test_outputs_cut_at_max_length_are_counted(tiny_m2m100, tiny_marian, tmp_path):
    """M2M100 starts decoding with the end token and OPUS-MT forces one at max_length: neither hides a cut output."""
    import torch

    for path in (tiny_m2m100, tiny_marian):
        tr = HFTranslator(path, num_beams=1, max_length=5, cache_path=tmp_path / "c.sqlite")
        start, eos = tr.model.generation_config.decoder_start_token_id, tr.model.generation_config.eos_token_id
        pad, word = tr.tokenizer.pad_token_id, tr.tokenizer.convert_tokens_to_ids("▁")
        rows = [[start, word, word, word, word],  # cut, no end token
                [start, word, word, word, eos],  # cut, end token forced at max_length
                [start, word, eos, pad, pad]]  # finished
        tr.model.generate = lambda **kw: torch.tensor(rows[: kw["input_ids"].shape[0]])
        tr.translate(["a", "b", "c"], "eng", "swa")
        assert tr.stats["outputs_at_max_length"] == 2, path
