"""Named readers for the gold NER sets: MasakhaNER 2.0, CoNLL-2003, Europarl gold, WikiANN.

Signatures::

    resolve_gold(spec, data_root=None) -> GoldSpec
    read_gold(spec, data_root=None, normalize=None, labels=None) -> GoldSet
    load_gold_hub(spec, repo=None, revision=None, normalize=None, labels=None) -> GoldSet

A *spec* names a dataset, a language and a split: ``masakhaner2:swa:test``,
``conll2003:eng:train`` (or ``conll2003:train``), ``europarl:de`` (one split, ``test``),
``wikiann:yor:dev``. ``read_gold`` reads the local files laid out as in the project's data
folder (``<data_root>/masakhaner2/<lang>/<split>.txt``, ...); ``load_gold_hub`` reads the same
set through :func:`datasets.load_dataset` (``masakhane/masakhaner2``, ``conll2003``,
``wikiann``) for users with Hub access. Both return a :class:`GoldSet`: a
:class:`~silver_ner.builders.conll.ConllFile` whose sentences carry ``tokens`` and IOB2
``tags``, plus the dataset's label set. Entity types outside the requested label set (e.g.
``MISC`` in the Hub's CoNLL-2003 when reading PER/ORG/LOC) become ``O`` and are counted in
``GoldSet.removed``; never dropped silently.

``normalize="NFC"`` composes decomposed tone marks (Yoruba, Ewe), which matters for
subword tokenizers.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from silver_ner.projection.spans import Span, repair_tags, spans_to_tags, tags_to_spans

from .conll import ConllFile, InputNotFoundError, Sentence, read_conll
from .corpora import CORPORA  # the one table of corpora: Hub ids, licences, citations
from silver_ner.projection.errors import UserError

DATA_ENV = "SILVER_NER_DATA"
DEPRECATED_DATA_ENV = "SILVER_NER_SHARED_DATA"  # the old name, still read (with a warning) when DATA_ENV is unset


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    labels: tuple[str, ...]
    splits: tuple[str, ...]
    local: str  # path template under the data root: {lang}, {split}
    hub_repo: str
    hub_config: str  # template for the Hub config name: {lang}, {lang2}
    default_lang: str | None = None
    optional_labels: tuple[str, ...] = ()  # accepted in files, not in the default label set


DATASETS: dict[str, DatasetInfo] = {
    "masakhaner2": DatasetInfo(
        "masakhaner2", ("PER", "ORG", "LOC", "DATE"), ("train", "dev", "test"),
        "masakhaner2/{lang}/{split}.txt", CORPORA["masakhaner2"].hub_id, "{lang}",
    ),
    "conll2003": DatasetInfo(
        "conll2003", ("PER", "ORG", "LOC"), ("train", "dev", "test"),
        "conll2003_en/{split}.txt", CORPORA["conll2003"].hub_id, "", default_lang="eng", optional_labels=("MISC",),
    ),
    "europarl": DatasetInfo(
        "europarl", ("PER", "ORG", "LOC", "MISC"), ("test",),
        "europarl_gold/{lang2}.conll", "", "",
    ),
    "wikiann": DatasetInfo(
        "wikiann", ("PER", "ORG", "LOC"), ("train", "dev", "test"),
        "wikiann_rahimi/{lang}/{split}.txt", CORPORA["wikiann"].hub_id, "{lang2}",
    ),
}

# ISO 639-3 -> ISO 639-1 where one exists, for file and config names that use two letters.
_TWO_LETTER = {
    "eng": "en", "deu": "de", "spa": "es", "ita": "it", "fra": "fr", "swa": "sw", "yor": "yo",
    "ibo": "ig", "hau": "ha", "kin": "rw", "lug": "lg", "nya": "ny", "sna": "sn", "tsn": "tn",
    "twi": "tw", "wol": "wo", "ewe": "ee", "bam": "bm", "zul": "zu", "xho": "xh", "amh": "am",
    "som": "so", "por": "pt", "nld": "nl", "ara": "ar",
}
_THREE_LETTER = {v: k for k, v in _TWO_LETTER.items()}

class GoldSpecError(UserError, KeyError):
    """A gold spec that names no known dataset, language or split (also a :class:`KeyError`)."""

    def __str__(self) -> str:  # the message, not KeyError's quoted repr
        return str(self.args[0]) if self.args else ""


# The Hub names dev splits "validation".
_HUB_SPLIT = {"dev": "validation"}


@dataclass(frozen=True)
class GoldSpec:
    dataset: str
    lang: str
    split: str
    info: DatasetInfo

    def __str__(self) -> str:
        return f"{self.dataset}:{self.lang}:{self.split}"

    def local_path(self, data_root: str | os.PathLike) -> Path:
        rel = self.info.local.format(lang=self.lang, lang2=_TWO_LETTER.get(self.lang, self.lang), split=self.split)
        return Path(data_root) / rel


@dataclass
class GoldSet(ConllFile):
    """A gold file with its spec and label set; ``removed`` counts spans of other types turned into ``O``."""

    spec: str = ""
    label_set: tuple[str, ...] = ()
    removed: dict[str, int] = field(default_factory=dict)
    normalized: int = 0  # tokens changed by Unicode normalisation

    @property
    def records(self) -> list[tuple[list[str], list[str]]]:
        return [(s.tokens, s.tags) for s in self.sentences]


def default_data_root() -> Path:
    """``$SILVER_NER_DATA`` if set, else ``../shared/data`` beside the project.

    ``$SILVER_NER_SHARED_DATA``, the old name, is still read when ``$SILVER_NER_DATA`` is unset,
    with a ``FutureWarning``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    old = os.environ.get(DEPRECATED_DATA_ENV)
    if old:
        import warnings

        warnings.warn(f"{DEPRECATED_DATA_ENV} is deprecated; set {DATA_ENV} (the data folder) instead",
                      FutureWarning, stacklevel=2)
        return Path(old)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def resolve_gold(spec: str, data_root: str | os.PathLike | None = None) -> GoldSpec:
    """Parse ``dataset:lang:split`` (language and split optional where the dataset has one choice)."""
    parts = [p.strip() for p in str(spec).split(":")]
    name = parts[0].lower()
    if name not in DATASETS:
        raise GoldSpecError(f"gold spec {spec!r}: unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    info = DATASETS[name]
    rest = parts[1:]
    if len(rest) > 2:
        raise GoldSpecError(f"gold spec {spec!r}: expected dataset:lang:split")
    lang = split = None
    if len(rest) == 2:
        lang, split = rest
    elif len(rest) == 1:
        if rest[0] in info.splits:
            split = rest[0]
        else:
            lang = rest[0]
    if split is not None and split not in info.splits:
        raise GoldSpecError(f"gold spec {spec!r}: {split!r} is not a split of {name} ({', '.join(info.splits)})")
    lang = lang or info.default_lang
    if lang is None:
        raise GoldSpecError(f"gold spec {spec!r}: {name} needs a language, e.g. {name}:swa:{info.splits[-1]}")
    lang = _THREE_LETTER.get(lang, lang)
    if split is None:
        if len(info.splits) != 1:
            raise GoldSpecError(f"gold spec {spec!r}: name a split ({', '.join(info.splits)})")
        split = info.splits[0]
    if info.default_lang and lang != info.default_lang:
        raise GoldSpecError(f"gold spec {spec!r}: {name} is {info.default_lang} only")
    return GoldSpec(name, lang, split, info)


def _finish(spec: GoldSpec, path: str, sentences: list[Sentence], labels: Sequence[str] | None,
            repairs, skipped, normalized: int) -> GoldSet:
    keep = tuple(labels) if labels is not None else spec.info.labels
    accepted = set(keep) | set(spec.info.optional_labels) if labels is None else set(keep)
    removed: dict[str, int] = {}
    for sent in sentences:
        spans = tags_to_spans(sent.tags)
        kept: list[Span] = []
        for sp in spans:
            if sp.label in keep:
                kept.append(sp)
            elif sp.label in accepted or labels is not None:
                removed[sp.label] = removed.get(sp.label, 0) + 1
            else:
                raise UserError(
                    f"{path}:{sent.line}: entity type {sp.label!r} is not in the {spec.dataset} label set "
                    f"({', '.join(spec.info.labels)})"
                )
        if len(kept) != len(spans):
            sent.tags = spans_to_tags(kept, len(sent.tokens))
    return GoldSet(path, sentences, list(repairs), list(skipped), spec=str(spec), label_set=keep,
                   removed=removed, normalized=normalized)


def read_gold(
    spec: str | GoldSpec,
    data_root: str | os.PathLike | None = None,
    *,
    normalize: str | None = None,
    labels: Sequence[str] | None = None,
) -> GoldSet:
    """Read a gold set from the local data folder (see the module docstring for specs).

    ``labels`` restricts the entity types (others become ``O``, counted in ``removed``);
    by default the dataset's own label set is kept and any other type is an error naming
    the file and line.
    """
    gs = spec if isinstance(spec, GoldSpec) else resolve_gold(spec)
    root = Path(data_root) if data_root is not None else default_data_root()
    path = gs.local_path(root)
    if not path.exists():
        raise InputNotFoundError(str(path), None, f"no such file (gold spec {gs}, data root {root})")
    raw = read_conll(path)
    normalized = 0
    if normalize:
        for sent in raw.sentences:
            new = [unicodedata.normalize(normalize, t) for t in sent.tokens]
            normalized += sum(a != b for a, b in zip(new, sent.tokens))
            sent.tokens = new
    return _finish(gs, str(path), raw.sentences, labels, raw.repairs, raw.skipped, normalized)


def load_gold_hub(
    spec: str | GoldSpec,
    *,
    repo: str | os.PathLike | None = None,
    revision: str | None = None,
    normalize: str | None = None,
    labels: Sequence[str] | None = None,
    **load_kwargs,
) -> GoldSet:
    """Read a gold set through :func:`datasets.load_dataset`.

    ``repo`` overrides the Hub repository (a local folder in the Hub layout works too). The
    rows' ``tokens`` and ``ner_tags`` (a sequence of ``ClassLabel``) become the same
    ``(tokens, tags)`` records as :func:`read_gold`; ``Sentence.line`` holds the row number
    (1-based). Invalid IOB2 is repaired and each repair recorded.
    """
    import datasets

    gs = spec if isinstance(spec, GoldSpec) else resolve_gold(spec)
    repo = os.fspath(repo) if repo is not None else gs.info.hub_repo
    if not repo:
        raise UserError(f"gold spec {gs}: {gs.dataset} has no Hub dataset; read it with read_gold")
    config = gs.info.hub_config.format(lang=gs.lang, lang2=_TWO_LETTER.get(gs.lang, gs.lang)) or None
    split = _HUB_SPLIT.get(gs.split, gs.split)
    ds = datasets.load_dataset(repo, config, split=split, revision=revision, **load_kwargs)
    where = f"{repo}:{config or ''}:{split}"
    for col in ("tokens", "ner_tags"):
        if col not in ds.column_names:
            raise UserError(f"{where}: no {col!r} column (columns: {', '.join(ds.column_names)})")
    feat = ds.features["ner_tags"]
    inner = getattr(feat, "feature", None)
    names = getattr(inner, "names", None)
    sentences: list[Sentence] = []
    repairs: list[tuple[int, str]] = []
    skipped: list[tuple[int, str]] = []
    normalized = 0
    for row_no, row in enumerate(ds, 1):
        tokens = list(row["tokens"])
        tags = [names[t] for t in row["ner_tags"]] if names is not None else [str(t) for t in row["ner_tags"]]
        if len(tokens) != len(tags):
            raise UserError(f"{where}: row {row_no}: {len(tokens)} tokens but {len(tags)} tags")
        if not tokens:
            skipped.append((row_no, "empty row"))
            continue
        if normalize:
            new = [unicodedata.normalize(normalize, t) for t in tokens]
            normalized += sum(a != b for a, b in zip(new, tokens))
            tokens = new
        fixed, n = repair_tags(tags)
        if n:
            repairs.append((row_no, f"{n} I- without B- turned into B-"))
        sentences.append(Sentence(tokens, fixed, row_no))
    return _finish(gs, f"hub:{where}", sentences, labels, repairs, skipped, normalized)
