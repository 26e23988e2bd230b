"""Fixed, ordered vocabularies of CREMA-D.

Label ids are positions in these tuples, so they never change between runs
(the reference code derived them from an unordered set).
"""

from __future__ import annotations

from typing import Final

#: Emotion codes as they appear in clip names, in label-id order.
EMOTIONS: Final = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
#: Column names of a predictions CSV (the reference study's format), same order.
EMOTION_NAMES: Final = ("Anger", "Disgust", "Fear", "Happy", "Neutral", "Sad")
#: Single letters used by the crowd ratings (summaryTable, tabulatedVotes), same order.
VOTE_LETTERS: Final = ("A", "D", "F", "H", "N", "S")

EMOTION_BY_LETTER: Final = dict(zip(VOTE_LETTERS, EMOTIONS, strict=True))
LETTER_BY_EMOTION: Final = dict(zip(EMOTIONS, VOTE_LETTERS, strict=True))
NAME_BY_EMOTION: Final = dict(zip(EMOTIONS, EMOTION_NAMES, strict=True))
EMOTION_BY_NAME: Final = dict(zip(EMOTION_NAMES, EMOTIONS, strict=True))

#: Emotion intensity levels; XX means "unspecified" (all sentences but IEO).
LEVELS: Final = ("LO", "MD", "HI", "XX")

SEXES: Final = ("Female", "Male")
RACES: Final = ("African American", "Asian", "Caucasian", "Unknown")
ETHNICITIES: Final = ("Hispanic", "Not Hispanic")
#: The reference study's race cut, used by the multitask head and the audit.
RACE_BINARY: Final = ("Caucasian", "Non-Caucasian")

#: What a clip's emotion label is: the acted one, or the crowd's voice-only vote.
LABEL_KINDS: Final = ("intended", "observed")
#: The multitask model's demographic heads: head -> (clip-table column, positive group,
#: negative group); a predictions table names each head's column after its positive group.
DEMOGRAPHIC_HEADS: Final = {
    "female": ("sex", "Female", "Male"),
    "non_caucasian": ("race_binary", RACE_BINARY[1], RACE_BINARY[0]),
}

#: The 12 CREMA-D sentences, code -> text, in the upstream order.
SENTENCES: Final = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
#: The one sentence recorded at three intensity levels.
LEVELLED_SENTENCE: Final = "IEO"

#: Rating modalities of tabulatedVotes.csv, keyed by the first digit of its row index.
MODALITIES: Final = {1: "voice", 2: "face", 3: "av"}


def race_binary(race: str) -> str:
    """Caucasian vs everyone else, the reference study's cut."""
    return "Caucasian" if race == "Caucasian" else "Non-Caucasian"
