"""What a feature kind is, and :data:`KINDS`, the registry of kinds (the only list of them).

A kind turns one decoded clip (mono float32 at ``extract.sample_rate``) into float32
rows of a fixed shape. It owns a frozen Params dataclass (its ``extract.<name>`` section
of params.yaml) and knows, from those parameters, the shape of a clip's rows and, where
they have names, the columns. Everything else (the ``extract`` stage, the store, the
CLI's ``--kind`` choices, params validation) is generic and reads :data:`KINDS`.

Adding a kind: subclass :class:`FeatureKind` in one module and :func:`register` an
instance (the built-in ones are registered in ``serbias/features/__init__.py``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from serbias.errors import SerbiasError

if TYPE_CHECKING:
    import numpy as np

P = TypeVar("P")
#: Computes one clip's rows: mono float32 samples at the extract sample rate -> float32
#: array of the kind's row shape. Built once in the parent process and pickled to the
#: workers, so it must be picklable and should not import librosa when called.
Extractor = Callable[["np.ndarray"], "np.ndarray"]
#: Values of ``--kind`` that cannot name a kind.
RESERVED_NAMES = frozenset({"all"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Audio(Protocol):
    """The decoding settings every kind is computed under (``ExtractParams`` has them)."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def duration(self) -> float: ...  # seconds that fixed-length kinds pad or cut to


class FeatureKind(ABC, Generic[P]):
    """One kind of features: its parameters, the shape of a clip's rows, how to compute them.

    ``name`` is the kind's key everywhere (``--kind``, ``extract.<name>`` in params.yaml,
    ``<name>.npz`` in the store); ``Params`` is its frozen parameters dataclass, whose
    defaults are the reference study's; ``summary`` is a few words for help texts.
    """

    name: ClassVar[str]
    Params: ClassVar[type[Any]]
    summary: ClassVar[str]

    def check(self, params: P, audio: Audio) -> None:
        """Raise :meth:`invalid` for parameters that cannot work at ``audio``'s settings."""

    @abstractmethod
    def row_shape(self, params: P, audio: Audio) -> tuple[int, ...]:
        """Shape of one clip's rows (e.g. ``(n_mels, frames)``)."""

    def columns(self, params: P, audio: Audio) -> tuple[str, ...] | None:
        """Names of the columns of a flat row, or None when the values have no names."""
        return None

    @abstractmethod
    def extractor(self, params: P, audio: Audio) -> Extractor:
        """The picklable :data:`Extractor` for these parameters (may import librosa)."""

    def invalid(self, key: str, value: Any, expected: str) -> SerbiasError:
        """The one-line error for parameter ``key`` of this kind."""
        return SerbiasError(f"extract.{self.name}.{key}: {value!r}, expected {expected}")

    def __repr__(self) -> str:
        return f"<feature kind {self.name}>"


#: Modules whose kinds are built in (each defines one kind constant, registered on first use).
BUILT_IN = {"logmel": "serbias.features.logmel:LOGMEL",
            "svm": "serbias.features.handcrafted:HANDCRAFTED"}  # fmt: skip


class _Registry(MutableMapping[str, "FeatureKind[Any]"]):
    """Kinds by name in registration order; the built-in kinds load on first use, so importing
    serbias (for ``--help`` or params validation) does not import numpy and scipy."""

    def __init__(self) -> None:
        self._kinds: dict[str, FeatureKind[Any]] = {}
        self._loaded = False

    def _load(self) -> dict[str, FeatureKind[Any]]:
        if not self._loaded:
            self._loaded = True
            import importlib

            built_in = {}
            for name, target in BUILT_IN.items():
                module, constant = target.split(":")
                built_in[name] = getattr(importlib.import_module(module), constant)
            self._kinds = {**built_in, **self._kinds}
        return self._kinds

    def __getitem__(self, name: str) -> FeatureKind[Any]:
        return self._load()[name]

    def __setitem__(self, name: str, kind: FeatureKind[Any]) -> None:
        self._load()[name] = kind

    def __delitem__(self, name: str) -> None:
        del self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._load()))

    def __len__(self) -> int:
        return len(self._load())

    def names(self) -> list[str]:
        """Every kind's name, without loading the built-in ones (for ``--help``)."""
        return list(self._kinds) if self._loaded else [*BUILT_IN, *self._kinds]


#: Every known feature kind by name, in registration order (the order of ``--kind all``).
KINDS = _Registry()


def register(kind: FeatureKind[Any]) -> FeatureKind[Any]:
    """Add ``kind`` to :data:`KINDS`; its name must be new and a lowercase identifier."""
    name = getattr(kind, "name", None)
    if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED_NAMES:
        raise SerbiasError(
            f"feature kind name {name!r}: expected a lowercase identifier other than "
            f"{', '.join(sorted(RESERVED_NAMES))}"
        )
    if name in KINDS:
        raise SerbiasError(f"feature kind {name!r} is already registered ({KINDS[name]!r})")
    KINDS[name] = kind
    return kind


def feature_kind(name: str) -> FeatureKind[Any]:
    """The registered kind called ``name``; a SerbiasError lists the known ones."""
    if name not in KINDS:
        raise SerbiasError(f"feature kind {name!r} is not one of {', '.join(KINDS)}")
    return KINDS[name]
