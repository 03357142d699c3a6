"""What every source of target sentences yields: a labelled source sentence paired with a target sentence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from silver_ner.projection.spans import Span

#: Locations listed per input check in a report (all of them are counted).
MAX_LOCATIONS = 100


@dataclass
class SourcePair:
    """One source sentence with its entity spans, paired with one tokenised target sentence.

    ``origin`` records where the pair came from (file and line of each side, translator,
    pairing confidence, ...) and ends up in the dataset row's provenance.
    """

    id: str
    source_tokens: list[str]
    source_spans: list[Span]
    target_tokens: list[str]
    source_lang: str = "eng"
    target_lang: str = ""
    origin: dict[str, Any] = field(default_factory=dict)
    # further labelled sources of the same target (multi-source): {"tokens", "spans", "lang", "origin"}
    more_sources: list[dict[str, Any]] = field(default_factory=list)
    # candidate target spans for the spans-* methods (e.g. predicted by a model; labels ignored)
    candidates: list[Span] | None = None

    def origin_json(self) -> str:
        """The provenance as stored in a row (with every further source's origin)."""
        origin = self.origin if not self.more_sources else {**self.origin, "more_sources": [
            {"lang": s["lang"], **s.get("origin", {})} for s in self.more_sources]}
        return json.dumps(origin, sort_keys=True, ensure_ascii=False)

    def to_json(self) -> dict[str, Any]:
        d = {"id": self.id, "source_tokens": self.source_tokens, "source_spans": _spans_json(self.source_spans),
             "target_tokens": self.target_tokens, "source_lang": self.source_lang, "target_lang": self.target_lang,
             "origin": self.origin}
        if self.more_sources:
            d["more_sources"] = [{"tokens": s["tokens"], "spans": _spans_json(s["spans"]), "lang": s["lang"],
                                  "origin": s.get("origin", {})} for s in self.more_sources]
        if self.candidates is not None:
            d["candidates"] = _spans_json(self.candidates)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "SourcePair":
        more = [{**s, "spans": [Span(*x) for x in s["spans"]]} for s in d.get("more_sources", [])]
        cands = [Span(*x) for x in d["candidates"]] if d.get("candidates") is not None else None
        return cls(d["id"], d["source_tokens"], [Span(*s) for s in d["source_spans"]], d["target_tokens"],
                   d["source_lang"], d["target_lang"], d["origin"], more, cands)


def _spans_json(spans) -> list[list]:
    return [[s.start, s.end, s.label] for s in spans]


@dataclass
class SourceReport:
    """Counts a source keeps while producing pairs, so that nothing is dropped silently.

    ``inputs`` holds what the checks of the input files found (e.g. ``iob2_repairs``,
    ``label_token_mismatches``): ``{check: {"count": n, "at": ["file:line ...", ...]}}``, the
    first :data:`MAX_LOCATIONS` locations listed.
    """

    read: int = 0
    paired: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def note_inputs(self, check: str, locations: list[str]) -> None:
        """Count the findings of an input check (zero counts too), with their ``file:line`` locations."""
        entry = self.inputs.setdefault(check, {"count": 0, "at": []})
        entry["count"] += len(locations)
        entry["at"] += locations[: max(0, MAX_LOCATIONS - len(entry["at"]))]
