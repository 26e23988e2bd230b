"""Reaching Ray: a local Ray kept on loopback (started in the foreground or in the
background while the driver loads its data), or a running cluster by address, with one-line
errors for an unreachable cluster or a refused token.

Joining a cluster started with ``ray start`` (Ray 2.60 turns token authentication on for
those): the driver sets ``RAY_AUTH_MODE=token`` and either ``RAY_AUTH_TOKEN_PATH`` (a copy of
the head's ``~/.ray/auth_token``) or ``RAY_AUTH_TOKEN``.
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
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from serbias.cpu import available_cpus
from serbias.errors import SerbiasError, first_line

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


def import_ray(*, loopback: bool) -> Any:
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
    from serbias.quiet import verbose

    if verbose():  # serbias -v: workers' output and Ray's notices on the driver's terminal
        return {"log_to_driver": True, "logging_level": logging.INFO, "configure_logging": True}
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
    ray = import_ray(loopback=True)
    if ray.is_initialized():
        return
    if threading.current_thread() is threading.main_thread():
        # ray.init sets this handler only on the main thread: a killed driver still unwinds
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started: Future[bool] = Future()

    def start() -> None:
        try:
            with _quiet_logger("ray._private.worker"):  # its "not the main thread" warning
                start_local(ray)
        except BaseException as error:  # handed to the thread that connects
            started.set_exception(error)
            return
        started.set_result(True)
        _BACKGROUND_STOPPED.wait()

    _BACKGROUND_STOPPED.clear()
    threading.Thread(target=start, name="serbias-ray-start", daemon=True).start()
    _BACKGROUND_START = started


def started_in_background() -> bool:
    """Wait for :func:`prestart`'s Ray, if one is starting; whether there was one."""
    global _BACKGROUND_START
    started, _BACKGROUND_START = _BACKGROUND_START, None
    return started is not None and started.result()


def background_stopped() -> None:
    """The background-started Ray was shut down: its starting thread may end."""
    _BACKGROUND_STOPPED.set()


def stop_prestarted() -> None:
    """Stop a :func:`prestart` Ray that no executor connected to (the run ended before)."""
    if started_in_background():
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


def start_local(ray: Any) -> None:
    """A local Ray on this machine's CPUs and GPUs, listening on 127.0.0.1 only."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        address="local",
        num_cpus=available_cpus(),
        include_dashboard=False,
        _node_ip_address=LOOPBACK,
        **_init_options(),
    )


def join(ray: Any, address: str) -> None:
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


def check_address(address: str | None) -> str | None:
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


def is_loopback(address: str) -> bool:
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
