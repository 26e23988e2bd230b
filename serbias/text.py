"""Small text helpers shared by every room: ``KEY=VALUE`` specs and file-safe names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from serbias.errors import SerbiasError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def split_pair(spec: str, what: str, example: str) -> tuple[str, str]:
    """``"sex=Male"`` -> ``("sex", "Male")`` (both stripped); a SerbiasError names ``what``
    and shows ``example`` when the spec has no ``=`` or an empty side."""
    key, sep, value = spec.partition("=")
    if not (sep and key.strip() and value.strip()):
        raise SerbiasError(f"{what} {spec!r}: expected NAME=VALUE (e.g. {example})")
    return key.strip(), value.strip()


def parse_pairs(specs: Iterable[str], what: str, example: str) -> dict[str, str]:
    """Several ``KEY=VALUE`` specs as a dict; a key given twice is an error."""
    pairs: dict[str, str] = {}
    for spec in specs:
        key, value = split_pair(spec, what, example)
        if key in pairs:
            raise SerbiasError(f"{what} {spec!r}: {key!r} is given twice")
        pairs[key] = value
    return pairs


def slug(name: str) -> str:
    """``name`` with every run of characters unsafe in file, run and metric names as ``_``."""
    return _UNSAFE.sub("_", name).strip("_") or "_"
