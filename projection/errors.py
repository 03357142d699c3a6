"""The project's user-error type.

An input or option the user can fix (a malformed file, an unknown language code, a bad flag
value) raises :class:`UserError` or a subclass. The ``silver-ner`` command prints such an error
as one line and exits with status 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """An error in the user's input or options, reported in one line without a traceback."""
