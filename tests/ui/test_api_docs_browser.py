"""The API docs of a running `glovebox serve` in Debian's Chromium: Swagger UI renders the
operations, and no request the page makes leaves this server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.ui.conftest import RunningServer
from ui.browser import chromium

pytestmark = pytest.mark.browser

DOCS_HOST = "glovebox.test"
"""Resolved to 127.0.0.1 inside Chromium only: the docs are browsed under a host name, as when
deployed, since Swagger UI treats pages from 127.0.0.1 and localhost specially (it never shows
its online-validator badge for them)."""
RENDER_TIMEOUT_MS = 30_000


def test_swagger_ui_renders_the_api_from_this_server_alone(
    running_server: RunningServer,
) -> None:
    from playwright.sync_api import expect

    port = urlsplit(running_server.url).port
    base_url = f"http://{DOCS_HOST}:{port}"
    with chromium([f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1"]) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{base_url}/docs")
        expect(page).to_have_title("Glovebox API")
        expect(page.locator(".information-container .title")).to_contain_text(
            "Glovebox", timeout=RENDER_TIMEOUT_MS
        )
        expect(page.locator(".opblock").first).to_be_visible()
        paths = page.locator(".opblock-summary-path")
        expect(paths.filter(has_text="/v1/chat/completions")).to_have_count(1)
        expect(paths.filter(has_text="/v1/agent/tickets").first).to_be_visible()
        page.wait_for_load_state("networkidle")

    assert f"{base_url}/openapi.json" in requested
    assert f"{base_url}/docs/assets/swagger-ui-bundle.js" in requested
    elsewhere = [url for url in requested if not url.startswith(base_url + "/")]
    assert elsewhere == [], f"the docs page reached beyond this server: {elsewhere}"
