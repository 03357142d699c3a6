"""Projection core: spans, alignments and projection methods (pure functions), plus aligner and encoder back ends."""
