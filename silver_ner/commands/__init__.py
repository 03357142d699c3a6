"""Subcommands of the silver-ner command line, one module per area."""
