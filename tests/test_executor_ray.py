"""The Ray executor on a real loopback Ray head: results, retries, and the errors a user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from serbias.errors import SerbiasError
from serbias.training.executors.base import TaskFailure, TrainingTask, crash_if_asked
from serbias.training.executors.ray import RayExecutor, TaskResources
from tests.ray_cluster import RayHead, free_port

ROWS = 12


@dataclass(frozen=True, eq=False)
class RowSums:
    """What the toy work returns: a task's key, its attempt, and sums over its rows."""

    key: str
    attempt: int
    train_sum: np.ndarray
    predicted: np.ndarray


def row_sums(
    arrays: Mapping[str, np.ndarray], context: dict[str, float], task: TrainingTask, attempt: int
) -> RowSums:
    """A stand-in training: 'fit' on the train rows, 'predict' row sums of the predict rows."""
    crash_if_asked(task)  # as the real work does
    X = arrays["X"]
    return RowSums(
        key=task.key,
        attempt=attempt,
        train_sum=X[task.train_rows].sum(axis=0) * context["scale"],
        predicted=X[task.predict_rows].sum(axis=1) + arrays["y"][task.predict_rows],
    )


def fails_on_replica_1(
    arrays: Mapping[str, np.ndarray], context: Any, task: TrainingTask, attempt: int
) -> RowSums:
    if task.index == 1:
        raise ValueError(f"bad rows in {task.key}\nsecond line")
    return row_sums(arrays, context, task, attempt)


def toy_arrays() -> dict[str, np.ndarray]:
    X = np.arange(ROWS * 3, dtype=np.float32).reshape(ROWS, 3) / 7.0
    return {"X": X, "y": np.linspace(0.0, 1.0, ROWS)}


def toy_tasks(n: int) -> list[TrainingTask]:
    tasks = []
    for index in range(n):
        rng = np.random.default_rng(index)
        train = rng.integers(0, ROWS, ROWS)
        tasks.append(
            TrainingTask(
                kind="replica",
                index=index,
                seed=index,
                train_rows=train,
                val_rows=np.arange(2),
                predict_rows=np.setdiff1d(np.arange(ROWS), train),
            )
        )
    return tasks


def assert_same(result: RowSums, expected: RowSums) -> None:
    assert result.key == expected.key
    np.testing.assert_array_equal(result.train_sum, expected.train_sum)
    np.testing.assert_array_equal(result.predicted, expected.predicted)


def test_every_task_gives_what_the_work_gives_in_process(ray_cluster: RayHead) -> None:
    arrays, context, tasks = toy_arrays(), {"scale": 0.5}, toy_tasks(4)
    executor = RayExecutor(ray_cluster.address, {"num_cpus": 1, "num_gpus": 0}, retries=0)

    results = list(executor.run(row_sums, arrays, context, tasks))

    assert sorted(result.key for result in results) == [task.key for task in tasks]
    by_key = {result.key: result for result in results}
    for task in tasks:
        assert_same(by_key[task.key], row_sums(arrays, context, task, 1))
    assert {result.attempt for result in results} == {1}
    assert executor.attempts == {task.key: 1 for task in tasks}


@pytest.mark.parametrize("model", ["svm", "cnn_lstm"])
def test_replicas_predict_what_the_local_executor_predicts(
    ray_cluster: RayHead, tiny_store: Any, model: str
) -> None:
    """Replica i (seed + i) gives the same out-of-bag predictions on Ray and locally: exactly
    for the SVM, to 1e-5 for a network on CPU."""
    from serbias.training.data import load_training_data
    from serbias.training.executors.local import LocalExecutor
    from serbias.training.replicas import TaskContext, bootstrap_tasks, train_task
    from tests.train_helpers import tiny_params

    data = load_training_data(tiny_store.features, tiny_store.corpus, model=model,
                              labels="intended", split_file=tiny_store.split_file)  # fmt: skip
    tasks = bootstrap_tasks(data.rows["train"], data.rows["val"], replicas=2, seed=5)
    context = TaskContext(tiny_params(model, seed=5, epochs=1), threads=1)
    executor = RayExecutor(ray_cluster.address, {"num_cpus": 1}, retries=0)

    on_ray = {r.key: r for r in executor.run(train_task, data.arrays(), context, tasks)}
    local = {r.key: r for r in LocalExecutor(1, retries=0).run(
        train_task, data.arrays(), context, tasks)}  # fmt: skip

    assert sorted(on_ray) == sorted(local) == ["replica-000", "replica-001"]
    for key, result in on_ray.items():
        np.testing.assert_array_equal(result.predict_rows, local[key].predict_rows)
        for output, values in result.predict_outputs.items():
            if model == "svm":
                np.testing.assert_array_equal(values, local[key].predict_outputs[output])
            else:
                np.testing.assert_allclose(values, local[key].predict_outputs[output], atol=1e-5)
        assert result.model_suffix == local[key].model_suffix
        assert result.attempt == 1


def test_a_crashed_worker_is_retried_and_the_retry_recorded(
    ray_cluster: RayHead, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERBIAS_TEST_CRASH_ONCE", f"{tmp_path}:replica-001")
    arrays, context, tasks = toy_arrays(), {"scale": 1.0}, toy_tasks(3)
    executor = RayExecutor(ray_cluster.address, {"num_cpus": 1}, retries=1)

    results = {result.key: result for result in executor.run(row_sums, arrays, context, tasks)}

    assert sorted(results) == [task.key for task in tasks]
    assert (tmp_path / "replica-001").is_file()
    assert results["replica-001"].attempt == 2
    assert_same(results["replica-001"], row_sums(arrays, context, tasks[1], 2))
    assert executor.attempts == {"replica-000": 1, "replica-001": 2, "replica-002": 1}


def test_a_task_failing_every_attempt_is_reported_by_its_key(ray_cluster: RayHead) -> None:
    executor = RayExecutor(ray_cluster.address, {"num_cpus": 1}, retries=1)

    outcomes = list(executor.run(fails_on_replica_1, toy_arrays(), {"scale": 1.0}, toy_tasks(2)))

    failures = [outcome for outcome in outcomes if isinstance(outcome, TaskFailure)]
    assert failures == [TaskFailure("replica-001", 2, "bad rows in replica-001")]
    assert [o.key for o in outcomes if isinstance(o, RowSums)] == ["replica-000"]


@pytest.mark.parametrize(
    ("resources", "named"),
    [({"num_cpus": 1, "num_gpus": 0.25}, "num_gpus=0.25"), ({"num_cpus": 3}, "num_cpus=3")],
)
def test_resources_no_node_has_are_refused_before_submitting(
    ray_cluster: RayHead, resources: dict[str, float], named: str
) -> None:
    executor = RayExecutor(ray_cluster.address, resources, retries=0)
    with pytest.raises(SerbiasError, match=rf"{named}.*largest: 2 CPUs, 0 GPUs"):
        list(executor.run(row_sums, toy_arrays(), {"scale": 1.0}, toy_tasks(1)))


def test_an_unreachable_address_is_one_line(ray_cluster: RayHead) -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(SerbiasError, match=rf"cannot reach a Ray cluster at {address}") as error:
        RayExecutor(address, retries=0).connect()
    assert "\n" not in str(error.value)


def test_a_wrong_token_is_one_line_naming_what_to_set(ray_cluster: RayHead, tmp_path: Path) -> None:
    # A fresh driver process: Ray caches the token it loaded first for the process's life.
    wrong = tmp_path / "auth_token"
    wrong.write_text("0" * 64, encoding="utf-8")
    script = (
        "import sys\n"
        "from serbias.errors import SerbiasError\n"
        "from serbias.training.executors.ray import RayExecutor\n"
        "try:\n"
        f"    RayExecutor({ray_cluster.address!r}, retries=0).connect()\n"
        "except SerbiasError as error:\n"
        "    print(error)\n"
        "    sys.exit(1)\n"
    )
    env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(wrong)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr[-2000:]
    message = done.stdout.strip()
    assert "refused this driver's authentication token" in message
    assert "RAY_AUTH_MODE=token" in message
    assert "\n" not in message
    assert "InvalidAuthToken" not in done.stderr  # Ray's own retries stay off the terminal


def test_a_local_ray_listens_on_loopback_and_runs_the_tasks(ray_cluster: RayHead) -> None:
    import ray

    arrays, context, tasks = toy_arrays(), {"scale": 2.0}, toy_tasks(2)
    executor = RayExecutor(None, {"num_cpus": 1}, retries=0)
    executor.connect()
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}

    results = {result.key: result for result in executor.run(row_sums, arrays, context, tasks)}

    for task in tasks:
        assert_same(results[task.key], row_sums(arrays, context, task, 1))
    assert not ray.is_initialized()


def test_a_local_ray_started_in_the_background_is_taken_over_or_stopped(
    ray_cluster: RayHead,
) -> None:
    """``prestart`` (what ``serbias train`` calls before loading its data): the executor's
    connect waits for that Ray and owns it; one that no executor took is stopped."""
    import ray

    from serbias.training.executors.ray_connection import prestart, stop_prestarted

    arrays, context, tasks = toy_arrays(), {"scale": 2.0}, toy_tasks(2)
    prestart()
    executor = RayExecutor(None, {"num_cpus": 1}, retries=0)
    executor.connect()
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    results = {result.key: result for result in executor.run(row_sums, arrays, context, tasks)}
    for task in tasks:
        assert_same(results[task.key], row_sums(arrays, context, task, 1))
    assert not ray.is_initialized()

    prestart()
    stop_prestarted()
    assert not ray.is_initialized()


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(SerbiasError, match=r'pip install -e "\.\[ray\]"'):
        RayExecutor("127.0.0.1:6379").connect()


@pytest.mark.parametrize("address", ["nowhere", "host:", ":6379", "127.0.0.1:70000", "ray://x"])
def test_a_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(SerbiasError, match="expected auto, host:port or ray://host:port"):
        RayExecutor(address)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"cpus": 1}, "unknown key"),
        ({"num_cpus": -1}, "num_cpus"),
        ({"num_gpus": "half"}, "num_gpus"),
        ({"num_gpus": 1.5}, "whole number of GPUs"),
        ({"num_cpus": 0, "num_gpus": 0}, "both 0"),
    ],
)
def test_bad_resources_are_refused(resources: dict[str, Any], message: str) -> None:
    with pytest.raises(SerbiasError, match=message):
        TaskResources.from_mapping(resources)


def test_resources_default_to_one_cpu_and_threads_follow_whole_cpus() -> None:
    assert TaskResources.from_mapping(None) == TaskResources(num_cpus=1.0, num_gpus=0.0)
    assert TaskResources.from_mapping({"num_cpus": 2.5, "num_gpus": 0.25}).threads == 2
    assert TaskResources.from_mapping({"num_cpus": 0.5}).threads == 1
