"""Rich view of one ``serbias demo`` answer: sorted emotion bars, speaker guesses, model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from serbias.demo.classify import Classification

BAR_WIDTH = 30
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(p: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``p`` (0..1) in ``width`` cells, to an eighth of a cell."""
    eighths = round(max(0.0, min(1.0, p)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def _table(first: str) -> Table:
    table = Table()
    table.add_column(first)
    table.add_column("p", justify="right")
    table.add_column("", min_width=BAR_WIDTH, no_wrap=True)
    return table


def result_view(result: Classification, audio: Path) -> Group:
    """Tables of one classification, emotions sorted from most to least probable."""
    emotions = _table("Emotion")
    for name, p in sorted(result.emotions.items(), key=lambda item: -item[1]):
        style = "bold" if p >= result.threshold else ""
        emotions.add_row(Text(name, style), f"{p:.3f}", Text(bar(p), "cyan"))
    title = f"{audio.name}: emotion probabilities (each scored 0-1 on its own)"
    parts: list[Table | Text] = [Text(title, "bold"), emotions]
    detected = ", ".join(result.detected) or f"none (highest: {result.top_emotion})"
    parts.append(Text(f"At the model's threshold {result.threshold:g}: {detected}", "dim"))
    if result.speaker:
        from serbias.demo.classify import SPEAKER_ALTERNATIVES, SPEAKER_GUESSES

        alternative = {SPEAKER_GUESSES[h]: label for h, label in SPEAKER_ALTERNATIVES.items()}
        speaker = _table("Guess")
        for name, p in result.speaker.items():
            speaker.add_row(f"{name} (vs {alternative.get(name, 'not')})", f"{p:.3f}",
                            Text(bar(p), "magenta"))  # fmt: skip
        title = "The model's guesses about the speaker (what the bias audit probes, not facts)"
        parts += [Text(""), Text(title, "bold"), speaker]
    note = f"Answered by {result.model.describe()}."
    if result.seconds > result.heard_seconds + 0.005:
        heard, seconds = round(result.heard_seconds, 2), round(result.seconds, 2)
        note += f" The model heard the first {heard:g} s of {seconds:g} s."
    parts += [Text(""), Text(note, "dim")]
    return Group(*parts)
