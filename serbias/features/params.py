"""``extract`` parameters: how clips are decoded, which kinds, and each kind's own section.

In params.yaml the section reads ``extract: {sample_rate, duration, kinds, jobs, skip_bad,
<kind>: {...}}`` with one subsection per registered kind (its ``Params`` dataclass).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serbias.errors import SerbiasError
from serbias.features.base import KINDS, feature_kind

#: Settings that do not change the features, so they are not part of the store's identity.
RUN_SETTINGS = ("kinds", "jobs", "skip_bad")
#: Turns one params.yaml value into the type a hint asks for (``serbias.config`` passes its own).
Coerce = Callable[[Any, Any, str], Any]


def _every_kind() -> tuple[str, ...]:
    return tuple(KINDS)


@dataclass(frozen=True)
class ExtractParams:
    """``serbias extract``: decoding, the kinds to compute and every kind's parameters.

    Defaults reproduce the reference study (22,050 Hz, 3.0 s; each kind's Params holds
    its own). ``kind_params`` maps a kind's name to its Params (or to a mapping of its
    fields); kinds left out get their defaults, so :meth:`of` answers for every kind.
    """

    sample_rate: int = 22_050
    duration: float = 3.0
    kinds: tuple[str, ...] = field(default_factory=_every_kind)
    jobs: int | None = None
    skip_bad: bool = False
    kind_params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def bad(key: str, value: Any, expected: str) -> SerbiasError:
            return SerbiasError(f"extract.{key}: {value!r}, expected {expected}")

        if not 1000 <= self.sample_rate <= 192_000:
            raise bad("sample_rate", self.sample_rate, "a rate in 1000..192000 Hz")
        if not 0.0 < self.duration <= 600.0:
            raise bad("duration", self.duration, "seconds in (0, 600]")
        for kind in self.kinds:
            if kind not in KINDS:
                raise bad("kinds", kind, f"one of {', '.join(KINDS)}")
        if not self.kinds or len(set(self.kinds)) != len(self.kinds):
            raise bad("kinds", list(self.kinds), f"{' and/or '.join(KINDS)}, each at most once")
        if self.jobs is not None and self.jobs < 1:
            raise bad("jobs", self.jobs, "at least 1 (or null for every CPU core)")
        clash = sorted(set(KINDS) & {f.name for f in dataclasses.fields(self)})
        if clash:
            raise SerbiasError(f"feature kind {clash[0]!r} has the name of an extract setting")
        given = dict(self.kind_params)
        for name in given:
            if name not in KINDS:
                raise SerbiasError(
                    f"extract.{name}: not a feature kind (expected one of {', '.join(KINDS)})"
                )
        filled = {}
        for name, kind in KINDS.items():
            params = given.get(name, kind.Params())
            if isinstance(params, Mapping):
                params = kind.Params(**params)
            if not isinstance(params, kind.Params):
                raise SerbiasError(
                    f"extract.{name}: {params!r}, expected {kind.Params.__name__} or a mapping"
                )
            kind.check(params, self)
            filled[name] = params
        object.__setattr__(self, "kind_params", filled)

    def of(self, kind: str) -> Any:
        """The Params of ``kind`` (its ``extract.<kind>`` section)."""
        return self.kind_params[feature_kind(kind).name]

    def with_params(self, kind: str, **changes: Any) -> ExtractParams:
        """A copy with some of ``kind``'s parameters changed (and everything re-validated)."""
        changed = dataclasses.replace(self.of(kind), **changes)
        return dataclasses.replace(self, kind_params={**self.kind_params, kind: changed})

    def feature_params(self, kinds: Iterable[str] | None = None) -> dict[str, Any]:
        """What determines the features of ``kinds`` (default: :attr:`kinds`), JSON-ready.

        ``{"sample_rate", "duration", "<kind>": {...}}``: the store's identity and what a
        model records, so features and models are matched on exactly these values.
        """
        shared = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in (*RUN_SETTINGS, "kind_params")
        }
        names = self.kinds if kinds is None else kinds
        return _json_ready(
            {**shared, **{name: dataclasses.asdict(self.of(name)) for name in names}}
        )

    @classmethod
    def from_params(cls, values: Mapping[str, Any], where: str, coerce: Coerce) -> ExtractParams:
        """Build from a params.yaml ``extract`` mapping (``<kind>:`` keys are kind sections)."""
        hints = typing.get_type_hints(cls)
        settings = [f.name for f in dataclasses.fields(cls) if f.name != "kind_params"]
        kwargs: dict[str, Any] = {}
        kind_params: dict[str, Any] = {}
        for key, value in values.items():
            if key in settings:
                kwargs[key] = coerce(hints[key], value, f"{where}.{key}")
            elif key in KINDS:
                kind_params[key] = coerce(KINDS[key].Params, value or {}, f"{where}.{key}")
            else:
                expected = ", ".join([*settings, *KINDS])
                raise SerbiasError(
                    f"params {where}.{key}: unknown key (expected one of: {expected})"
                )
        return cls(**kwargs, kind_params=kind_params)


def flat_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Recorded feature parameters as one level of dotted keys (``logmel.n_mels``)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _json_ready(value: Any) -> Any:
    """Tuples as lists, recursively, so the values compare equal after a JSON round trip."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value
