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

Which codes exist at all is read from ``data/iso639-3.tsv``, the complete ISO 639-3 code table
(7,910 codes: individual languages, macrolanguages and the special codes ``mis``, ``mul``,
``und``, ``zxx``), with each code's ISO 639-1 and ISO 639-2/B codes, scope, type and reference
name. It was generated with :func:`write_iso639_table` from ``json/iso_639-3.json`` of Debian's
``iso-codes`` package 4.15.0, which follows the tables of the ISO 639-3 registration authority
(SIL International). :func:`check_language` validates a code a user typed against it::

    check_language("swa")  -> "swa"
    check_language("sw")   -> UserError: ... did you mean 'swa' (Swahili (macrolanguage))?
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from silver_ner.projection.errors import UserError

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


# ---------------------------------------------------------------------------------------------
# the ISO 639-3 code table

ISO639_TABLE = Path(__file__).resolve().parent / "data" / "iso639-3.tsv"
ISO639_COLUMNS = ("code", "iso1", "iso2b", "scope", "type", "name")
PRIVATE_USE = ("qaa", "qtz")  # ISO 639-3 reserves qaa..qtz for local use


class Iso639(NamedTuple):
    """One row of the ISO 639-3 table: scope I(ndividual), M(acrolanguage) or S(pecial); type L(iving),
    E(xtinct), A(ncient), H(istorical), C(onstructed) or S(pecial)."""

    code: str
    iso1: str
    iso2b: str
    scope: str
    type: str
    name: str


@lru_cache(maxsize=1)
def iso639_table() -> dict[str, Iso639]:
    """``{code: Iso639}`` of every ISO 639-3 code (read once from the package data)."""
    out: dict[str, Iso639] = {}
    with open(ISO639_TABLE, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if tuple(header) != ISO639_COLUMNS:
            raise RuntimeError(f"{ISO639_TABLE}: unexpected header {header}")
        for line in fh:
            row = Iso639(*line.rstrip("\n").split("\t"))
            out[row.code] = row
    return out


def is_private_use(code: str) -> bool:
    return len(code) == 3 and code.isascii() and code.isalpha() and code.islower() and PRIVATE_USE[0] <= code <= PRIVATE_USE[1]


def _suggest(code: str) -> tuple[Iso639, str] | None:
    """The table row a mistyped code most likely means, and why: another case, an ISO 639-1 or
    639-2/B code, or a language name."""
    table = iso639_table()
    low = code.strip().lower()
    if low in table:
        return table[low], "ISO 639-3 codes are lower case"
    for row in table.values():
        if low == row.iso1:
            return row, "a two-letter ISO 639-1 code"
        if low == row.iso2b:
            return row, "an ISO 639-2/B code"
    if len(low) > 3:
        named = [row for row in table.values() if row.name.lower() == low]
        named = named or [row for row in table.values() if row.name.lower().startswith(low + " (")]
        if named:
            return min(named, key=lambda r: r.scope != "M"), "a language name"  # "Swahili": the macrolanguage first
    return None


def check_language(code: str, *, allow_unlisted: bool = False, what: str = "--lang") -> str:
    """``code`` itself if it is an ISO 639-3 code of a language; :class:`UserError` otherwise.

    Codes are lower case, three letters, listed in the ISO 639-3 table and not one of the
    special codes (``mis``, ``mul``, ``und``, ``zxx``). Two-letter, upper-case and ISO 639-2/B
    codes, and language names, are refused with the code they probably mean; nothing is
    corrected silently. ``allow_unlisted`` accepts any other lower-case three-letter code (a
    private-use code ``qaa``..``qtz``, or a code newer than the table).
    """
    table = iso639_table()
    c = str(code)
    row = table.get(c)
    if row is not None and row.scope != "S":
        return c
    if row is not None:
        raise UserError(f"{what} {c}: {row.name!r} is a special ISO 639-3 code, not a language")
    hint = _suggest(c)
    if hint is not None and hint[0].scope != "S":
        row, why = hint
        raise UserError(f"{what} {c}: not an ISO 639-3 code ({why}); did you mean {row.code!r} ({row.name})?")
    plain = len(c) == 3 and c.isascii() and c.isalpha() and c.islower()
    if plain and allow_unlisted:
        return c
    why = " (reserved for private use)" if is_private_use(c) else ""
    raise UserError(f"{what} {c}: not an ISO 639-3 language code{why}; give a code such as swa, hau or yor "
                    + ("(--allow-unlisted-lang accepts another lower-case three-letter code)" if plain
                       else "(three lower-case letters)"))


def check_translatable(code: str, what: str = "--lang") -> str:
    """``code`` if the translation-model table (:data:`LANGUAGES`) knows it; :class:`UserError` otherwise."""
    try:
        return normalize_iso3(code)
    except KeyError:
        raise UserError(f"{what} {code}: no translation-model code is known for this language (known: "
                        f"{', '.join(sorted(LANGUAGES))})") from None


def write_iso639_table(iso_codes_json: str | os.PathLike, out: str | os.PathLike = ISO639_TABLE) -> int:
    """Write the package's ISO 639-3 table from ``iso_639-3.json`` of Debian's ``iso-codes`` package.

    ``python -m silver_ner.builders.langcodes PATH/TO/iso_639-3.json`` regenerates it. Returns the
    number of codes written.
    """
    with open(iso_codes_json, encoding="utf-8") as fh:
        rows = json.load(fh)["639-3"]
    lines = ["\t".join(ISO639_COLUMNS)]
    for r in sorted(rows, key=lambda r: r["alpha_3"]):
        fields = [r["alpha_3"], r.get("alpha_2", ""), r.get("bibliographic", ""), r["scope"], r["type"], r["name"]]
        if any("\t" in f or "\n" in f for f in fields):
            raise ValueError(f"{iso_codes_json}: a tab or newline in the row of {r['alpha_3']}")
        lines.append("\t".join(fields))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(rows)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m silver_ner.builders.langcodes PATH/TO/iso-codes/json/iso_639-3.json")
    print(f"{write_iso639_table(sys.argv[1])} codes written to {ISO639_TABLE}")
