"""Feature kinds, and the one feature store (every clip of the corpus once per kind).

:data:`KINDS` is the registry of kinds (the built-in ones, ``logmel`` and ``svm``, load on
first use). ``serbias extract`` writes the store with
:func:`serbias.features.extract.extract_features`; later stages select the rows of their clips
with :func:`load_features`. Importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

from serbias.features.base import KINDS, FeatureKind, feature_kind, register

_STORE = ("FeatureSet", "load_features", "read_manifest")

__all__ = ["KINDS", "FeatureKind", "feature_kind", "register", *_STORE]


def __getattr__(name: str) -> Any:
    if name in _STORE:
        from serbias.features import store

        return getattr(store, name)
    raise AttributeError(f"module 'serbias.features' has no attribute {name!r}")
