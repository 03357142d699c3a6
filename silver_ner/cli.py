"""The ``silver-ner`` command: argument parsing and one call per subcommand.

Each area registers its subcommands from a module in :mod:`silver_ner.commands`; the logic
lives in the library so that tests reach it without the command line.

Every subcommand (and the command itself) takes the same logging and progress switches, before
or after the subcommand name: ``-v`` (the project's info messages), ``-vv`` (debug messages of
every library, including HTTP requests), ``-q`` (errors only, no progress bars) and
``--no-progress``. By default only warnings and the command's own result lines are shown.

Errors: a :class:`~silver_ner.projection.errors.UserError` (a bad option value, an unknown name,
a malformed file) and a missing or unreadable path the user named are printed as one line with
exit status 2; Ctrl-C prints one line with exit status 130; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from contextlib import ExitStack, contextmanager

from silver_ner import __version__
from silver_ner.projection.errors import UserError

COMMAND_MODULES = ("encoder", "projection", "build", "tag", "train", "publish", "env")

# Libraries whose loggers stay at WARNING unless -vv (httpx logs every HTTP request at INFO).
THIRD_PARTY_LOGGERS = (
    "httpx", "httpcore", "huggingface_hub", "datasets", "transformers", "urllib3", "filelock", "fsspec",
    "evaluate", "torch", "ray", "simalign",
)
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

# Errors about a path the user named: reported in one line like a UserError.
PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


class CommandError(UserError):
    """An error the command reports in one line, without a traceback."""


def add_common_options(parser: argparse.ArgumentParser, depth: int) -> None:
    """The logging and progress switches every (sub)command takes.

    Defaults are suppressed so that a switch given before the subcommand name is not reset by
    the subcommand's parser; counts are kept per level (``depth``) and added up by :func:`main`.
    """
    group = parser.add_argument_group("logging and progress")
    group.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, dest=f"verbose_{depth}",
                       help="more detail: -v shows the command's info messages, -vv debug messages of every "
                            "library (HTTP requests included) and tracebacks")
    group.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS, dest=f"quiet_{depth}",
                       help="errors only: no warnings, no progress bars")
    group.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS, dest="no_progress",
                       help="no progress bars")


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    out: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if all(child is not seen for seen in out):
                    out.append(child)
    return out


def _add_common_options_everywhere(parser: argparse.ArgumentParser, depth: int = 0) -> None:
    add_common_options(parser, depth)
    for child in _subparsers(parser):
        _add_common_options_everywhere(child, depth + 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="silver-ner",
        description="Silver named-entity data and models for low-resource languages by cross-lingual annotation projection.",
    )
    parser.add_argument("--version", action="version", version=f"silver-ner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"silver_ner.commands.{name}").register(sub)
    _add_common_options_everywhere(parser)
    return parser


def _normalise(args: argparse.Namespace) -> argparse.Namespace:
    """Add ``verbosity`` (-v count minus -q count), ``verbose``, ``quiet`` and ``no_progress``."""
    names = vars(args)
    verbose = sum(v for k, v in names.items() if k.startswith("verbose_"))
    quiet = sum(v for k, v in names.items() if k.startswith("quiet_"))
    args.verbosity = verbose - quiet
    args.verbose = max(args.verbosity, 0)
    args.quiet = args.verbosity < 0
    args.no_progress = bool(names.get("no_progress")) or args.quiet
    return args


def log_levels(verbosity: int) -> tuple[int, int]:
    """``(project level, other libraries' level)`` for a verbosity (-v count minus -q count)."""
    if verbosity < 0:
        return logging.ERROR, logging.ERROR
    if verbosity == 0:
        return logging.WARNING, logging.WARNING
    if verbosity == 1:
        return logging.INFO, logging.WARNING
    return logging.DEBUG, logging.DEBUG


@contextmanager
def configured_logging(verbosity: int):
    """Send log records to stderr at the levels of ``verbosity``; restore the previous set-up after."""
    own, other = log_levels(verbosity)
    root = logging.getLogger()
    handler = logging.StreamHandler()  # the current sys.stderr
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    loggers = [root, logging.getLogger("silver_ner"), *map(logging.getLogger, THIRD_PARTY_LOGGERS)]
    saved = [(lg, lg.level) for lg in loggers]
    root.addHandler(handler)
    root.setLevel(other)
    logging.getLogger("silver_ner").setLevel(own)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(other)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)


@contextmanager
def progress_bars(enabled: bool):
    """With ``enabled`` false, turn off the progress bars of datasets, huggingface_hub and
    transformers for the duration (commands also pass the switch to the project's own bars)."""
    if enabled:
        yield
        return
    undo = []
    try:
        import datasets

        if datasets.is_progress_bar_enabled():
            datasets.disable_progress_bars()
            undo.append(datasets.enable_progress_bars)
    except ImportError:  # pragma: no cover - datasets is a dependency
        pass
    try:
        from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

        if not are_progress_bars_disabled():
            disable_progress_bars()
            undo.append(enable_progress_bars)
    except ImportError:  # pragma: no cover
        pass
    try:
        from transformers.utils import logging as tf_logging

        if tf_logging.is_progress_bar_enabled():
            tf_logging.disable_progress_bar()
            undo.append(tf_logging.enable_progress_bar)
    except ImportError:  # pragma: no cover
        pass
    try:
        yield
    finally:
        for fn in reversed(undo):
            fn()


def error_message(exc: BaseException) -> str:
    """One line for a user error (an OSError names its path)."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    name = "silver-ner"
    try:
        args = _normalise(build_parser().parse_args(argv))
        name = f"silver-ner {args.command}"
        with ExitStack() as stack:
            stack.enter_context(configured_logging(args.verbosity))
            stack.enter_context(progress_bars(not args.no_progress))
            try:
                return int(args.func(args) or 0)
            except (UserError, *PATH_ERRORS) as exc:
                if args.verbosity >= 2:
                    logging.getLogger("silver_ner.cli").exception("%s failed", name)
                print(f"{name}: error: {error_message(exc)}", file=sys.stderr)
                return 2
    except KeyboardInterrupt as exc:  # a build's SIGTERM arrives as one too, with its signal number
        print(f"{name}: interrupted", file=sys.stderr)
        return 128 + int(getattr(exc, "signum", None) or signal.SIGINT)
    except BrokenPipeError:  # the reader of the output went away (e.g. `| head`)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
