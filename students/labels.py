"""Entity label sets and explicit mappings between them.

A mapping says, for every entity type of a dataset, whether it is kept (same name), renamed
(another name) or dropped (``None``). Mappings are plain dicts so that they can be stored in
``silver_ner_training.json`` and in evaluation records as they are.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from silver_ner.projection.spans import iob2_names, map_labels, spans_to_tags, split_tag, tags_to_spans
from silver_ner.projection.errors import UserError

# Types in the order models list them; unknown types follow in alphabetical order.
CANONICAL_ORDER = ("PER", "ORG", "LOC", "DATE", "MISC")


def order_types(types: Iterable[str]) -> list[str]:
    """Entity types in a stable order: PER, ORG, LOC, DATE, MISC, then the rest sorted."""
    types = set(types)
    return [t for t in CANONICAL_ORDER if t in types] + sorted(types - set(CANONICAL_ORDER))


def types_of_names(names: Sequence[str]) -> list[str]:
    """Entity types of IOB2 class names (``["O", "B-PER", "I-PER"]`` -> ``["PER"]``)."""
    types = []
    for name in names:
        prefix, typ = split_tag(name)
        if typ is not None and typ not in types:
            types.append(typ)
    return types


def parse_type_list(text: str | None) -> list[str] | None:
    """``"PER,ORG,LOC"`` -> ``["PER", "ORG", "LOC"]``; ``None`` or ``""`` -> ``None``."""
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
    mapping: dict[str, str | None] = {}
    for t in source_types:
        target = renames[t] if t in renames else t
        if target is not None and keep is not None and target not in keep:
            target = None
        mapping[t] = target
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


@dataclass
class MappedTags:
    """Tags rewritten through a mapping, with what was dropped or renamed, counted by type."""

    tags: list[list[str]]
    dropped: Counter = field(default_factory=Counter)
    renamed: Counter = field(default_factory=Counter)
    repaired: int = 0


def apply_mapping(tag_seqs: Iterable[Sequence[str]], mapping: Mapping[str, str | None]) -> MappedTags:
    """Rewrite each IOB2 sequence through ``mapping``; dropped entities become ``O``."""
    out = MappedTags([])
    for tags in tag_seqs:
        spans = tags_to_spans(tags)
        for s in spans:
            if s.label not in mapping:
                raise KeyError(f"no mapping for entity type {s.label!r} (mapped types: {', '.join(mapping)})")
            if mapping[s.label] is None:
                out.dropped[s.label] += 1
            elif mapping[s.label] != s.label:
                out.renamed[f"{s.label}->{mapping[s.label]}"] += 1
        out.tags.append(spans_to_tags(map_labels(spans, dict(mapping)), len(tags)))
    return out


def label_names(types: Sequence[str]) -> list[str]:
    """IOB2 class names of a model or dataset with these types."""
    return iob2_names(types)


def nfc(tokens: Sequence[str]) -> list[str]:
    """Unicode NFC of each token (composed tone marks, e.g. Yoruba ẹ́ as one code point where possible)."""
    return [unicodedata.normalize("NFC", t) for t in tokens]
