"""Debian's Chromium driven by Playwright, for browser tests and documentation screenshots.

Never `playwright install`: it downloads a browser, which machines here cannot reach. The
project's setup installs Debian's `chromium` package instead (`make browser`).

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import ConfigurationError

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps dialling Google hosts, which this network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> Path:
    path = Path(os.environ.get("GLOVEBOX_CHROMIUM", "/usr/bin/chromium"))
    if not path.is_file():
        raise ConfigurationError(
            f"no Chromium at {path}: install Debian's package (`make browser`, or "
            "`apt-get install chromium`), or set GLOVEBOX_CHROMIUM to its path"
        )
    return path


@contextmanager
def chromium(extra_flags: Sequence[str] = ()) -> Iterator[Browser]:
    """Debian's Chromium with CHROMIUM_FLAGS and `extra_flags` (e.g. a --host-resolver-rules)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise ConfigurationError(
            "playwright is not installed: `pip install -e '.[dev]'` (it is a dev dependency)"
        ) from error
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=[*CHROMIUM_FLAGS, *extra_flags]
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot(
    url: str, out: Path, *, width: int = 1280, height: int = 800, full_page: bool = False
) -> Path:
    """A PNG of `url` (or a local file path) as a user at that window size sees it."""
    if "://" not in url:
        url = Path(url).resolve().as_uri()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url, wait_until="networkidle")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=full_page)
    return out
