"""The model sidecars (``<stem>.model.json``) next to audited predictions CSVs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from serbias.errors import CorpusWarning


def system_sidecars(system: Any) -> list[dict[str, Any]]:
    """The sidecar of every source CSV of an audited system that has a readable one, with
    ``system`` and ``source`` added (unreadable ones are a warning and skipped)."""
    from serbias.predictions.sidecar import sidecar_path

    found = []
    for source in system.sources:
        sidecar = sidecar_path(Path(source))
        if not sidecar.is_file():
            continue
        try:
            info = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            warnings.warn(
                f"{sidecar}: unreadable model sidecar ignored ({exc})", CorpusWarning, stacklevel=2
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
