"""Log an audit to MLflow, linked to the audited model's run when its predictions say which.

An audit of several systems (the pipeline audits every model at once) is one run with every
system's metrics (prefixed by system) and one nested run per system with its own metrics
unprefixed and its own model tags, so the MLflow UI lists models as rows and compares them
on one column such as ``intended.sex.Female_vs_Male.macro_f1.gap``.

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

from serbias.audit._audit import AuditResult, system_key
from serbias.errors import CorpusWarning


def audited_models(result: AuditResult) -> list[dict[str, Any]]:
    """The model sidecar of every audited predictions CSV that has one, with its ``source``."""
    from serbias.predictions.sidecar import sidecar_path

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
    metrics, settings, audited = result.metrics, audit_settings(result), audited_models(result)
    run_id = tracking.log_audit(
        metrics, outputs=outputs, settings=settings, audited=audited, run_name=run_name
    )
    if len(names) > 1:
        for name in names:
            prefix = system_key(name) + "."
            tracking.log_audit(
                {key[len(prefix) :]: v for key, v in metrics.items() if key.startswith(prefix)},
                outputs={},
                settings=settings,
                audited=[info for info in audited if info["system"] == name],
                run_name=f"audit-{name}",
                parent_run_id=run_id,
            )
    return run_id
