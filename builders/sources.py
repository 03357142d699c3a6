"""What every source of target sentences yields: a labelled source sentence paired with a target sentence."""

from __future__ import annotations

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
