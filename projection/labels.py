"""Entity label sets, label-set arguments, mappings between label sets, and IOB2 tag sequences
restricted to a label set.

The one place the project maps labels: building (``--labels``, ``--label-map``), training
(``--types``, ``--map``) and scoring (a model's types against a gold set's) all go through it.

A mapping says, for every entity type of a dataset, whether it is kept (same name), renamed
(another name) or dropped (``None``). Mappings are plain dicts so that they can be stored in
manifests, ``silver_ner_training.json`` and evaluation records as they are. Pure: lists in,
lists out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .errors import UserError
from .spans import Span, TagRepairs, iob2_names, map_labels, repair_tags, spans_to_tags, split_tag, tags_to_spans

__all__ = [
    "CANONICAL_ORDER", "DEFAULT_LABELS", "LABEL_SETS", "LabelAlignment", "MappedTags", "TagRepairs",
    "align_label_sets", "apply_mapping", "build_mapping", "iob2_names", "label_names", "map_labels", "map_type",
    "order_types", "parse_renames", "parse_type_list", "repair_tags", "resolve_labels", "restrict_tags",
    "span_mapping", "split_tag", "target_types", "types_of_names",
]

# -- named label sets and label-set arguments ------------------------------------------------

#: Named label sets. CoNLL-2003 keeps PER/ORG/LOC (MISC only when asked for with ``conll+misc``);
#: MasakhaNER adds DATE.
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "conll": ("PER", "ORG", "LOC"),
    "conll+misc": ("PER", "ORG", "LOC", "MISC"),
    "masakhaner": ("PER", "ORG", "LOC", "DATE"),
}
DEFAULT_LABELS = LABEL_SETS["conll"]

# Types in the order models list them; unknown types follow in alphabetical order.
CANONICAL_ORDER = ("PER", "ORG", "LOC", "DATE", "MISC")


def resolve_labels(labels: str | Sequence[str] | None) -> tuple[str, ...]:
    """A label-set name (``conll``, ``conll+misc``, ``masakhaner``), a comma list or a sequence of types.

    Names and types are matched case-insensitively: entity types are upper case (``per,loc`` is
    ``PER,LOC``), as in CoNLL-2003 and MasakhaNER. An empty set, a type named twice, ``O`` or a
    type with other characters than letters, digits and ``_`` is a :class:`UserError`.
    """
    if labels is None:
        return DEFAULT_LABELS
    if isinstance(labels, str):
        if labels.strip().lower() in LABEL_SETS:
            return LABEL_SETS[labels.strip().lower()]
        labels = [x.strip() for x in labels.split(",") if x.strip()]
    out = tuple(str(x).strip().upper() for x in labels)
    if not out:
        raise UserError("empty label set")
    if len(set(out)) != len(out):
        raise UserError(f"label set {','.join(out)} names a type twice")
    for lab in out:
        if lab == "O" or not lab.replace("_", "").isalnum():
            raise UserError(f"invalid entity type {lab!r} in the label set")
    return out


def parse_type_list(text: str | None) -> list[str] | None:
    """``"PER,ORG,LOC"`` -> ``["PER", "ORG", "LOC"]`` (spelling kept); ``None`` or ``""`` -> ``None``."""
    if not text:
        return None
    types = [t.strip() for t in text.split(",") if t.strip()]
    for t in types:
        if not t.replace("_", "").isalnum():
            raise UserError(f"entity type {t!r} in {text!r}: use letters, digits and '_' only")
    return types


def parse_renames(items: Iterable[str] | None) -> dict[str, str | None]:
    """``["PERSON=PER", "MISC="]`` -> ``{"PERSON": "PER", "MISC": None}`` (empty target drops)."""
    out: dict[str, str | None] = {}
    for item in items or ():
        if "=" not in item:
            raise UserError(f"label mapping {item!r}: expected SOURCE=TARGET (or SOURCE= to drop)")
        src, dst = (s.strip() for s in item.split("=", 1))
        if not src:
            raise UserError(f"label mapping {item!r}: empty source type")
        out[src] = dst or None
    return out


# -- type names ------------------------------------------------------------------------------


def order_types(types: Iterable[str]) -> list[str]:
    """Entity types in a stable order: PER, ORG, LOC, DATE, MISC, then the rest sorted."""
    types = set(types)
    return [t for t in CANONICAL_ORDER if t in types] + sorted(types - set(CANONICAL_ORDER))


def types_of_names(names: Sequence[str]) -> list[str]:
    """Entity types of IOB2 class names (``["O", "B-PER", "I-PER"]`` -> ``["PER"]``)."""
    types = []
    for name in names:
        _, typ = split_tag(name)
        if typ is not None and typ not in types:
            types.append(typ)
    return types


def label_names(types: Sequence[str]) -> list[str]:
    """IOB2 class names of a model or dataset with these types."""
    return iob2_names(types)


# -- mappings --------------------------------------------------------------------------------


def map_type(typ: str, renames: Mapping[str, str | None], keep: Sequence[str] | None = None) -> str | None:
    """Where ``typ`` goes: its rename (``None`` drops) or itself, dropped when ``keep`` does not list it."""
    target = renames[typ] if typ in renames else typ
    if target is not None and keep is not None and target not in keep:
        return None
    return target


def span_mapping(source_types: Iterable[str], keep: Sequence[str] | None = None,
                 renames: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """``{type: map_type(type)}`` for every source type, without checks (see :func:`build_mapping`)."""
    renames = dict(renames or {})
    return {t: map_type(t, renames, keep) for t in source_types}


def build_mapping(
    source_types: Iterable[str],
    keep: Sequence[str] | None = None,
    renames: Mapping[str, str | None] | None = None,
) -> dict[str, str | None]:
    """The explicit mapping of every source type.

    ``renames`` come first (``None`` drops); the other types are kept when ``keep`` is
    ``None`` or lists them, dropped otherwise. Renaming a type the data does not have is an
    error, as is keeping a type no source type maps to.
    """
    source_types = list(source_types)
    renames = dict(renames or {})
    unknown = sorted(set(renames) - set(source_types))
    if unknown:
        raise UserError(f"label mapping names types the data does not have: {', '.join(unknown)} (it has {', '.join(source_types) or 'none'})")
    mapping = span_mapping(source_types, keep, renames)
    if keep is not None:
        missing = [t for t in keep if t not in mapping.values()]
        if missing:
            raise UserError(
                f"kept types {', '.join(missing)} do not occur in the data (types: {', '.join(source_types) or 'none'}); "
                "rename a source type onto them or leave them out"
            )
    return mapping


def target_types(mapping: Mapping[str, str | None], keep: Sequence[str] | None = None) -> list[str]:
    """The types a mapping produces, in ``keep`` order when given, else canonical order."""
    produced = {t for t in mapping.values() if t is not None}
    if keep is not None:
        return [t for t in keep if t in produced]
    return order_types(produced)


# -- tag sequences through a mapping ---------------------------------------------------------


@dataclass
class MappedTags:
    """Tags rewritten through a mapping, with what was dropped or renamed, counted by type."""

    tags: list[list[str]]
    dropped: Counter = field(default_factory=Counter)
    renamed: Counter = field(default_factory=Counter)
    repaired: int = 0


def _rewrite(tags: Sequence[str], mapping: Mapping[str, str | None], dropped: Counter,
             renamed: Counter | None, strict: bool) -> list[str]:
    spans = tags_to_spans(tags)
    kept: list[Span] = []
    for s in spans:
        if s.label not in mapping and strict:
            raise KeyError(f"no mapping for entity type {s.label!r} (mapped types: {', '.join(mapping)})")
        new = mapping.get(s.label)
        if new is None:
            dropped[s.label] += 1
            continue
        if renamed is not None and new != s.label:
            renamed[f"{s.label}->{new}"] += 1
        kept.append(Span(s.start, s.end, new))
    return spans_to_tags(kept, len(tags))


def apply_mapping(tag_seqs: Iterable[Sequence[str]], mapping: Mapping[str, str | None]) -> MappedTags:
    """Rewrite each IOB2 sequence through ``mapping``; dropped entities become ``O``.

    A type the mapping does not list is an error (:class:`KeyError`).
    """
    out = MappedTags([])
    for tags in tag_seqs:
        out.tags.append(_rewrite(tags, mapping, out.dropped, out.renamed, strict=True))
    return out


def restrict_tags(tag_seqs: Iterable[Sequence[str]], mapping: Mapping[str, str | None]) -> tuple[list[list[str]], Counter]:
    """Rewrite tags through ``mapping``; entities of types mapped to ``None`` or absent from it
    become ``O`` and are counted by type."""
    out, removed = [], Counter()
    for tags in tag_seqs:
        out.append(_rewrite(tags, mapping, removed, None, strict=False))
    return out, removed


# -- a model's label set against a gold set's ------------------------------------------------


@dataclass
class LabelAlignment:
    """How a gold label set and a model label set meet: types scored, and types left out on each side."""

    scored: list[str]
    gold_mapping: dict[str, str | None]
    model_mapping: dict[str, str | None]

    @property
    def ignored_gold(self) -> list[str]:
        return [t for t, v in self.gold_mapping.items() if v is None]

    @property
    def ignored_model(self) -> list[str]:
        return [t for t, v in self.model_mapping.items() if v is None]


def align_label_sets(model_types: Sequence[str], gold_types: Sequence[str], renames: Mapping[str, str | None] | None = None) -> LabelAlignment:
    """Score on the types both sides share (after ``renames`` of gold types onto model types).

    Gold entities of a type the model cannot predict (e.g. DATE for a PER/ORG/LOC model) and
    predictions of a type the gold set does not annotate (e.g. MISC) are left out and listed.
    """
    renames = dict(renames or {})
    unknown = sorted(set(renames) - set(gold_types))
    if unknown:
        raise UserError(f"--map names gold types the gold set does not have: {', '.join(unknown)} (it has {', '.join(gold_types)})")
    bad = sorted({v for v in renames.values() if v is not None} - set(model_types))
    if bad:
        raise UserError(f"--map maps onto types the model does not predict: {', '.join(bad)} (model: {', '.join(model_types)})")
    gold_mapping = {}
    for t in gold_types:
        target = renames.get(t, t)
        gold_mapping[t] = target if target in model_types else None
    produced = {v for v in gold_mapping.values() if v is not None}
    model_mapping = {t: (t if t in produced else None) for t in model_types}
    scored = [t for t in model_types if t in produced]
    if not scored:
        raise UserError(
            f"the model's entity types ({', '.join(model_types)}) and the gold set's ({', '.join(gold_types)}) "
            "have nothing in common; map them with --map GOLD=MODEL"
        )
    return LabelAlignment(scored, gold_mapping, model_mapping)
