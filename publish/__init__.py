"""Publishing silver datasets and student models to a Hugging Face Hub."""

# This folder is the package ``silver_ner.publish`` (mapped in pyproject.toml). Reached under another
# name (the repository root on sys.path), its modules would load a second time as different
# modules with their own classes, so that name is refused.
if __name__ != "silver_ner.publish":
    raise ImportError(
        f"package 'silver_ner.publish' imported as {__name__!r}: import it as 'silver_ner.publish' "
        "(install the project with `pip install -e .`) and keep the repository root off sys.path"
    )
