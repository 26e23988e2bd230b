"""Log an audit to MLflow, linked to the audited model's run when its predictions say which.

``serbias predict`` writes ``<stem>.model.json`` next to each predictions CSV; third-party
CSVs have none and are audited all the same, just not linked. mlflow itself is only
imported by :mod:`serbias.tracking`.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

from serbias.audit._audit import AuditResult
from serbias.errors import CorpusWarning


def audited_models(result: AuditResult) -> list[dict[str, Any]]:
    """The model sidecar of every audited predictions CSV that has one, with its ``source``."""
    from serbias.predict import sidecar_path

    found = []
    for system in result.systems:
        for source in system.sources:
            sidecar = sidecar_path(Path(source))
            if not sidecar.is_file():
                continue
            try:
                info = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                warnings.warn(
                    f"{sidecar}: unreadable model sidecar ignored ({exc})",
                    CorpusWarning,
                    stacklevel=2,
                )
                continue
            if not isinstance(info, dict):
                warnings.warn(
                    f"{sidecar}: model sidecar is not a JSON object, ignored",
                    CorpusWarning,
                    stacklevel=2,
                )
                continue
            found.append({**info, "system": system.name, "source": str(source)})
    return found


def audit_settings(result: AuditResult) -> dict[str, Any]:
    """The audit's settings plus the audited systems, as MLflow params."""
    settings = dataclasses.asdict(result.settings)
    settings["systems"] = [system.name for system in result.systems]
    return settings


def track_audit(result: AuditResult, outputs: dict[str, Path]) -> str:
    """Log ``result`` (metrics, settings, written ``outputs``) as a run of experiment
    ``serbias-audit``; returns the run id."""
    from serbias import tracking

    names = [system.name for system in result.systems]
    run_name = "audit-" + ("+".join(names[:3]) + ("+..." if len(names) > 3 else "") or "human")
    return tracking.log_audit(
        result.metrics,
        outputs=outputs,
        settings=audit_settings(result),
        audited=audited_models(result),
        run_name=run_name,
    )
