"""Token normalisation of training and evaluation sentences.

Label sets and mappings between them live in :mod:`silver_ner.projection.labels`.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence


def nfc(tokens: Sequence[str]) -> list[str]:
    """Unicode NFC of each token (composed tone marks, e.g. Yoruba ẹ́ as one code point where possible)."""
    return [unicodedata.normalize("NFC", t) for t in tokens]
