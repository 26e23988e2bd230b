"""The only reader of ``params.yaml``: typed, validated sections, one per stage.

Lookup order: an explicit path, then ``$SERBIAS_PARAMS``, then ``./params.yaml``;
with none of them the built-in defaults below apply, so the tool works outside the repo.
A profile (``profiles: {paper: {train: {...}}}``), chosen with ``base.profile`` (a param
DVC tracks, so ``dvc exp run -S base.profile=paper`` is recorded in dvc.lock), is merged over
the sections; ``$SERBIAS_PROFILE`` only sets that key. CLI options override everything via
:func:`override`. Each section's dataclass lives in the package that uses it.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from serbias.audit.settings import AuditParams
from serbias.errors import SerbiasError, first_line
from serbias.features.params import ExtractParams

PARAMS_FILE = "params.yaml"
DEFAULT_PROFILE = "default"
Section = TypeVar("Section")


@dataclass(frozen=True)
class BaseParams:
    """Settings shared by every stage: the seed sections inherit, and the profile in force
    (``default``: the sections as written; any other name: ``profiles.<name>`` merged over them)."""

    seed: int = 0
    profile: str = DEFAULT_PROFILE


@dataclass(frozen=True)
class PathsParams:
    """Where each stage reads and writes, relative to the working directory (the repo root)."""

    data: Path = Path("data")
    split: Path = Path("outputs/split.json")
    features: Path = Path("outputs/features")
    train: Path = Path("outputs/train")
    predictions: Path = Path("outputs/predictions")
    audit: Path = Path("outputs/audit")


from serbias.corpus.params import SplitParams, SynthParams  # noqa: E402
from serbias.demo.params import DemoParams  # noqa: E402
from serbias.predictions.params import PredictParams  # noqa: E402
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
            reason = first_line(exc)
            raise SerbiasError(f"{source}: cannot read params ({reason})") from None
        if not isinstance(raw, dict):
            raise SerbiasError(f"{source}: expected a mapping of sections at the top level")
    raw = dict(raw)
    profiles = raw.pop("profiles", {}) or {}
    base = raw.get("base") or {}
    if not isinstance(base, dict):
        raise SerbiasError(f"params base: expected a mapping, got {base!r}")
    profile = profile or os.environ.get("SERBIAS_PROFILE") or base.get("profile") or None
    if profile is not None and profile != DEFAULT_PROFILE:
        if profile not in profiles:
            known = ", ".join([DEFAULT_PROFILE, *sorted(profiles)])
            raise SerbiasError(f"base.profile: {profile!r} is not a profile of {source} ({known})")
        raw = deep_merge(raw, profiles[profile] or {})
    if profile is not None:
        raw["base"] = {**base, "profile": profile}

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
    name = _section_name(type(section), Params) or type(section).__name__
    changes = {k: _coerce(hints[k], v, f"{name}.{k}") for k, v in changes.items()}
    return dataclasses.replace(section, **changes)  # type: ignore[type-var]


def _section_name(cls: type, within: type, prefix: str = "") -> str | None:
    """The dotted params key of section class ``cls`` inside ``within`` (e.g.
    ``predict.pretrained``), or None."""
    for key, hint in typing.get_type_hints(within).items():
        if hint is cls:
            return prefix + key
        if dataclasses.is_dataclass(hint) and (
            found := _section_name(cls, hint, f"{prefix}{key}.")
        ):
            return found
    return None


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
    if hasattr(cls, "from_params"):  # a section whose keys come from a registry
        return cls.from_params(values, where, _coerce)
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
        return hint.from_params(value, where, _coerce)
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
