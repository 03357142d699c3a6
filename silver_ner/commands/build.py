"""`silver-ner` subcommands of this area (registered by :mod:`silver_ner.cli`)."""


def register(sub) -> None:
    """Add this area's subcommands to the `silver-ner` parser."""
