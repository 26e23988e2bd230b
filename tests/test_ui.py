"""``serbias ui``: which store it serves and which runs tables it points at."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias import tracking
from serbias.cli import app
from serbias.errors import SerbiasError
from serbias.tracking.ui import experiment_ids, local_store, runs_table_url, ui_command

runner = CliRunner()


def test_runs_table_urls_skip_the_genai_overview() -> None:
    assert runs_table_url("http://127.0.0.1:5000/", "7") == (
        "http://127.0.0.1:5000/#/experiments/7/runs"
    )


def test_experiments_are_looked_up_not_created(tracking_store: Path) -> None:
    train_id = tracking.experiment_id("serbias-train")

    assert experiment_ids(["serbias-train", "serbias-audit"]) == {
        "serbias-train": train_id,
        "serbias-audit": None,
    }
    assert experiment_ids(["serbias-audit"]) == {"serbias-audit": None}  # still not there


def test_the_server_binds_loopback_over_the_store_and_its_artifacts(tmp_path: Path) -> None:
    command = ui_command(tmp_path / "mlflow.db", port=5123)

    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "5123"
    assert command[command.index("--backend-store-uri") + 1] == f"sqlite:///{tmp_path}/mlflow.db"
    assert command[command.index("--default-artifact-root") + 1] == (tmp_path / "mlruns").as_uri()


def test_a_missing_store_or_a_server_uri_is_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    done = runner.invoke(app, ["ui"])

    assert done.exit_code == 1
    assert f"no store at {tmp_path / 'mlflow.db'} yet" in " ".join(done.output.split())
    assert len(done.output.strip().splitlines()) <= 2  # one line, wrapped at most once
    with pytest.raises(SerbiasError, match="not a local sqlite store"):
        local_store("http://mlflow.example:5000")


def test_help_shows_the_default_port() -> None:
    done = runner.invoke(app, ["ui", "--help"], env={"COLUMNS": "200"})

    assert done.exit_code == 0
    assert "--port" in done.output and "5000" in done.output
