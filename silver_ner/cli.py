"""The ``silver-ner`` command: argument parsing and one call per subcommand.

Each area registers its subcommands from a module in :mod:`silver_ner.commands`; the logic
lives in the library so that tests reach it without the command line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from silver_ner import __version__

COMMAND_MODULES = ("encoder", "projection", "build", "train", "publish")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="silver-ner",
        description="Silver named-entity data and models for low-resource languages by cross-lingual annotation projection.",
    )
    parser.add_argument("--version", action="version", version=f"silver-ner {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"silver_ner.commands.{name}").register(sub)
    return parser


class CommandError(Exception):
    """An error the command reports in one line, without a traceback."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (CommandError, FileNotFoundError, ValueError, KeyError) as exc:
        if args.verbose:
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"silver-ner {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
