"""The audit's settings: the ``audit`` section of params.yaml, validated once, passed whole.

``serbias audit`` builds one :class:`AuditParams` from params.yaml and its options and hands
it to :func:`serbias.audit.run_audit`; the resampling, the report and the MLflow run read
their settings from it. Only the standard library is imported here: the CLI imports the
params at start-up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final, Literal

from serbias import vocab
from serbias.audit._axes import DEFAULT_AGE_EDGES, parse_references
from serbias.audit._columns import parse_column_map
from serbias.errors import SerbiasError

Target = Literal["intended", "observed"]
TARGETS: Final[tuple[Target, ...]] = vocab.LABEL_KINDS  # scored on either label kind
TargetChoice = Literal["intended", "observed", "both"]
Decision = Literal["threshold", "argmax"]
DECISIONS: Final[tuple[Decision, ...]] = ("threshold", "argmax")
IntervalMethod = Literal["jackknife", "studentized", "percentile"]
INTERVALS: Final[tuple[IntervalMethod, ...]] = ("jackknife", "studentized", "percentile")
DEFAULT_MIN_ACTORS: Final = 4
#: true: always audit the listeners; false: never; auto: whenever the corpus has voice votes
HumanBaseline = bool | Literal["auto"]


@dataclass(frozen=True, kw_only=True)
class AuditParams:
    """``serbias audit``: targets, decision rule, resampling and groups of the bias audit."""

    target: TargetChoice = "intended"
    decision: Decision = "threshold"
    threshold: float = 0.5
    split_name: str = "test"
    n_boot: int = 1000
    n_perm: int = 1000
    n_chance: int = 20
    confidence: float = 0.95
    #: jackknife: delete-one-actor t intervals (Welch df) and a studentized permutation test;
    #: studentized: bootstrap-t with the same test; percentile: the percentile actor bootstrap
    #: with a raw-gap permutation test and the clip-shuffling chance model (the method before
    #: issue 13, kept to reproduce old audits)
    interval: IntervalMethod = "jackknife"
    seed: int | None = None  # None: base.seed (0 outside params.yaml)
    reference: tuple[str, ...] = ()
    min_actors: int = DEFAULT_MIN_ACTORS
    age_edges: tuple[int, ...] = DEFAULT_AGE_EDGES
    column_map: tuple[str, ...] = ()
    human_baseline: HumanBaseline = "auto"
    #: the smallest macro-F1 gap worth finding: a gap not found by a design that could only
    #: detect larger ones (80% power) is "cannot tell", not "no gap found"
    meaningful_gap: float = 0.10
    track: bool = True  # log the audit as a run of MLflow experiment serbias-audit

    def __post_init__(self) -> None:
        if self.target not in (*TARGETS, "both"):
            raise SerbiasError(
                f"audit.target: {self.target!r} is not one of intended, observed, both"
            )
        if self.decision not in DECISIONS:
            raise SerbiasError(f"audit.decision: {self.decision!r} is not one of threshold, argmax")
        if not 0.0 < self.threshold <= 1.0:
            raise SerbiasError(f"audit.threshold: {self.threshold} is not in (0, 1]")
        for name in ("n_boot", "n_perm"):
            if getattr(self, name) < 1:
                raise SerbiasError(f"audit.{name}: {getattr(self, name)} must be at least 1")
        if self.n_chance < 0:
            raise SerbiasError(f"audit.n_chance: {self.n_chance} must be >= 0")
        if not 0.0 < self.confidence < 1.0:
            raise SerbiasError(f"audit.confidence: {self.confidence} is not in (0, 1)")
        if self.interval not in INTERVALS:
            raise SerbiasError(
                f"audit.interval: {self.interval!r} is not one of {', '.join(INTERVALS)}"
            )
        if self.human_baseline not in (True, False, "auto"):
            raise SerbiasError(
                f"audit.human_baseline: {self.human_baseline!r} is not one of true, false, auto"
            )
        if not 0.0 < self.meaningful_gap <= 1.0:
            raise SerbiasError(f"audit.meaningful_gap: {self.meaningful_gap} is not in (0, 1]")
        if self.min_actors < 2:
            raise SerbiasError(f"audit.min_actors: {self.min_actors} must be at least 2")
        edges = self.age_edges
        if len(edges) < 2 or list(edges) != sorted(set(edges)):
            raise SerbiasError(f"audit.age_edges: {list(edges)} must be at least 2 increasing ages")
        for spec in (*self.reference, *self.column_map):
            if "=" not in spec:
                raise SerbiasError(
                    f"audit: {spec!r} must look like NAME=VALUE (e.g. sex=Male, angry=Anger)"
                )
        # unknown axes and column names fail here, not midway through an audit
        parse_references(self.reference)
        parse_column_map(self.column_map)

    def seeded(self) -> AuditParams:
        """These settings with an unset seed (no ``base.seed`` to inherit) made 0."""
        return self if self.seed is not None else dataclasses.replace(self, seed=0)

    @property
    def targets(self) -> tuple[Target, ...]:
        """The targets scored, in report order (``both``: intended, then observed)."""
        return TARGETS if self.target == "both" else (self.target,)

    @property
    def references(self) -> dict[str, str]:
        """Requested reference groups by axis (``sex=Male`` -> ``{"sex": "Male"}``)."""
        return parse_references(self.reference)
