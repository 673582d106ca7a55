"""The report as QA opens it: rendered by real headless Chromium, with no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.report import write_report
from tests.evals.test_report import INJECTION, full_results
from ui.browser import chromium

pytestmark = pytest.mark.browser


def test_report_renders_offline_with_charts_and_no_script_running(tmp_path: Path) -> None:
    report = write_report(full_results(), tmp_path)
    requests: list[str] = []
    dialogs: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("request", lambda request: requests.append(request.url))
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.goto(report.as_uri())
        assert page.locator("h1").inner_text() == "Glovebox eval report"
        charts = page.locator("svg")
        assert charts.count() >= 3
        assert all(charts.nth(i).bounding_box()["width"] > 200 for i in range(charts.count()))  # type: ignore[index]
        assert INJECTION in page.locator("body").inner_text()  # shown as text, never run
        screenshot = page.screenshot(full_page=True)
    assert requests == [report.as_uri()]  # self-contained: nothing else is fetched
    assert dialogs == []
    assert screenshot.startswith(b"\x89PNG")
