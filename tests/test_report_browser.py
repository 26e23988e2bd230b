"""The audit report's first screen in a real browser: headless Chromium at 1280 x 800 opens a
Quickstart-shaped report (eight systems on both targets, the listeners, a planted bias) and
finds the verdict table, the forest plot and the ground-truth box inside the first screen.

The screenshot is saved under the test's tmp_path and, when ``SERBIAS_ARTIFACTS`` names a
directory, copied there as ``report-first-screen.png``. Needs /usr/bin/chromium and the
playwright package (a driver only); skipped without them. Run with ``pytest -m browser``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from serbias.audit import write_audit
from serbias.audit._ground_truth import PlantedBias
from tests.audit.many_systems import audit_many
from tests.test_demo_browser import headless_chromium

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 800}


def first_screen(report: Path, screenshot: Path) -> dict:
    """Open ``report`` in headless Chromium at 1280 x 800, save the screenshot (also to
    ``$SERBIAS_ARTIFACTS``) and return the first-screen facts the tests check."""
    with headless_chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(report.resolve().as_uri())
        page.screenshot(path=str(screenshot))
        facts = {
            "boxes": {
                name: page.locator(selector).bounding_box()
                for name, selector in {
                    "verdict table": "#verdicts",
                    "forest plot": "#forest svg",
                    "ground-truth box": "#ground-truth",
                }.items()
            },
            "rows": page.locator("#verdicts tbody tr").count(),
            "summaries": page.locator("details > summary").count(),
            "first_fold_open": page.locator("details").first.evaluate("d => d.open"),
            "ground_truth": page.locator("#ground-truth").inner_text(),
        }
    if os.environ.get("SERBIAS_ARTIFACTS"):
        artifacts = Path(os.environ["SERBIAS_ARTIFACTS"])
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, artifacts / screenshot.name)
    assert screenshot.stat().st_size > 0
    return facts


def assert_on_first_screen(boxes: dict) -> None:
    for name, box in boxes.items():
        assert box is not None, f"{name} not rendered"
        assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"], name
        assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], name


def test_verdicts_forest_plot_and_ground_truth_are_on_the_first_screen(tmp_path: Path) -> None:
    result = audit_many(tmp_path / "preds")
    files = write_audit(result, tmp_path / "audit", planted=(PlantedBias("sex", "Female", 0.8),))
    facts = first_screen(files["report_html"], tmp_path / "report-first-screen.png")
    assert_on_first_screen(facts["boxes"])
    assert facts["rows"] == len(result.analyses)  # 8 systems x 2 targets + the listeners
    assert facts["summaries"] == len(result.analyses) + 3 and not facts["first_fold_open"]
