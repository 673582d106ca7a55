"""A demo carmaker page on its own origin, embedding the widget with one script tag.

`glovebox serve --demo-port 8001` serves it beside the API, so the widget is seen as a real
site sees it: loaded cross-origin, with a publishable key and an allowed origin.
"""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from knowledge.errors import ConfigurationError
from knowledge.profile import NO_PROFILE, CarmakerProfile
from knowledge.settings import GloveboxSettings
from ui.api.driver import STATIC

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_DEMO_KEY = "pk_demo_local"


def with_loopback_demo_origins(
    settings: GloveboxSettings, host: str, port: int, demo_port: int
) -> GloveboxSettings:
    """On loopback, with the shipped keys (GLOVEBOX_WIDGET_KEYS unset), the demo key allows the
    ports chosen for this run, so `PORT=... DEMO_PORT=... make run` works as on the defaults.
    Keys the operator set are left exactly as set."""
    if host not in LOOPBACK_HOSTS or "widget_keys" in settings.model_fields_set:
        return settings
    keys = {key: list(origins) for key, origins in settings.widget_keys.items()}
    allowed = keys.setdefault(DEFAULT_DEMO_KEY, [])
    for name in ("127.0.0.1", "localhost"):
        for chosen in (port, demo_port):
            origin = f"http://{name}:{chosen}"
            if origin not in allowed:
                allowed.append(origin)
    return settings.model_copy(update={"widget_keys": keys})


def demo_key(settings: GloveboxSettings, demo_origin: str) -> str:
    """The first publishable key whose allow-list holds the demo page's origin."""
    for key, origins in settings.widget_keys.items():
        if demo_origin.rstrip("/") in {origin.rstrip("/") for origin in origins}:
            return key
    raise ConfigurationError(
        f"no widget key allows {demo_origin}: add it to GLOVEBOX_WIDGET_KEYS, e.g. "
        f'\'{{"pk_demo": ["{demo_origin}"]}}\''
    )


def demo_page(api_url: str, key: str, profile: CarmakerProfile = NO_PROFILE) -> str:
    """The profile's own demo page (or a plain one) with the widget tag filled in."""
    path = profile.demo_page_path() or STATIC / "demo.html"
    try:
        page = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"the demo page {path} (demo_page of {profile.source}) cannot be read ({error}); "
            "fix the path in the profile or remove demo_page"
        ) from error
    text = profile.surface_text("en")
    values = {
        "GLOVEBOX_URL": api_url.rstrip("/"),
        "GLOVEBOX_KEY": key,
        "NAME": profile.name or "Your carmaker",
        "TITLE": text.title,
        "WELCOME": text.welcome,
        "PLACEHOLDER": text.placeholder,
    }
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", html.escape(value, quote=True))
    return page


def create_demo_app(api_url: str, key: str, profile: CarmakerProfile = NO_PROFILE) -> FastAPI:
    page = demo_page(api_url, key, profile)
    application = FastAPI(
        title=f"{profile.name or 'Glovebox'} demo page", docs_url=None, redoc_url=None
    )

    @application.get("/", response_class=HTMLResponse)
    def home() -> str:
        return page

    return application
