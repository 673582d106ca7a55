"""A demo carmaker page on its own origin, embedding the widget with one script tag.

`glovebox serve --demo-port 8001` serves it beside the API, so the widget is seen as a real
site sees it: loaded cross-origin, with a publishable key and an allowed origin.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings
from ui.driver_api import STATIC


def demo_key(settings: GloveboxSettings, demo_origin: str) -> str:
    """The first publishable key whose allow-list holds the demo page's origin."""
    for key, origins in settings.widget_keys.items():
        if demo_origin.rstrip("/") in {origin.rstrip("/") for origin in origins}:
            return key
    raise ConfigurationError(
        f"no widget key allows {demo_origin}: add it to GLOVEBOX_WIDGET_KEYS, e.g. "
        f'\'{{"pk_demo": ["{demo_origin}"]}}\''
    )


def create_demo_app(api_url: str, key: str) -> FastAPI:
    page = (
        (STATIC / "demo.html")
        .read_text(encoding="utf-8")
        .replace("{{GLOVEBOX_URL}}", api_url.rstrip("/"))
        .replace("{{GLOVEBOX_KEY}}", key)
    )
    application = FastAPI(title="Halvard Motors demo page", docs_url=None, redoc_url=None)

    @application.get("/", response_class=HTMLResponse)
    def home() -> str:
        return page

    return application
