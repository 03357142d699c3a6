"""ISO 639-3 language codes and the codes translation models use for them.

Signatures::

    model_code(iso3, family) -> str         # "swa", "nllb" -> "swh_Latn"; "swa", "m2m100" -> "sw"
    candidates(iso3, family) -> list[str]   # every code worth trying, best first
    normalize_iso3(code) -> str             # "sw" / "swh" / "SWA" -> "swa"

Families: ``nllb`` (FLORES-200 codes such as ``yor_Latn``), ``m2m100`` (ISO 639-1 such as
``yo``, with a few three-letter exceptions) and ``marian`` (multi-target OPUS-MT models use
``>>xxx<<`` target tokens; the candidates are the ISO 639-3 code, its individual-language
variant and the ISO 639-1 code). Whether a model really covers a language is checked against
its tokenizer by :class:`~silver_ner.builders.translate.HFTranslator`; this table only says
what the code would be.
"""

from __future__ import annotations

# iso3: (nllb, iso1 or None). Covers the MasakhaNER 2.0 languages and common ones.
LANGUAGES: dict[str, tuple[str | None, str | None]] = {
    # MasakhaNER 2.0
    "bam": ("bam_Latn", None),
    "bbj": (None, None),  # Ghomala: not in NLLB-200 or M2M100
    "ewe": ("ewe_Latn", None),
    "fon": ("fon_Latn", None),
    "hau": ("hau_Latn", "ha"),
    "ibo": ("ibo_Latn", "ig"),
    "kin": ("kin_Latn", None),
    "lug": ("lug_Latn", "lg"),
    "luo": ("luo_Latn", None),
    "mos": ("mos_Latn", None),
    "nya": ("nya_Latn", None),
    "pcm": (None, None),  # Nigerian Pidgin: not in NLLB-200 or M2M100
    "sna": ("sna_Latn", None),
    "swa": ("swh_Latn", "sw"),
    "tsn": ("tsn_Latn", "tn"),
    "twi": ("twi_Latn", None),
    "wol": ("wol_Latn", "wo"),
    "xho": ("xho_Latn", "xh"),
    "yor": ("yor_Latn", "yo"),
    "zul": ("zul_Latn", "zu"),
    # other African languages
    "amh": ("amh_Ethi", "am"),
    "som": ("som_Latn", "so"),
    "orm": ("gaz_Latn", None),
    "tir": ("tir_Ethi", None),
    "afr": ("afr_Latn", "af"),
    "lin": ("lin_Latn", "ln"),
    "kik": ("kik_Latn", None),
    "run": ("run_Latn", None),
    "sot": ("sot_Latn", None),
    "nso": ("nso_Latn", "ns"),
    "ssw": ("ssw_Latn", "ss"),
    "tso": ("tso_Latn", None),
    "ful": ("fuv_Latn", "ff"),
    "mlg": ("plt_Latn", "mg"),
    "aka": ("aka_Latn", None),
    # common languages
    "eng": ("eng_Latn", "en"),
    "fra": ("fra_Latn", "fr"),
    "deu": ("deu_Latn", "de"),
    "spa": ("spa_Latn", "es"),
    "por": ("por_Latn", "pt"),
    "ita": ("ita_Latn", "it"),
    "nld": ("nld_Latn", "nl"),
    "ara": ("arb_Arab", "ar"),
    "zho": ("zho_Hans", "zh"),
    "rus": ("rus_Cyrl", "ru"),
    "hin": ("hin_Deva", "hi"),
    "jpn": ("jpn_Jpan", "ja"),
    "kor": ("kor_Hang", "ko"),
    "tur": ("tur_Latn", "tr"),
    "vie": ("vie_Latn", "vi"),
    "ind": ("ind_Latn", "id"),
    "pol": ("pol_Latn", "pl"),
    "ukr": ("ukr_Cyrl", "uk"),
    "fin": ("fin_Latn", "fi"),
    "est": ("est_Latn", "et"),
    "ceb": ("ceb_Latn", "ceb"),
    "ast": ("ast_Latn", "ast"),
    "ilo": ("ilo_Latn", "ilo"),
}

# Individual-language codes and two-letter codes users may type, mapped to the table's keys.
ALIASES = {"swh": "swa", "gaz": "orm", "plt": "mlg", "fuv": "ful", "arb": "ara", "cmn": "zho", "aka": "aka"}
for _iso3, (_nllb, _iso1) in LANGUAGES.items():
    if _iso1 and len(_iso1) == 2:
        ALIASES.setdefault(_iso1, _iso3)
ALIASES["tw"] = "twi"
ALIASES["ny"] = "nya"
ALIASES["sn"] = "sna"
ALIASES["rw"] = "kin"
ALIASES["ee"] = "ewe"
ALIASES["bm"] = "bam"

FAMILIES = ("nllb", "m2m100", "marian")


def normalize_iso3(code: str) -> str:
    """The table's ISO 639-3 key for ``code`` (case-insensitive; ISO 639-1 and a few variants accepted)."""
    c = str(code).strip().lower()
    if c in LANGUAGES:
        return c
    if c in ALIASES:
        return ALIASES[c]
    raise KeyError(f"unknown language code {code!r}; give an ISO 639-3 code such as "
                   f"{', '.join(sorted(LANGUAGES)[:8])}, ...")


def candidates(iso3: str, family: str) -> list[str]:
    """Model codes that could stand for ``iso3`` in ``family``, best first (may be empty)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    key = normalize_iso3(iso3)
    nllb, iso1 = LANGUAGES[key]
    if family == "nllb":
        return [nllb] if nllb else []
    if family == "m2m100":
        return [iso1] if iso1 else []
    out = [key]
    if nllb and nllb[:3] != key:
        out.append(nllb[:3])
    if iso1:
        out.append(iso1)
    return out


def model_code(iso3: str, family: str) -> str:
    """The first candidate code; ``KeyError`` when the family has no code for the language."""
    c = candidates(iso3, family)
    if not c:
        raise KeyError(f"language {iso3!r} has no {family} code (the model family does not cover it)")
    return c[0]
