"""Feature kinds, and the one feature store (every clip of the corpus once per kind).

:data:`KINDS` is the registry of kinds; the built-in ones are registered here.
``serbias extract`` writes the store with :func:`serbias.features.extract.extract_features`;
later stages select the rows of their clips with :func:`load_features`.
"""

from __future__ import annotations

from serbias.features.base import KINDS, FeatureKind, feature_kind, register
from serbias.features.handcrafted import HANDCRAFTED
from serbias.features.logmel import LOGMEL
from serbias.features.store import FeatureSet, load_features, read_manifest

register(LOGMEL)
register(HANDCRAFTED)

__all__ = [
    "KINDS",
    "FeatureKind",
    "FeatureSet",
    "feature_kind",
    "load_features",
    "read_manifest",
    "register",
]
