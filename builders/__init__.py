"""Dataset builders: gold readers, target-sentence sources and the silver NER GeneratorBasedBuilder."""

# This folder is the package ``silver_ner.builders`` (mapped in pyproject.toml). Reached under another
# name (the repository root on sys.path), its modules would load a second time as different
# modules with their own classes, so that name is refused.
if __name__ != "silver_ner.builders":
    raise ImportError(
        f"package 'silver_ner.builders' imported as {__name__!r}: import it as 'silver_ner.builders' "
        "(install the project with `pip install -e .`) and keep the repository root off sys.path"
    )
