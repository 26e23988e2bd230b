"""Errors and warnings a user is expected to see (printed as one line, never a traceback)."""

from __future__ import annotations


class SerbiasError(Exception):
    """Bad input or state the user can fix; the CLI prints it on one line and exits non-zero."""


class CorpusWarning(UserWarning):
    """A tolerated corpus problem (e.g. a clip without ratings); an error under ``--strict``."""
