"""Trainings as Ray tasks, on a local Ray kept on loopback or on a cluster by address.

The shared arrays and the context go into Ray's object store once; each training is a task
of one remote function that declares its resources and its retries (``max_retries``,
``retry_exceptions``), so Ray itself re-runs a task whose worker raised or died. A task that
holds a GPU gets a fresh worker (``max_calls=1``) with TensorFlow's memory growth on, so the
GPU's memory is freed between trainings; CPU workers are reused, so TensorFlow is imported
once per worker, and each worker's BLAS/OpenMP threads are capped at its task's CPUs. Each
attempt learns its number from Ray's own task context (1 for the first, as the local
executor does) and returns it with its result, so the driver records the retries. The
driver collects results as tasks finish; it does every MLflow write itself. A local Ray can
start in the background (:func:`prestart`) while the driver loads its data.

Joining a cluster started with ``ray start`` (Ray 2.60 turns token authentication on for
those): the driver sets ``RAY_AUTH_MODE=token`` and either ``RAY_AUTH_TOKEN_PATH`` (a copy of
the head's ``~/.ray/auth_token``) or ``RAY_AUTH_TOKEN``. Every node needs the same
serbias environment (``pip install -e ".[ray]"``) as the driver.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from serbias.cpu import available_cpus, limit_threads
from serbias.errors import SerbiasError
from serbias.training.executors.base import (
    CRASH_ONCE_ENV,
    TaskFailure,
    TrainingTask,
    Work,
    first_line,
)
from serbias.training.params import TaskResources

RAY_EXTRA = 'pip install -e ".[ray]"'
LOOPBACK = "127.0.0.1"
#: Ray binds to every interface and rewrites 127.0.0.1 to the machine's network address
#: unless this is "0" before ``import ray``; a Ray that serbias starts stays on loopback.
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
REACH_TIMEOUT = 5.0  # seconds for the TCP check of a cluster address
#: Ray retries a refused GCS handshake 20 times, a second apart; a wrong token needs fewer.
GCS_CONNECT_ATTEMPTS = "5"
AUTH_MARKERS = ("InvalidAuthToken", "Unauthenticated", "AuthenticationError", "auth token")
QUIET_RETRIES_ENV = "RAY_enable_output_error_log_if_still_retry"


class RayExecutor:
    """Run training tasks on Ray: ``address`` ``auto``, ``host:port`` (or ``ray://host:port``),
    or None to start a local Ray on loopback; each task holds ``resources`` and is retried
    ``retries`` times by Ray after an exception or a lost worker.

    A run owns its connection: :meth:`connect` (also called by :meth:`run`) joins or starts
    Ray and checks that some node can hold one task; the connection closes when the run ends.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        resources: Mapping[str, float] | None = None,
        retries: int = 2,
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise SerbiasError(f"train.retries: {retries!r} (expected a whole number >= 0)")
        self.address = _check_address(address)
        self.resources = TaskResources.from_mapping(resources)
        self.retries = retries
        #: attempts per task key of the last run (1: no retry)
        self.attempts: dict[str, int] = {}
        self._owns_connection = False

    @property
    def threads(self) -> int:
        """Compute threads each task may use: what ``TaskContext.threads`` should say."""
        return self.resources.threads

    def __enter__(self) -> RayExecutor:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Join or start Ray (once) and check that some node can hold one task.

        Raises a one-line SerbiasError, before any training, when Ray is not installed, the
        address is unreachable or refuses this driver's token, or no node has the resources.
        """
        ray = _import_ray(loopback=self.address is None or _is_loopback(self.address))
        if self.address is None and _started_in_background():
            self._owns_connection = True
        elif not ray.is_initialized():
            if self.address is None:
                _start_local(ray)
            else:
                _join(ray, self.address)
            self._owns_connection = True
        try:
            self.check_resources()
        except SerbiasError:
            self.close()
            raise

    def close(self) -> None:
        """Disconnect (a local Ray this executor started stops with it)."""
        if self._owns_connection:
            import ray

            ray.shutdown()
            _BACKGROUND_STOPPED.set()  # a background start's thread may end now
            self._owns_connection = False

    def check_resources(self) -> None:
        """Refuse resources no alive node has in total (Ray would wait for them forever)."""
        import ray

        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        need = {"CPU": self.resources.num_cpus, "GPU": self.resources.num_gpus}
        if any(all(node.get(k, 0.0) >= v for k, v in need.items()) for node in nodes):
            return
        largest = max(nodes, key=lambda n: (n.get("GPU", 0.0), n.get("CPU", 0.0)), default={})
        raise SerbiasError(
            f"train.resources: no Ray node of {self.address or 'the local Ray'} has "
            f"num_cpus={self.resources.num_cpus:g}, num_gpus={self.resources.num_gpus:g} "
            f"(largest: {largest.get('CPU', 0.0):g} CPUs, {largest.get('GPU', 0.0):g} GPUs "
            f"on {len(nodes)} node(s)); lower train.resources"
        )

    # ------------------------------------------------------------------ running

    def run(
        self,
        work: Work,
        arrays: Mapping[str, np.ndarray],
        context: Any,
        tasks: Sequence[TrainingTask],
    ) -> Iterator[Any | TaskFailure]:
        """Yield each task's result, or a TaskFailure once Ray's retries are spent, as it
        finishes. Abandoning the iterator cancels the tasks still running."""
        self.attempts = {}
        if not tasks:
            return
        self.connect()
        import ray

        pending: dict[Any, TrainingTask] = {}
        try:
            train = ray.remote(
                num_cpus=self.resources.num_cpus,
                num_gpus=self.resources.num_gpus,
                max_retries=self.retries,
                retry_exceptions=True,
                max_calls=1 if self.resources.num_gpus else 0,
            )(run_task)
            shared = ray.put({name: np.asarray(values) for name, values in arrays.items()})
            shared_context = ray.put(context)
            options = TaskOptions(
                gpu=self.resources.num_gpus > 0,
                threads=self.threads,
                crash_once=os.environ.get(CRASH_ONCE_ENV) or None,
            )
            for task in tasks:
                ref = train.options(name=task.key).remote(
                    work, shared, shared_context, task, options
                )
                pending[ref] = task
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(ref)
                try:
                    attempt, outcome = ray.get(ref)
                except ray.exceptions.RayError as error:
                    attempt = self.retries + 1  # Ray gave up after its declared retries
                    outcome = TaskFailure(task.key, attempt, task_error(error))
                self.attempts[task.key] = attempt
                yield outcome
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            self.close()


@dataclass(frozen=True)
class TaskOptions:
    """How a worker prepares for one training (picklable; read in the worker)."""

    gpu: bool
    #: BLAS/OpenMP threads of the worker: its task's whole CPUs
    threads: int = 1
    #: the driver's ``$SERBIAS_TEST_CRASH_ONCE``: a cluster's workers do not inherit its env
    crash_once: str | None = None


def run_task(
    work: Work,
    arrays: Mapping[str, np.ndarray],
    context: Any,
    task: TrainingTask,
    options: TaskOptions,
) -> tuple[int, Any]:
    """One attempt of ``task`` in a Ray worker: prepare the process, run the work; returns
    (attempt number, the work's result)."""
    attempt = _attempt_number()
    if options.crash_once:  # the work calls crash_if_asked, which reads it here
        os.environ[CRASH_ONCE_ENV] = options.crash_once
    else:
        os.environ.pop(CRASH_ONCE_ENV, None)
    if options.gpu:  # a fresh worker per GPU task (max_calls=1), before TensorFlow starts
        os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    limit_threads(options.threads)
    return attempt, work(arrays, context, task, attempt)


def _attempt_number() -> int:
    """This task's attempt, 1 for the first: Ray counts the retries it declared (0-based).

    Ray 2.60 (the pinned extra) exposes it only on the core worker; a per-run actor that
    counted attempts instead cost a worker process and seconds of start-up on small nodes.
    """
    import ray

    return int(ray._private.worker.global_worker.core_worker.get_current_task_attempt_number()) + 1


def task_error(error: BaseException) -> str:
    """A failed task's error in one line: the work's own exception when it raised one."""
    cause = getattr(error, "cause", None)
    return first_line(cause if isinstance(cause, BaseException) else error)


# ---------------------------------------------------------------------- connecting


def _import_ray(*, loopback: bool) -> Any:
    if loopback:  # read once, when ray is first imported
        os.environ[LOOPBACK_ENV] = "0"
    try:
        import ray
    except ImportError:
        raise SerbiasError(f"the ray executor needs Ray: {RAY_EXTRA}") from None
    return ray


def _init_options() -> dict[str, Any]:
    """Keep workers' output and Ray's notices off the driver's terminal (and Rich's bar)."""
    # The driver owns the tasks: without this it prints a line per retry it schedules.
    os.environ.setdefault(QUIET_RETRIES_ENV, "0")
    return {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}


_BACKGROUND_START: Future[bool] | None = None
#: Set when the background-started Ray stops: its starting thread lives until then, since
#: Ray's head processes get their parent-death signal when the thread that spawned them ends.
_BACKGROUND_STOPPED = threading.Event()


def prestart() -> None:
    """Start a local Ray on loopback in a background thread, so that its start-up (seconds
    on a small machine) overlaps the driver's own work; the next :meth:`RayExecutor.connect`
    without an address waits for it and owns it (an error surfaces there)."""
    global _BACKGROUND_START
    if _BACKGROUND_START is not None:
        return
    ray = _import_ray(loopback=True)
    if ray.is_initialized():
        return
    if threading.current_thread() is threading.main_thread():
        # ray.init sets this handler only on the main thread: a killed driver still unwinds
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started: Future[bool] = Future()

    def start() -> None:
        try:
            with _quiet_logger("ray._private.worker"):  # its "not the main thread" warning
                _start_local(ray)
        except BaseException as error:  # handed to the thread that connects
            started.set_exception(error)
            return
        started.set_result(True)
        _BACKGROUND_STOPPED.wait()

    _BACKGROUND_STOPPED.clear()
    threading.Thread(target=start, name="serbias-ray-start", daemon=True).start()
    _BACKGROUND_START = started


def _started_in_background() -> bool:
    """Wait for :func:`prestart`'s Ray, if one is starting; whether there was one."""
    global _BACKGROUND_START
    started, _BACKGROUND_START = _BACKGROUND_START, None
    return started is not None and started.result()


def stop_prestarted() -> None:
    """Stop a :func:`prestart` Ray that no executor connected to (the run ended before)."""
    if _started_in_background():
        import ray

        ray.shutdown()
        _BACKGROUND_STOPPED.set()


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    sys.exit(signum)


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _start_local(ray: Any) -> None:
    """A local Ray on this machine's CPUs and GPUs, listening on 127.0.0.1 only."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        address="local",
        num_cpus=available_cpus(),
        include_dashboard=False,
        _node_ip_address=LOOPBACK,
        **_init_options(),
    )


def _join(ray: Any, address: str) -> None:
    """Connect to a running cluster; a refusal is one SerbiasError naming what to set."""
    target = (os.environ.get("RAY_ADDRESS") or address) if address == "auto" else address
    if target != "auto":
        _check_reachable(target)
    with _quiet_stderr() as stderr, _gcs_attempts(GCS_CONNECT_ATTEMPTS):
        try:
            ray.init(address=address, **_init_options())
        except (ConnectionError, RuntimeError, ray.exceptions.RayError) as error:
            text = _chain_text(error) + stderr()
            if any(marker in text for marker in AUTH_MARKERS):
                raise SerbiasError(
                    f"the Ray cluster at {target} refused this driver's authentication token: "
                    "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH to a copy of the head's "
                    "~/.ray/auth_token (or RAY_AUTH_TOKEN to its content)"
                ) from None
            raise SerbiasError(
                f"cannot connect to a Ray cluster at {target}: {first_line(error)}"
            ) from None


def _check_address(address: str | None) -> str | None:
    if address is None or address == "auto":
        return address
    host, port = _host_port(address)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SerbiasError(
            f"--ray-address {address!r}: expected auto, host:port or ray://host:port"
        )
    return address


def _host_port(address: str) -> tuple[str, str]:
    bare = address.removeprefix("ray://")
    host, _, port = bare.rpartition(":")
    return host.strip("[]"), port


def _is_loopback(address: str) -> bool:
    if address == "auto":
        return False
    host, _ = _host_port(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_reachable(address: str) -> None:
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SerbiasError(
            f"cannot reach a Ray cluster at {address} ({reason}); start one with "
            "`ray start --head` or check --ray-address"
        ) from None


def _chain_text(error: BaseException | None) -> str:
    texts = []
    while error is not None:
        texts.append(f"{type(error).__name__}: {error}")
        error = error.__cause__ or error.__context__
    return "\n".join(texts)


@contextmanager
def _gcs_attempts(attempts: str) -> Iterator[None]:
    """Fewer handshake attempts with an existing GCS (Ray's default is 20 s of retries)."""
    name = "RAY_gcs_server_port_wait_time_s"
    if name in os.environ:
        yield
        return
    os.environ[name] = attempts
    try:
        yield
    finally:
        os.environ.pop(name, None)


@contextmanager
def _quiet_stderr() -> Iterator[Any]:
    """Send this process's file descriptor 2 (Ray's C++ warnings) to a temporary file while
    connecting; yields a function returning what was written."""
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: _read(sink)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _read(sink: Any) -> str:
    sink.flush()
    sink.seek(0)
    return sink.read().decode("utf-8", errors="replace")
