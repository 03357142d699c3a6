"""Projection core: spans, alignments and projection methods (pure functions), plus aligner and encoder back ends."""

# This folder is the package ``silver_ner.projection`` (mapped in pyproject.toml). Reached under another
# name (the repository root on sys.path), its modules would load a second time as different
# modules with their own classes, so that name is refused.
if __name__ != "silver_ner.projection":
    raise ImportError(
        f"package 'silver_ner.projection' imported as {__name__!r}: import it as 'silver_ner.projection' "
        "(install the project with `pip install -e .`) and keep the repository root off sys.path"
    )
