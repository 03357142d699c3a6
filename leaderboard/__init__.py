"""Evaluation: the local seqeval evaluate module, scoring and the leaderboard."""

# This folder is the package ``silver_ner.leaderboard`` (mapped in pyproject.toml). Reached under another
# name (the repository root on sys.path), its modules would load a second time as different
# modules with their own classes, so that name is refused.
if __name__ != "silver_ner.leaderboard":
    raise ImportError(
        f"package 'silver_ner.leaderboard' imported as {__name__!r}: import it as 'silver_ner.leaderboard' "
        "(install the project with `pip install -e .`) and keep the repository root off sys.path"
    )
