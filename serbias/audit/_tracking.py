"""Log an audit to MLflow, linked to the audited model's run when its predictions say which.

An audit is one run of experiment ``serbias-audit``: the settings as params, every metric of
:attr:`AuditResult.metrics`, the written files as artifacts. An audit of several systems
(the pipeline audits every model at once) has one nested run per system with its own
metrics unprefixed and its own model tags, so the MLflow UI lists models as rows and compares
them on one column such as ``intended.sex.Female_vs_Male.macro_f1.gap``.

``serbias predict`` writes ``<stem>.model.json`` next to each predictions CSV; its fields
become tags (``serbias.audited_run_id`` ...), so an audit can be found from, and compared
with, the training run it audited. Third-party CSVs have none and are audited all the same,
just not linked. Only the generic calls of :mod:`serbias.tracking` touch MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from serbias.audit._result import AuditResult, system_key
from serbias.audit._sidecars import system_sidecars

EXPERIMENT: Final = "serbias-audit"
#: Run tags naming the audited models, from fields of their sidecars (comma-separated when
#: several); ``serbias.audited_version`` joins ``registered_name/version``.
SIDECAR_TAGS: Final = (
    ("serbias.audited_run_id", "run_id"),
    ("serbias.audited_model", "model_uri"),
    ("serbias.model", "model"),
    ("serbias.labels", "labels"),
)
_MAX_TAG = 5000  # characters MLflow keeps of a tag value


def audited_models(result: AuditResult) -> list[dict[str, Any]]:
    """The model sidecar of every audited predictions CSV that has one, with its ``source``."""
    return [info for system in result.systems for info in system_sidecars(system)]


def audit_tags(audited: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``serbias.stage`` and the tags linking a run to the models in ``audited``."""
    tags = {"serbias.stage": "audit"}
    for tag, key in SIDECAR_TAGS:
        values = list(dict.fromkeys(str(a[key]) for a in audited if a.get(key)))
        if values:
            tags[tag] = ",".join(values)[:_MAX_TAG]
    registered = list(
        dict.fromkeys(
            f"{a['registered_name']}/{a['version']}"
            for a in audited
            if a.get("registered_name") and a.get("version")
        )
    )
    if registered:
        tags["serbias.audited_version"] = ",".join(registered)[:_MAX_TAG]
    return tags


def audit_params(result: AuditResult) -> dict[str, str]:
    """The settings as run plus the audited systems, as flat MLflow params
    (``reference``: ``sex=Male``; lists comma-separated)."""
    stated = {**result.stated_settings, "systems": [system.name for system in result.systems]}
    from serbias.tracking import flat_params

    return flat_params(stated)


def track_audit(result: AuditResult, outputs: Mapping[str, Path]) -> str:
    """Log ``result`` (metrics, settings, written ``outputs``) as a run of experiment
    ``serbias-audit``; returns the run id."""
    names = [system.name for system in result.systems]
    run_name = "audit-" + ("+".join(names[:3]) + ("+..." if len(names) > 3 else "") or "human")
    metrics, params, audited = result.metrics, audit_params(result), audited_models(result)
    run_id = _log_run(metrics, outputs=outputs, params=params, audited=audited, run_name=run_name)
    if len(names) > 1:
        for name in names:
            prefix = system_key(name) + "."
            _log_run(
                {key[len(prefix) :]: v for key, v in metrics.items() if key.startswith(prefix)},
                outputs={},
                params=params,
                audited=[info for info in audited if info["system"] == name],
                run_name=f"audit-{name}",
                parent_run_id=run_id,
            )
    return run_id


def _log_run(
    metrics: Mapping[str, float],
    *,
    outputs: Mapping[str, Path],
    params: Mapping[str, str],
    audited: Sequence[Mapping[str, Any]],
    run_name: str,
    parent_run_id: str | None = None,
) -> str:
    """One run: ``metrics`` under MLflow-safe names, every file of ``outputs`` as an artifact
    (``plots/`` kept), the audited models' sidecars as ``audited_models.json``."""
    from serbias import tracking

    flat = tracking.metric_keys(metrics)  # a clash of names fails before the run starts
    with tracking.tracked_run(
        experiment=EXPERIMENT,
        run_name=run_name,
        params=params,
        tags=audit_tags(audited),
        parent_run_id=parent_run_id,
    ) as run_id:
        if flat:
            tracking.log_metrics(flat)
        for path in sorted(map(Path, outputs.values())):
            if path.is_file():
                tracking.log_artifact(path, "plots" if path.parent.name == "plots" else None)
        if audited:
            tracking.log_dict([dict(a) for a in audited], "audited_models.json")
    return run_id
