"""Small text helpers shared by every room: ``NAME=VALUE`` specs and file-safe names."""

from __future__ import annotations

from collections.abc import Iterable

from serbias.errors import SerbiasError


def split_pair(spec: str, *, what: str, form: str, example: str) -> tuple[str, str]:
    """``"sex=Male"`` -> ``("sex", "Male")`` (both stripped); a SerbiasError names ``what``,
    the expected ``form`` and an ``example`` when the spec has no ``=`` or an empty side."""
    name, sep, value = spec.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise SerbiasError(f"{what} {spec!r}: expected {form}, e.g. {example}")
    return name.strip(), value.strip()


def parse_pairs(specs: Iterable[str], *, what: str, form: str, example: str) -> dict[str, str]:
    """Several ``NAME=VALUE`` specs as a dict; a name given twice is an error."""
    pairs: dict[str, str] = {}
    for spec in specs:
        name, value = split_pair(spec, what=what, form=form, example=example)
        if name in pairs:
            raise SerbiasError(f"{what} {spec!r}: {name!r} is given twice")
        pairs[name] = value
    return pairs


def slug(name: str) -> str:
    """``name`` with every character but letters, digits, ``-`` and ``_`` replaced by ``_``
    (safe in file, artifact and experiment-directory names)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
