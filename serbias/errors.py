"""Errors and warnings a user is expected to see (printed as one line, never a traceback)."""

from __future__ import annotations


class SerbiasError(Exception):
    """Bad input or state the user can fix; the CLI prints it on one line and exits non-zero."""


class CorpusWarning(UserWarning):
    """A tolerated corpus problem (e.g. a clip without ratings); an error under ``--strict``."""


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """An exception as one line: its message's first line (at most ``limit`` characters), or
    its type when it has none."""
    text = str(exc).strip()
    return (
        (text.splitlines()[0][:limit] if limit else text.splitlines()[0])
        if text
        else (type(exc).__name__)
    )
