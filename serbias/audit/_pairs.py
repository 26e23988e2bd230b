"""``NAME=VALUE`` options (``--reference sex=Male``, ``--column-map angry=Anger``)."""

from __future__ import annotations

from serbias.errors import SerbiasError


def split_pair(spec: str, *, what: str, form: str, example: str) -> tuple[str, str]:
    """``"sex=Male"`` -> ``("sex", "Male")``; ``what`` and ``form`` name it in the error."""
    name, sep, value = spec.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise SerbiasError(f"{what} {spec!r}: expected {form}, e.g. {example}")
    return name.strip(), value.strip()
