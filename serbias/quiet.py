"""A quiet terminal: TensorFlow's start-up lines and third-party log notices stay off stderr.

TensorFlow's C++ runtime writes its start-up lines (``All log messages before
absl::InitializeLog()``, ``oneDNN custom operations are on``, cuInit, cuDNN factory
registrations) straight to file descriptor 2 while ``import tensorflow`` runs, before any
Python logging exists and whatever ``TF_CPP_MIN_LOG_LEVEL`` says. :func:`install` (run when
``serbias`` is imported, so worker processes get it too) puts an import hook in front of that
one import: descriptor 2 points at a temporary file while TensorFlow's package initialises and
is restored right after; if the import fails, what it wrote is replayed to stderr. oneDNN stays
on (``TF_ENABLE_ONEDNN_OPTS=0`` would change floating-point results).

``SERBIAS_VERBOSE=1`` (``serbias -v``; spawned workers inherit it) turns all of this off.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

VERBOSE_ENV = "SERBIAS_VERBOSE"
#: Packages whose first import writes C++ start-up lines to descriptor 2.
NOISY_IMPORTS = ("tensorflow",)
#: Python loggers whose warnings are notices, not problems, in a normal run (errors still
#: show). MLflow's level is set where it is imported (``serbias.tracking.store``).
NOISY_LOGGERS = ("absl", "tensorflow", "h5py")
#: C++ log level for TensorFlow once its logging is initialised: 3 keeps even cuInit's
#: "no GPU" error (expected on CPU hosts) quiet; numerics are unaffected.
_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}


def verbose() -> bool:
    """Whether the user asked to see every third-party line (``$SERBIAS_VERBOSE``)."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def set_verbose(on: bool) -> None:
    """Turn verbose output on or off for this process and the workers it starts."""
    if on:
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.pop(VERBOSE_ENV, None)
    quiet_loggers()


def quiet_loggers() -> None:
    """Only errors from :data:`NOISY_LOGGERS`, unless verbose."""
    level = logging.NOTSET if verbose() else logging.ERROR
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)


@contextmanager
def silenced_stderr() -> Iterator[None]:
    """Point file descriptor 2 (C and C++ writes included) at a temporary file; on an
    exception, replay what was written there to stderr before re-raising."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            _restore(saved)
            sink.seek(0)
            os.write(2, sink.read())
            raise
        else:
            _restore(saved)


def _restore(saved: int) -> None:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Runs a package's initialisation with stderr silenced, then hands the module back to
    its own loader."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with silenced_stderr():
            self.loader.exec_module(module)


class _QuietImports(importlib.abc.MetaPathFinder):
    """Finds :data:`NOISY_IMPORTS` with the other finders and wraps their loaders."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in NOISY_IMPORTS or verbose():
            return None
        for key, value in _TF_ENV.items():
            os.environ.setdefault(key, value)
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Put the quiet-import hook first on ``sys.meta_path`` (once) and quiet the loggers."""
    if not any(isinstance(finder, _QuietImports) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietImports())
    quiet_loggers()
