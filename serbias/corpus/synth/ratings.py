"""Simulated crowd raters: emotion votes and intensity ratings per clip and modality.

Raters confuse emotions the way CREMA-D's crowd did: the response distribution for a clip is
the real per-intended-emotion confusion row, pulled toward the neutral row when the clip's
emotion is weak and pushed away from it when strong. So a planted bias that weakens a group's
vocal emotion also lowers the human voice-only accuracy for that group, as it would in life.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from serbias import vocab

# Response shares (columns A D F H N S) per intended emotion (rows ANG DIS FEA HAP NEU SAD),
# computed from the real CREMA-D processedResults/tabulatedVotes.csv (voice rows 1xxxxx: 68,568
# ratings, per-response accuracy 40.0%; face rows 2xxxxx: 57.4%; audio-visual rows 3xxxxx: 63.1%).
VOICE_CONFUSION: Final = (
    (0.532, 0.211, 0.051, 0.019, 0.176, 0.011),
    (0.121, 0.286, 0.092, 0.028, 0.377, 0.096),
    (0.064, 0.063, 0.321, 0.030, 0.383, 0.139),
    (0.070, 0.075, 0.082, 0.290, 0.450, 0.033),
    (0.039, 0.059, 0.050, 0.020, 0.762, 0.070),
    (0.019, 0.070, 0.116, 0.013, 0.531, 0.250),
)
FACE_CONFUSION: Final = (
    (0.568, 0.192, 0.045, 0.028, 0.142, 0.025),
    (0.081, 0.544, 0.103, 0.013, 0.059, 0.202),
    (0.090, 0.103, 0.438, 0.015, 0.216, 0.138),
    (0.009, 0.013, 0.009, 0.877, 0.086, 0.007),
    (0.044, 0.077, 0.041, 0.042, 0.715, 0.080),
    (0.034, 0.100, 0.120, 0.016, 0.409, 0.321),
)
AV_CONFUSION: Final = (
    (0.653, 0.202, 0.042, 0.008, 0.085, 0.009),
    (0.076, 0.606, 0.127, 0.006, 0.082, 0.102),
    (0.046, 0.058, 0.569, 0.011, 0.184, 0.132),
    (0.007, 0.013, 0.016, 0.855, 0.106, 0.004),
    (0.038, 0.053, 0.049, 0.018, 0.788, 0.054),
    (0.020, 0.075, 0.172, 0.006, 0.393, 0.334),
)
CONFUSIONS: Final = {"voice": VOICE_CONFUSION, "face": FACE_CONFUSION, "av": AV_CONFUSION}

#: Raters per clip vary around the requested number like CREMA-D's (mostly 8-10 of ~10).
RATER_OFFSETS: Final = (-3, -2, -1, 0, 1, 2)
RATER_OFFSET_SHARES: Final = (0.05, 0.15, 0.35, 0.38, 0.06, 0.01)
#: Clip-to-clip spread of the response distribution (Dirichlet concentration; lower = wider).
CLIP_CONCENTRATION: Final = 25.0
MIN_SHARE: Final = 0.005
# Intensity ratings (0-100): mean for a neutral response, for the intended emotion at
# strength 0 plus per unit of strength, and for any other emotion; rater and response spread.
NEUTRAL_INTENSITY: Final = 63.0
INTENDED_INTENSITY: Final = (38.0, 12.0)
OTHER_INTENSITY: Final = 45.0
RATER_SD: Final = 10.0
RESPONSE_SD: Final = 14.0

_NEUTRAL: Final = vocab.EMOTIONS.index("NEU")


@dataclass(frozen=True)
class Ratings:
    """The responses of one clip's raters in one modality."""

    responses: tuple[int, ...]  # index into vocab.VOTE_LETTERS, one per rater
    intensities: tuple[int, ...]  # 0-100 as given
    normalised: tuple[float, ...]  # with each rater's habitual offset removed

    @property
    def counts(self) -> tuple[int, ...]:
        """Votes per letter A D F H N S."""
        return tuple(int(c) for c in np.bincount(self.responses, minlength=len(vocab.VOTE_LETTERS)))

    @property
    def vote(self) -> tuple[str, ...]:
        """The majority letter(s), ties kept in letter order."""
        counts = self.counts
        top = max(counts)
        letters = zip(vocab.VOTE_LETTERS, counts, strict=True)
        return tuple(letter for letter, n in letters if n == top)


def response_shares(
    confusion: tuple[tuple[float, ...], ...], emotion: str, strength: float
) -> np.ndarray:
    """Expected response shares for a clip of ``emotion`` expressed at ``strength``.

    Strength 1 gives the real confusion row; 0 gives the neutral row (the clip sounds neutral);
    above 1 the row moves further from neutral, as CREMA-D's HI clips are recognised more often.
    """
    table = np.asarray(confusion)
    intended = vocab.EMOTIONS.index(emotion)
    if intended == _NEUTRAL:
        return table[_NEUTRAL].copy()
    shares = table[_NEUTRAL] + strength * (table[intended] - table[_NEUTRAL])
    shares = np.maximum(shares, MIN_SHARE)
    return shares / shares.sum()


def simulate(
    emotion: str, strength: float, *, raters: int, modality: str, rng: np.random.Generator
) -> Ratings:
    """Draw one clip's ratings: how many raters, what each chose, and how intense it seemed."""
    n = max(1, raters + int(rng.choice(RATER_OFFSETS, p=RATER_OFFSET_SHARES)))
    shares = rng.dirichlet(
        CLIP_CONCENTRATION * response_shares(CONFUSIONS[modality], emotion, strength)
    )
    responses = rng.choice(len(vocab.VOTE_LETTERS), size=n, p=shares)
    intended = vocab.EMOTIONS.index(emotion)
    mean = np.where(
        responses == _NEUTRAL,
        NEUTRAL_INTENSITY,
        np.where(
            responses == intended,
            INTENDED_INTENSITY[0] + INTENDED_INTENSITY[1] * min(strength, 2.5),
            OTHER_INTENSITY,
        ),
    )
    offsets = rng.normal(0.0, RATER_SD, size=n)
    intensities = np.clip(np.round(mean + offsets + rng.normal(0.0, RESPONSE_SD, size=n)), 0, 100)
    normalised = np.clip(intensities - offsets, 0.0, 100.0)
    return Ratings(
        responses=tuple(int(r) for r in responses),
        intensities=tuple(int(i) for i in intensities),
        normalised=tuple(float(v) for v in normalised),
    )


def rate_clip(
    emotion: str, *, strength: float, natural_strength: float, raters: int, rng: np.random.Generator
) -> dict[str, Ratings]:
    """Voice, face and audio-visual ratings of one clip.

    The planted bias weakens only the voice, so face raters see the actor's natural strength
    and audio-visual raters the mean of both.
    """
    strengths = {
        "voice": strength,
        "face": natural_strength,
        "av": 0.5 * (strength + natural_strength),
    }
    return {
        modality: simulate(emotion, value, raters=raters, modality=modality, rng=rng)
        for modality, value in strengths.items()
    }
