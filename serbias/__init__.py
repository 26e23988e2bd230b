"""serbias: audit speech-emotion-recognition models for gender and racial bias."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
