"""``serbias ui`` end to end in a real browser: the printed audit runs-table URL opens the
runs table (not MLflow 3's GenAI overview), and expanding the audit run shows one nested run
per audited model. A screenshot is saved to ``test-artifacts/mlflow-ui-audit.png``.

Needs /usr/bin/chromium and playwright (see tests/test_demo_browser.py); run with
``pytest -m browser``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias.cli import app
from tests.test_audit_tracking import FAST, trained_svm_predictions
from tests.test_demo_browser import ARTIFACTS, TIMEOUT_MS, headless_chromium

pytestmark = pytest.mark.browser

CHECKOUT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def chromium() -> Iterator[object]:
    with headless_chromium() as browser:
        yield browser


@pytest.fixture()
def audited_store(tmp_path: Path, tracking_store: Path) -> Path:
    """A store holding an audit of two systems: a parent run with two nested runs."""
    _, corpus, predictions = trained_svm_predictions(tmp_path)
    shutil.copy(predictions, predictions.parent / "vendor.csv")
    done = runner.invoke(app, ["audit", str(predictions.parent), "--data", str(corpus),
                               "--out", str(tmp_path / "audit"), *FAST])  # fmt: skip
    assert done.exit_code == 0, done.output
    return tracking_store


def test_the_printed_audit_url_opens_the_runs_table_with_per_model_runs(
    chromium, audited_store: Path, tmp_path: Path
) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "serbias", "ui", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        printed = []
        while not any("serbias-audit runs:" in line for line in printed):
            line = server.stdout.readline()
            assert line, f"serbias ui ended early: {printed} {server.stderr.read()}"
            printed.append(line)
        (audit_url,) = [line.split()[-1] for line in printed if "serbias-audit runs:" in line]
        assert audit_url.startswith(f"http://127.0.0.1:{port}/#/experiments/")
        assert audit_url.endswith("/runs")
        assert any("serbias-train runs:" in line for line in printed)

        page = chromium.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(TIMEOUT_MS * 2)
        page.goto(audit_url)
        parent = page.get_by_role("row").filter(
            has=page.get_by_role("link", name="audit-test+vendor", exact=True)
        )
        parent.wait_for()
        child = page.get_by_role("link", name="audit-vendor", exact=True)
        assert child.count() == 0  # MLflow shows nested runs collapsed under their parent
        parent.locator('button[data-component-id*="runnamecellrenderer"]').click()
        child.wait_for()
        assert page.get_by_role("link", name="audit-test", exact=True).count() >= 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "mlflow-ui-audit.png"))
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0
    assert "Stopped the MLflow UI." in stderr and "Traceback" not in stderr
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # the MLflow server is gone too
