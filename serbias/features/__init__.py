"""Log-mel and hand-crafted features, and the feature store that training reads.

``serbias extract`` writes the store with :func:`serbias.features.extract.extract_features`;
later stages read it with :func:`load_features`.
"""

from __future__ import annotations

from serbias.features.store import FeatureSet, load_features, read_manifest

__all__ = ["FeatureSet", "load_features", "read_manifest"]
