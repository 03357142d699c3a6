"""Aligners for the Ray engine tests, importable by Ray's worker processes (tests/ is on their path)."""

import os

from silver_ner.projection.errors import UserError
from silver_ner.projection.protocols import Alignment


class SameWordAligner:
    """Links identical words (case-insensitive)."""

    identity = "same-word"

    def align(self, pairs):
        return [Alignment.from_pairs([(i, j) for i, a in enumerate(s) for j, b in enumerate(t) if a.lower() == b.lower()])
                for s, t in pairs]

    def align_methods(self, pairs, methods):
        return {m: self.align(pairs) for m in methods}


def same_word(spec):
    return SameWordAligner()


class DiesOnceAligner(SameWordAligner):
    """Kills its process (as an out-of-memory kill or a lost node would) the first time any process aligns,
    leaving a marker file so that the restarted actor proceeds."""

    def __init__(self, marker):
        self.marker = marker

    def align(self, pairs):
        if not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)
        return super().align(pairs)


def dies_once(marker):
    return lambda spec: DiesOnceAligner(marker)


class BadInputAligner(SameWordAligner):
    def align(self, pairs):
        raise UserError("corpus.txt:7: a line the aligner cannot read")


def bad_input(spec):
    return BadInputAligner()
