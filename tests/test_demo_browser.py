"""End to end in a real browser: headless Chromium opens the demo page served on a free
loopback port, uploads a WAV (or records from a fake microphone) and reads the answer off
the page. A screenshot of the answered page is saved to ``test-artifacts/demo.png``.

Needs Debian's ``chromium`` package (/usr/bin/chromium) and the ``playwright`` Python
package (used only as a driver: it never downloads a browser); skipped without them.
Run with ``pytest -m browser``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from serbias import vocab
from serbias.cli import app
from tests.demo_helpers import MULTITASK, running_server
from tests.feature_factory import fake_wav

pytestmark = pytest.mark.browser

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # a fake microphone (a beeping tone) that the page may use without asking
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
TIMEOUT_MS = 60_000


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (the test is skipped without either), closed
    afterwards; Playwright gives every launch a fresh temporary profile."""
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium with a fresh profile."""
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def page_url(demo_store):
    from serbias.demo.app import create_app

    with running_server(create_app(MULTITASK)) as url:
        yield url


@pytest.fixture()
def page(browser, page_url):
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(page_url)
    yield page
    context.close()


def _bars(page, container: str) -> list[tuple[str, str]]:
    """(name, shown value) of each bar row, top to bottom."""
    rows = page.locator(f"{container} .row").evaluate_all(
        "rows => rows.map(r => [r.dataset.name, r.querySelector('.value').textContent])"
    )
    return [tuple(row) for row in rows]


def _expected(clip: Path) -> dict:
    result = CliRunner().invoke(app, ["demo", str(clip), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_uploading_a_wav_shows_the_six_probabilities_and_the_model(page, demo_store):
    page.wait_for_function("document.getElementById('model').textContent.includes('version')")
    assert "serbias-multitask-intended version 1" in page.inner_text("#model")
    page.set_input_files("#file", str(demo_store.clip))
    page.wait_for_selector("#emotions .row")
    expected = _expected(demo_store.clip)
    shown = _bars(page, "#emotions")
    assert sorted(name for name, _ in shown) == sorted(vocab.EMOTION_NAMES)
    assert shown == [
        (name, f"{expected['emotions'][name]:.3f}")
        for name in sorted(expected["emotions"], key=lambda name: -expected["emotions"][name])
    ]
    assert [name for name, _ in _bars(page, "#speaker")] == ["Female", "Non-Caucasian"]
    assert "guesses about the speaker" in page.inner_text("#speaker-section")
    assert "serbias-multitask-intended version 1" in page.inner_text("#answered")
    assert page.is_hidden("#error")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo.png"), full_page=True)


def test_a_bad_upload_shows_the_reason_and_the_page_keeps_working(page, demo_store, tmp_path):
    page.set_input_files("#file", str(fake_wav(tmp_path / "notes.wav")))
    page.wait_for_selector("#error", state="visible")
    assert "notes.wav: not a readable WAV file" in page.inner_text("#error")
    assert page.is_hidden("#result")
    page.set_input_files("#file", str(demo_store.clip))
    page.wait_for_selector("#result", state="visible")
    assert len(_bars(page, "#emotions")) == 6 and page.is_hidden("#error")


def test_recording_from_the_microphone_is_classified(page):
    page.click("#record")
    page.wait_for_selector("#record.recording")
    page.wait_for_timeout(1500)  # let the fake microphone beep for a moment
    page.click("#record")
    page.wait_for_selector("#result", state="visible")
    assert page.is_hidden("#error"), page.inner_text("#error")
    assert len(_bars(page, "#emotions")) == 6
    assert page.get_attribute("#player", "src").startswith("blob:")
