"""Wording shared by the report's sections and files."""

from __future__ import annotations

import math

from serbias.audit._baselines import HUMAN_SYSTEM


def section_title(system: str, target: str) -> str:
    if system == HUMAN_SYSTEM:
        return "Human listeners (voice only)"
    return f"{system}, {target} target"


def with_ci(value: float, low: float, high: float, *, sign: bool = False) -> str:
    shown = f"{value:+.3f}" if sign else f"{value:.3f}"
    if math.isnan(low) or math.isnan(high):
        return f"{shown} (no interval)"
    return f"{shown} [{low:+.3f}, {high:+.3f}]" if sign else f"{shown} [{low:.3f}, {high:.3f}]"
