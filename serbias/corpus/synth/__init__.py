"""The embedded synthetic CREMA-D: a corpus in the exact upstream layout, with known ground truth.

Heavy (numpy, scipy, soundfile): import it inside the commands that need it.
"""

from __future__ import annotations

from serbias.corpus.synth.design import BiasSpec, count_clips, design_clips, draw_actors, parse_bias
from serbias.corpus.synth.generate import GroupCount, SynthSummary, generate_corpus

__all__ = [
    "BiasSpec",
    "GroupCount",
    "SynthSummary",
    "count_clips",
    "design_clips",
    "draw_actors",
    "generate_corpus",
    "parse_bias",
]
