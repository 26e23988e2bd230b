"""The audit's settings: one dataclass, built from params.yaml, validated once, cheap to import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import serbias.audit
from serbias.audit import AuditParams
from serbias.config import load_params, override
from serbias.errors import SerbiasError


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": "sideways"}, "audit.target: 'sideways' is not one of intended, observed, both"),
        ({"decision": "vote"}, "audit.decision: 'vote' is not one of threshold, argmax"),
        ({"threshold": 0.0}, "audit.threshold: 0.0 is not in (0, 1]"),
        ({"n_boot": 0}, "audit.n_boot: 0 must be at least 1"),
        ({"n_perm": 0}, "audit.n_perm: 0 must be at least 1"),
        ({"n_chance": -1}, "audit.n_chance: -1 must be >= 0"),
        ({"confidence": 1.0}, "audit.confidence: 1.0 is not in (0, 1)"),
        ({"min_actors": 1}, "audit.min_actors: 1 must be at least 2"),
        ({"age_edges": (30, 20)}, "audit.age_edges: [30, 20] must be at least 2 increasing ages"),
        ({"reference": ("Male",)}, "audit: 'Male' must look like NAME=VALUE"),
        ({"reference": ("gender=Male",)}, "reference gender=Male: unknown axis 'gender'"),
        ({"column_map": ("angry=Furious",)}, "column map angry=Furious: 'Furious' is not one of"),
    ],
)
def test_every_bad_setting_is_a_one_line_error_at_construction(changes, message) -> None:
    with pytest.raises(SerbiasError) as raised:
        AuditParams(**changes)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_settings_are_keyword_only_and_derive_what_the_audit_needs() -> None:
    with pytest.raises(TypeError):
        AuditParams("both")  # type: ignore[misc]
    settings = AuditParams(target="both", reference=("sex=Male", "race=Caucasian"))
    assert settings.targets == ("intended", "observed")
    assert AuditParams().targets == ("intended",)
    assert settings.references == {"sex": "Male", "race": "Caucasian"}
    assert settings.seed is None and settings.seeded().seed == 0
    assert AuditParams(seed=5).seeded().seed == 5


def test_the_params_audit_section_is_these_settings(tmp_path: Path) -> None:
    params_file = tmp_path / "params.yaml"
    params_file.write_text(
        "base: {seed: 7}\naudit: {target: both, n_boot: 50, reference: [sex=Male]}\n"
    )
    params = load_params(params_file)
    assert isinstance(params.audit, AuditParams)
    assert params.audit == AuditParams(target="both", n_boot=50, reference=("sex=Male",), seed=7)
    # CLI overrides are validated by the same __post_init__
    assert override(params.audit, n_perm=10).n_perm == 10
    with pytest.raises(SerbiasError, match="audit.n_perm: 0 must be at least 1"):
        override(params.audit, n_perm=0)
    params_file.write_text("audit: {reference: [gender=Male]}\n")
    with pytest.raises(SerbiasError, match="unknown axis 'gender'"):
        load_params(params_file)


def test_importing_the_settings_and_params_loads_no_pandas_or_numpy() -> None:
    code = (
        "import sys, serbias.audit.settings, serbias.config, serbias.cli\n"
        "heavy = [m for m in ('pandas', 'numpy', 'scipy', 'sklearn', 'matplotlib') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_every_exported_name_resolves_lazily() -> None:
    assert set(serbias.audit._LAZY) <= set(serbias.audit.__all__)
    for name in serbias.audit.__all__:
        assert getattr(serbias.audit, name) is not None, name
    assert serbias.audit.AuditParams is AuditParams
    assert serbias.audit.run_audit.__module__ == "serbias.audit._audit"
    with pytest.raises(AttributeError, match="no attribute 'AuditSettings'"):
        serbias.audit.AuditSettings  # noqa: B018


def test_the_stated_settings_are_every_field_with_the_split_actually_applied() -> None:
    from serbias.audit._result import AuditResult

    settings = AuditParams(reference=("sex=Male",)).seeded()
    result = AuditResult(
        settings=settings,
        split_name=None,
        systems=(),
        analyses=(),
        human=None,
        group_sizes=None,
        by_group=None,
        gaps=None,
        by_actor=None,
        replica_summary=None,
        findings=(),
    )
    stated = result.stated_settings
    assert set(stated) == {f.name for f in dataclasses.fields(AuditParams)}
    assert stated["split_name"] is None and stated["seed"] == 0
    assert stated["reference"] == ("sex=Male",)
