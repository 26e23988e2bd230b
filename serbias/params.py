"""The only reader of ``params.yaml``: typed, validated sections, one per stage.

Lookup order: an explicit path, then ``$SERBIAS_PARAMS``, then ``./params.yaml``;
with none of them the built-in defaults below apply, so the tool works outside the repo.
A profile (``profiles: {paper: {train: {...}}}``), chosen with ``$SERBIAS_PROFILE``,
is merged over the sections. CLI options override everything via :func:`override`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from serbias.errors import SerbiasError
from serbias.features.params import ExtractParams

PARAMS_FILE = "params.yaml"
Section = TypeVar("Section")


@dataclass(frozen=True)
class BaseParams:
    """Settings shared by every stage."""

    seed: int = 0


@dataclass(frozen=True)
class PathsParams:
    """Where each stage reads and writes, relative to the working directory (the repo root)."""

    data: Path = Path("data")
    split: Path = Path("outputs/split.json")
    features: Path = Path("outputs/features")
    train: Path = Path("outputs/train")
    predictions: Path = Path("outputs/predictions")
    audit: Path = Path("outputs/audit")


@dataclass(frozen=True)
class SynthParams:
    """``serbias synth``: size and ground truth of the synthetic corpus."""

    actors: int = 30
    sentences: int = 6
    full: bool = False
    seed: int | None = None
    bias: tuple[str, ...] = ()
    raters: int = 10
    jobs: int | None = None

    def __post_init__(self) -> None:
        if not 2 <= self.actors <= 91:
            raise SerbiasError(f"synth.actors: {self.actors} is not in 2..91")
        if not 1 <= self.sentences <= 12:
            raise SerbiasError(f"synth.sentences: {self.sentences} is not in 1..12")
        if self.raters < 1:
            raise SerbiasError(f"synth.raters: {self.raters} must be at least 1")
        if self.jobs is not None and self.jobs < 1:
            raise SerbiasError(f"synth.jobs: {self.jobs} must be at least 1 (or null: every CPU)")


@dataclass(frozen=True)
class SplitParams:
    """``serbias split``: speaker-independent or the reference study's clip split."""

    mode: Literal["speaker", "clip"] = "speaker"
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SerbiasError(f"split.{name}: {value} is not a fraction in [0, 1]")
        total = self.train + self.val + self.test
        if total > 1.0 + 1e-9:
            raise SerbiasError(
                f"split sizes: train {self.train} + val {self.val} + test {self.test} = "
                f"{total:g}, expected a sum <= 1"
            )
        if self.train <= 0.0:
            raise SerbiasError("split.train: must be > 0")


from serbias.training.params import TrainParams  # noqa: E402


def override_family(train: TrainParams, **cli_values: Any) -> TrainParams:
    """Apply CLI values to the chosen family's section of ``train.models``.

    A value that the chosen family does not have (e.g. ``--attention-heads`` with
    ``--model svm``) is an error, not silently ignored.
    """
    given = {k: v for k, v in cli_values.items() if v is not None}
    family = train.family()
    known = {f.name for f in dataclasses.fields(family)}
    for key in given:
        if key not in known:
            raise SerbiasError(
                f"train.models: {key!r} is not a hyperparameter of --model {train.model} "
                f"(it has: {', '.join(sorted(known))})"
            )
    if not given:
        return train
    hints = typing.get_type_hints(type(family))
    given = {k: _coerce(hints[k], v, f"train.models.{train.model}.{k}") for k, v in given.items()}
    return train.with_family(dataclasses.replace(family, **given))


@dataclass(frozen=True)
class PredictParams:
    """``serbias predict``: which model (URI) predicts which split.

    ``model`` null means the champion of ``train.model`` / ``train.labels``
    (``models:/serbias-<model>-<labels>@champion``).
    """

    model: str | None = None
    split_name: str = "test"
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise SerbiasError(f"predict.batch_size: {self.batch_size} must be at least 1")
        if not self.split_name:
            raise SerbiasError("predict.split_name: must not be empty")


@dataclass(frozen=True)
class AuditParams:
    """``serbias audit``: targets, decision rule, resampling and groups of the bias audit."""

    target: Literal["intended", "observed", "both"] = "intended"
    decision: Literal["threshold", "argmax"] = "threshold"
    threshold: float = 0.5
    split_name: str = "test"
    n_boot: int = 1000
    n_perm: int = 1000
    n_chance: int = 20
    confidence: float = 0.95
    seed: int | None = None
    reference: tuple[str, ...] = ()
    min_actors: int = 3
    age_edges: tuple[int, ...] = (20, 30, 40, 50, 75)
    column_map: tuple[str, ...] = ()
    human_baseline: bool = False
    track: bool = True  # log the audit as a run of MLflow experiment serbias-audit

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise SerbiasError(f"audit.threshold: {self.threshold} is not in (0, 1]")
        for name in ("n_boot", "n_perm"):
            if getattr(self, name) < 1:
                raise SerbiasError(f"audit.{name}: {getattr(self, name)} must be at least 1")
        if self.n_chance < 0:
            raise SerbiasError(f"audit.n_chance: {self.n_chance} must be >= 0")
        if not 0.0 < self.confidence < 1.0:
            raise SerbiasError(f"audit.confidence: {self.confidence} is not in (0, 1)")
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


@dataclass(frozen=True)
class DemoParams:
    """``serbias demo``: which model answers, where the local web app listens, what it accepts."""

    model: str = "models:/serbias-multitask-intended@champion"
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: float = 10.0
    max_seconds: float = 60.0

    def __post_init__(self) -> None:
        for key in ("model", "host"):
            if not getattr(self, key).strip():
                raise SerbiasError(f"demo.{key}: must not be empty")
        if not 1 <= self.port <= 65535:
            raise SerbiasError(f"demo.port: {self.port} is not a TCP port (1..65535)")
        if self.max_upload_mb <= 0:
            raise SerbiasError(f"demo.max_upload_mb: {self.max_upload_mb} must be > 0")
        if self.max_seconds <= 0:
            raise SerbiasError(f"demo.max_seconds: {self.max_seconds} must be > 0")


@dataclass(frozen=True)
class Params:
    """Every section of params.yaml, with defaults filled in."""

    base: BaseParams = field(default_factory=BaseParams)
    paths: PathsParams = field(default_factory=PathsParams)
    synth: SynthParams = field(default_factory=SynthParams)
    split: SplitParams = field(default_factory=SplitParams)
    extract: ExtractParams = field(default_factory=ExtractParams)
    train: TrainParams = field(default_factory=TrainParams)
    predict: PredictParams = field(default_factory=PredictParams)
    audit: AuditParams = field(default_factory=AuditParams)
    demo: DemoParams = field(default_factory=DemoParams)
    source: Path | None = None


def find_params_file(path: Path | None = None) -> Path | None:
    """The params file in force, or None when only built-in defaults apply."""
    if path is not None:
        if not Path(path).is_file():
            raise SerbiasError(f"{path}: params file not found")
        return Path(path)
    env = os.environ.get("SERBIAS_PARAMS")
    if env:
        return find_params_file(Path(env))
    local = Path.cwd() / PARAMS_FILE
    return local if local.is_file() else None


def load_params(path: Path | None = None, *, profile: str | None = None) -> Params:
    """Read and validate params.yaml (see the module docstring for the lookup order)."""
    source = find_params_file(path)
    raw: dict[str, Any] = {}
    if source is not None:
        import yaml

        try:
            raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            reason = str(exc).splitlines()[0]
            raise SerbiasError(f"{source}: cannot read params ({reason})") from None
        if not isinstance(raw, dict):
            raise SerbiasError(f"{source}: expected a mapping of sections at the top level")
    raw = dict(raw)
    profiles = raw.pop("profiles", {}) or {}
    profile = profile or os.environ.get("SERBIAS_PROFILE") or None
    if profile is not None:
        if profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise SerbiasError(f"profile {profile!r} not in {source} (known: {known})")
        raw = deep_merge(raw, profiles[profile] or {})

    sections = {f.name: f.type for f in dataclasses.fields(Params) if f.name != "source"}
    hints = typing.get_type_hints(Params)
    built: dict[str, Any] = {}
    for name, values in raw.items():
        if name not in sections:
            raise SerbiasError(
                f"{source}: unknown section {name!r} (expected one of: {', '.join(sections)})"
            )
        built[name] = _build(hints[name], values or {}, name)
    params = Params(**built, source=source)
    return _fill_seeds(params)


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied key by key, nested mappings merged (not replaced)."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def override(section: Section, **cli_values: Any) -> Section:
    """Return ``section`` with every CLI value that is not None applied (and re-validated)."""
    changes = {k: v for k, v in cli_values.items() if v is not None}
    if not changes:
        return section
    hints = typing.get_type_hints(type(section))
    name = next(k for k, v in typing.get_type_hints(Params).items() if v is type(section))
    changes = {k: _coerce(hints[k], v, f"{name}.{k}") for k, v in changes.items()}
    return dataclasses.replace(section, **changes)  # type: ignore[type-var]


def _fill_seeds(params: Params) -> Params:
    """Sections whose seed is unset inherit ``base.seed``."""
    filled = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if dataclasses.is_dataclass(value) and getattr(value, "seed", 0) is None:
            value = dataclasses.replace(value, seed=params.base.seed)
        filled[f.name] = value
    return Params(**filled)


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise SerbiasError(f"params {where}: expected a mapping, got {values!r}")
    if hasattr(cls, "from_mapping"):  # a section whose keys come from a registry
        return cls.from_mapping(values, where, _coerce)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise SerbiasError(
                f"params {where}.{key}: unknown key (expected one of: {', '.join(sorted(known))})"
            )
    kwargs = {key: _coerce(hints[key], value, f"{where}.{key}") for key, value in values.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Check ``value`` against a type hint, converting lists to tuples and ints to floats."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except SerbiasError as exc:
                errors.append(str(exc))
        raise SerbiasError(errors[0])
    if origin is Literal:
        if value not in args:
            raise SerbiasError(
                f"params {where}: {value!r} is not one of {', '.join(map(str, args))}"
            )
        return value
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            value = [value]
        return tuple(_coerce(args[0], v, where) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise SerbiasError(f"params {where}: expected a mapping, got {value!r}")
        return {_coerce(args[0], k, where): _coerce(args[1], v, where) for k, v in value.items()}
    if hasattr(hint, "from_params"):
        return hint.from_params(value, where, _build)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise SerbiasError(f"params {where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SerbiasError(f"params {where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SerbiasError(f"params {where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise SerbiasError(f"params {where}: expected a string, got {value!r}")
        return value
    if hint is Path:
        return Path(value)
    raise TypeError(f"unsupported params type {hint!r} at {where}")
