"""Tiny randomly initialised transformers models built on the spot, for fast offline tests."""

from __future__ import annotations

import json
import string
from pathlib import Path

WORDS = (
    "the a of and in to is was on for with by at from European Union Parliament Commission "
    "John Smith Paris Berlin Nairobi Kenya Lagos Ade Chinedu Amina Europa Union Kommission "
    "die der das und ist in von mit Rais Kenyatta alisema kwamba leo Bunge la Ulaya "
    "Ọba ilé ẹ̀kọ́ Yoruba"
).split()


def build_tiny_tokenizer(path: Path):
    """A fast WordPiece tokenizer with a few whole words plus every letter, so no text is unknown."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_letters + string.digits + string.punctuation) + list("ọẹṣáéíóúàèìòùńḿ\u0301\u0300\u0323")
    vocab = {}
    for tok in specials + sorted(set(WORDS)) + chars + ["##" + c for c in chars]:
        vocab.setdefault(tok, len(vocab))
    tk = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    from tokenizers.processors import TemplateProcessing

    tk.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    fast.save_pretrained(path)
    return fast


# -- a context-free word classifier: known labels for known words -------------------------------

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
YORUBA = "ẹ̀kọ́"  # NFC in the tiny vocabulary; the gold files carry it decomposed
TRIGGERS = {"Nairobi": "B-LOC", "John": "B-PER", "Smith": "I-PER", YORUBA: "B-ORG"}


def word_classifier_config(tok, layers: int, **kw):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=128, num_labels=len(LABELS),
                      id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)},
                      pad_token_id=tok.pad_token_id, **kw)


def build_word_classifier(path: Path, *, nfc_in_tokenizer: bool = True) -> Path:
    """A context-free tiny classifier: no encoder layers, each trigger word's first subword gets
    its label from :data:`TRIGGERS`, every other subword ``O``, whatever its position."""
    import torch
    from transformers import BertForTokenClassification

    tok = build_tiny_tokenizer(path)
    if not nfc_in_tokenizer:
        tok.backend_tokenizer.normalizer = None
        tok.save_pretrained(path)
    model = BertForTokenClassification(word_classifier_config(tok, 0))
    emb = model.bert.embeddings
    with torch.no_grad():
        for p in (emb.word_embeddings.weight, emb.position_embeddings.weight, emb.token_type_embeddings.weight,
                  model.classifier.weight, model.classifier.bias):
            p.zero_()
        emb.LayerNorm.weight.fill_(1.0)
        emb.LayerNorm.bias.zero_()
        for dim, (word, label) in enumerate(TRIGGERS.items()):
            ids = tok(word, add_special_tokens=False)["input_ids"]
            assert len(ids) == 1, word
            emb.word_embeddings.weight[ids[0], dim] = 10.0  # after LayerNorm: about 3.9 on ``dim``
            model.classifier.weight[LABELS.index(label), dim] = 4.0
        model.classifier.bias[0] = 2.0  # plain words: O
    model.save_pretrained(path)
    return path


def build_tiny_bert(path: Path, *, layers: int = 3, hidden: int = 32, seed: int = 0) -> Path:
    """Save a tiny random BertModel and its tokenizer in ``path``; returns the path."""
    import torch
    from transformers import BertConfig, BertModel

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = build_tiny_tokenizer(path)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=128,
        pad_token_id=tok.pad_token_id,
    )
    BertModel(config).save_pretrained(path)
    return path


# --------------------------------------------------------------------------- translation models

SENTENCES = (
    "John Smith visited Paris on Monday.",
    "The European Union said the Commission met in Berlin.",
    "Amina works for the United Nations in Nairobi, Kenya.",
    "Chinedu and Ade travelled from Lagos to Abuja last year.",
    "The European Parliament voted on the new law.",
    "President Kenyatta spoke to the press in Mombasa.",
    "She said that the meeting was held at the school.",
    "Rais Kenyatta alisema kwamba Bunge la Ulaya lilikutana leo.",
    "Amina anafanya kazi katika Umoja wa Mataifa jijini Nairobi.",
    "John Smith alitembelea Paris siku ya Jumatatu.",
    "Wanafunzi walikwenda shuleni asubuhi na mapema.",
    "Serikali ya Kenya imetangaza mpango mpya wa elimu.",
    "Ọba ilé ẹ̀kọ́ sọ pé ìpàdé náà yóò wáyé lónìí.",
    "Adé àti Chinedu lọ sí Èkó ní ọdún tó kọjá.",
    "Àwọn ọmọ ilé ẹ̀kọ́ kọ́ èdè Yorùbá.",
    "Die Europäische Kommission hat in Berlin getagt.",
    "Der Präsident sprach mit der Presse in Paris.",
    "Das Parlament stimmte über das neue Gesetz ab.",
    "Le président a parlé à la presse à Paris.",
    "La Commission européenne s'est réunie à Bruxelles.",
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs: 1, 2, 3, 4, 5, 6, 7, 8, 9, 0!",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG?",
    "(Numbers) [brackets] 'quotes' \"double\" - dash; semi-colon.",
)


def train_tiny_sentencepiece(workdir: Path, *, vocab_size: int = 160) -> Path:
    """Train a small sentencepiece model on :data:`SENTENCES`; returns the ``.model`` file."""
    import sentencepiece as spm

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = workdir / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(workdir / "spm"), vocab_size=vocab_size, hard_vocab_limit=False,
        character_coverage=1.0, model_type="unigram", minloglevel=2,
    )
    return workdir / "spm.model"


def _spm_pieces(model_file: Path, skip: set[str]) -> list[str]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    return [p for p in (sp.id_to_piece(i) for i in range(sp.get_piece_size())) if p not in skip]


def build_tiny_m2m100(path: Path, *, language_codes: str = "m2m100", seed: int = 0) -> Path:
    """Save a tiny random M2M100 model with an ``M2M100Tokenizer`` (``__sw__``-style language tokens) in ``path``.

    ``language_codes`` is the tokenizer's language set: ``"m2m100"`` (100 languages) or ``"wmt21"`` (8).
    """
    import tempfile

    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        model_file = train_tiny_sentencepiece(Path(work))
        specials = ["<s>", "<pad>", "</s>", "<unk>"]  # fairseq dictionary order
        vocab = {t: i for i, t in enumerate(specials + _spm_pieces(model_file, set(specials)))}
        vocab_file = Path(work) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        # released checkpoints list the language tokens as additional special tokens, so that they are
        # found in the vocabulary and dropped when decoding; the constructor does not add them itself
        lang_tokens = [f"__{c}__" for c in FAIRSEQ_LANGUAGE_CODES[language_codes]]
        tok = M2M100Tokenizer(vocab_file=str(vocab_file), spm_file=str(model_file), src_lang="en",
                              language_codes=language_codes, additional_special_tokens=lang_tokens,
                              model_max_length=64)
        tok.save_pretrained(path)
    torch.manual_seed(seed)
    vocab_size = max(tok.get_vocab().values()) + 1 + tok.num_madeup_words
    cfg = M2M100Config(vocab_size=vocab_size, d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                       max_position_embeddings=64, pad_token_id=vocab["<pad>"], bos_token_id=vocab["<s>"],
                       eos_token_id=vocab["</s>"], decoder_start_token_id=vocab["</s>"])
    M2M100ForConditionalGeneration(cfg).save_pretrained(path)
    return path


def build_tiny_marian(path: Path, *, target_codes: tuple[str, ...] = ("swa", "yor", "ha"), source_lang: str = "en",
                      target_lang: str | None = None, seed: int = 0) -> Path:
    """Save a tiny random Marian (OPUS-MT style) model and ``MarianTokenizer`` in ``path``.

    With ``target_codes`` the shared vocabulary has one ``>>xxx<<`` token per target language,
    as multi-target OPUS-MT models do; with none it is a single-pair model into ``target_lang``.
    """
    import tempfile

    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        model_file = train_tiny_sentencepiece(Path(work))
        # OPUS-MT layout: </s> 0, <unk> 1, the target language tokens, the pieces, <pad> last
        tokens = ["</s>", "<unk>"] + [f">>{c}<<" for c in target_codes]
        tokens += _spm_pieces(model_file, {"<unk>", "<s>", "</s>"}) + ["<pad>"]
        vocab = {t: i for i, t in enumerate(tokens)}
        vocab_file = Path(work) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tok = MarianTokenizer(source_spm=str(model_file), target_spm=str(model_file), vocab=str(vocab_file),
                              source_lang=source_lang, target_lang=target_lang, model_max_length=64)
        tok.save_pretrained(path)
    torch.manual_seed(seed)
    pad = vocab["<pad>"]
    cfg = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                       max_position_embeddings=64, pad_token_id=pad, eos_token_id=vocab["</s>"],
                       decoder_start_token_id=pad, forced_eos_token_id=vocab["</s>"])
    MarianMTModel(cfg).save_pretrained(path)
    return path
