"""serbias: audit speech-emotion-recognition models for gender and racial bias."""

from __future__ import annotations

from serbias import quiet

__version__ = "0.1.0"

__all__ = ["__version__"]

quiet.install()  # before anything imports TensorFlow, in every process that imports serbias
