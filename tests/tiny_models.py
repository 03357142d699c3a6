"""Tiny randomly initialised transformers models built on the spot, for fast offline tests."""

from __future__ import annotations

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
