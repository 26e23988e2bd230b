"""A pretrained model's label names -> CREMA-D's six emotions.

Public emotion models speak many vocabularies: IEMOCAP's ``neu, hap, ang, sad``, RAVDESS's
``angry, calm, disgust, fearful, happy, neutral, sad, surprised``, emotion2vec's bilingual
``生气/angry``. :data:`BUILTIN_MAP` maps the common spellings (case-insensitive; a bilingual
``A/B`` label maps when any of its parts does); ``--label-map SRC=DST`` overrides or extends it
(``SRC=-`` drops SRC). Labels that map to no CREMA-D emotion (calm, surprised, frustrated,
excited, other, unknown, ...) are dropped and listed.

The kept scores are written **as the model gave them, not renormalised**: a softmax model's
kept probabilities sum to one minus the probability it put on dropped labels, so a clip the
model calls "calm" scores low on every CREMA-D emotion rather than being forced onto one.
Several labels mapped to one emotion (e.g. ``exc=Happy`` next to ``hap``) are summed, which is
the probability of either for a softmax model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from serbias import vocab
from serbias.errors import SerbiasError
from serbias.text import split_pair

__all__ = [
    "BUILTIN_MAP",
    "DROP",
    "LabelMapping",
    "map_labels",
    "parse_label_map",
]

#: What ``--label-map SRC=-`` maps to: drop the label.
DROP = "-"

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "ANG": ("ang", "angry", "anger", "生气", "愤怒"),
    "DIS": ("dis", "disgust", "disgusted", "厌恶"),
    "FEA": ("fea", "fear", "fearful", "恐惧"),
    "HAP": ("hap", "happy", "happiness", "joy", "开心", "高兴"),
    "NEU": ("neu", "neutral", "中立", "中性"),
    "SAD": ("sad", "sadness", "难过", "伤心"),
}
#: Built-in map: casefolded label spelling -> CREMA-D emotion code (``vocab.EMOTIONS``).
BUILTIN_MAP: dict[str, str] = {
    spelling: code for code, spellings in _SPELLINGS.items() for spelling in spellings
}

_BAD_PAIR = "--label-map {pair!r}: expected SRC=DST with DST one of {targets} or - (to drop SRC)"


@dataclass(frozen=True)
class LabelMapping:
    """Where each model output goes: ``emotions[i]`` is output i's emotion code or None."""

    labels: tuple[str, ...]
    emotions: tuple[str | None, ...]

    @property
    def covered(self) -> tuple[str, ...]:
        """Emotion codes the model covers, in vocabulary order."""
        return tuple(code for code in vocab.EMOTIONS if code in self.emotions)

    @property
    def covered_names(self) -> tuple[str, ...]:
        """Predictions-table column names of the covered emotions, in vocabulary order."""
        return tuple(vocab.NAME_BY_EMOTION[code] for code in self.covered)

    @property
    def dropped(self) -> tuple[str, ...]:
        """Model labels that map to no CREMA-D emotion, in output order."""
        return tuple(
            label for label, code in zip(self.labels, self.emotions, strict=True) if code is None
        )

    def merged(self) -> tuple[str, ...]:
        """Emotion codes that more than one model label maps to (their scores are summed)."""
        return tuple(code for code in self.covered if self.emotions.count(code) > 1)

    def as_dict(self) -> dict[str, str | None]:
        """Model label -> predictions column (None when dropped), for the sidecar."""
        return {
            label: None if code is None else vocab.NAME_BY_EMOTION[code]
            for label, code in zip(self.labels, self.emotions, strict=True)
        }


def parse_label_map(pairs: Sequence[str] | Mapping[str, str] | None) -> dict[str, str | None]:
    """``["calm=Neutral", "fru=-"]`` -> ``{"calm": "NEU", "fru": None}`` (keys casefolded).

    DST is a predictions column (``Neutral``), an emotion code (``NEU``) or any spelling of
    the built-in map (``neutral``), in any case; ``-`` drops SRC.
    """
    if not pairs:
        return {}
    form = f"SRC=DST with DST one of {', '.join(vocab.EMOTION_NAMES)} or - (to drop SRC)"
    items = (
        list(pairs.items())
        if isinstance(pairs, Mapping)
        else [split_pair(str(p), what="--label-map", form=form, example="fru=-") for p in pairs]
    )
    parsed: dict[str, str | None] = {}
    for source, target in items:
        pair = f"{source}={target}"
        source, target = str(source).strip(), str(target).strip()
        if not source or not target:
            raise SerbiasError(_BAD_PAIR.format(pair=pair, targets=", ".join(vocab.EMOTION_NAMES)))
        if target == DROP:
            parsed[source.casefold()] = None
            continue
        code = _emotion_code(target)
        if code is None:
            raise SerbiasError(_BAD_PAIR.format(pair=pair, targets=", ".join(vocab.EMOTION_NAMES)))
        parsed[source.casefold()] = code
    return parsed


def map_labels(
    labels: Sequence[str], overrides: Mapping[str, str | None] | None = None, *, source: str = ""
) -> LabelMapping:
    """Map a model's label names (in output order) with the built-in map and ``overrides``
    (from :func:`parse_label_map`); refuses a model none of whose labels maps.

    ``source`` (the model) prefixes error messages.
    """
    overrides = dict(overrides or {})
    labels = tuple(str(label) for label in labels)
    where = f"{source}: " if source else ""
    duplicated = sorted({label for label in labels if labels.count(label) > 1})
    if duplicated:
        raise SerbiasError(f"{where}label {duplicated[0]!r} names more than one model output")
    unused = sorted(set(overrides) - {label.strip().casefold() for label in labels})
    if unused:
        raise SerbiasError(
            f"{where}--label-map names {unused[0]!r}, which is not one of the model's labels "
            f"({', '.join(labels)})"
        )
    emotions = tuple(_map_one(label, overrides) for label in labels)
    mapping = LabelMapping(labels, emotions)
    if not mapping.covered:
        raise SerbiasError(
            f"{where}none of the model's labels ({', '.join(labels) or 'none'}) maps to a CREMA-D "
            f"emotion ({', '.join(vocab.EMOTION_NAMES)}); map them with --label-map SRC=DST or "
            "name the outputs with --label-names"
        )
    return mapping


def _map_one(label: str, overrides: Mapping[str, str | None]) -> str | None:
    key = label.strip().casefold()
    if key in overrides:
        return overrides[key]
    if key in BUILTIN_MAP:
        return BUILTIN_MAP[key]
    parts = [part.strip() for part in key.split("/") if part.strip()]
    codes = {BUILTIN_MAP[part] for part in parts if part in BUILTIN_MAP}
    return codes.pop() if len(codes) == 1 else None


def _emotion_code(target: str) -> str | None:
    key = target.casefold()
    for code, name in vocab.NAME_BY_EMOTION.items():
        if key in (code.casefold(), name.casefold()):
            return code
    return BUILTIN_MAP.get(key)
