"""The audit stage: settings and paths in; the audit, its files and its MLflow run out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from serbias.audit._audit import run_audit
from serbias.audit._ground_truth import read_planted
from serbias.audit._result import AuditResult
from serbias.audit._tracking import track_audit
from serbias.audit.report import write_audit
from serbias.audit.settings import AuditParams
from serbias.errors import SerbiasError

if TYPE_CHECKING:
    from serbias.config import PathsParams


@dataclass(frozen=True)
class AuditOutput:
    """An audit, the files written (name -> path) and its MLflow run (None: not tracked)."""

    result: AuditResult
    files: dict[str, Path]
    run_id: str | None


def audit_stage(
    predictions: Sequence[Path],
    settings: AuditParams,
    paths: PathsParams,
    *,
    split: Path | None = None,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
) -> AuditOutput:
    """Audit ``predictions`` (default: ``paths.predictions``) against the corpus at
    ``paths.data``, write the outputs to ``paths.audit`` and, with ``settings.track``, log
    them to MLflow; a synthetic corpus's ``synth.json`` adds the report's ground-truth box.
    ``split`` is a split JSON restricting the clips to ``settings.split_name``; ``strict``
    makes clips missing from the corpus an error."""
    from serbias.corpus.reader import read_corpus
    from serbias.corpus.split import load_split

    say = progress or (lambda _message: None)
    if settings.track:
        from serbias import tracking

        tracking.check_tracking()  # fail before the audit's work, not after it
    sources = list(predictions)
    if not sources and settings.human_baseline is not True:
        if not paths.predictions.exists():
            raise SerbiasError(
                f"no predictions given and {paths.predictions} does not exist "
                "(pass PRED_CSV..., run `serbias predict`, or use --human-baseline)"
            )
        sources = [paths.predictions]

    clips = read_corpus(paths.data, require_audio=False, strict=strict)
    splits = load_split(split, clips) if split is not None else None
    result = run_audit(sources, clips, settings, split=splits, strict=strict, progress=say)
    say(f"writing {paths.audit}")
    # a synthetic corpus knows the answer: the report checks the audit against it
    files = write_audit(result, paths.audit, planted=read_planted(paths.data))
    run_id = None
    if settings.track:
        say("logging to MLflow")
        run_id = track_audit(result, files)
    return AuditOutput(result, files, run_id)
