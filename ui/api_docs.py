"""The API's docs page, Swagger UI at /docs, with its script, style sheet and icon served by this
server: nothing is fetched from a CDN when the page opens.

The files are the ones the `fastapi-offline` package ships; the page is FastAPI's own
(`get_swagger_ui_html`), as its "self-hosting JavaScript and CSS for docs" recipe builds it.
There is no ReDoc page: ReDoc 2 always loads its logo from Redocly's CDN, even self-hosted.

    application = FastAPI(docs_url=None, redoc_url=None)
    install_api_docs(application)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from knowledge.errors import ConfigurationError

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSETS_PACKAGE = "fastapi_offline"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
FAVICON = "favicon.png"


def docs_assets_folder() -> Path:
    """The folder of Swagger UI's files, checked to hold every file the page loads."""
    spec = importlib.util.find_spec(ASSETS_PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigurationError(
            f"the API docs need the {ASSETS_PACKAGE!r} package, which is not installed: "
            "run `pip install -e .` (or `make venv`) to install the pinned dependencies"
        )
    folder = Path(spec.origin).parent / "static"
    missing = [name for name in (SWAGGER_JS, SWAGGER_CSS, FAVICON) if not (folder / name).is_file()]
    if missing:
        raise ConfigurationError(
            f"{folder} lacks {', '.join(missing)}: install the fastapi-offline version pinned "
            "in pyproject.toml (`pip install -e .`)"
        )
    return folder


def install_api_docs(application: FastAPI) -> None:
    """Adds /docs and its files to an app built with `docs_url=None, redoc_url=None`."""
    if application.docs_url is not None or application.redoc_url is not None:
        raise ConfigurationError(
            "build the app with FastAPI(docs_url=None, redoc_url=None): its own docs pages "
            "load their scripts from a CDN"
        )
    openapi_url = application.openapi_url
    if openapi_url is None:
        raise ConfigurationError("the app has no OpenAPI schema (openapi_url=None) to document")
    application.mount(ASSETS_PATH, StaticFiles(directory=docs_assets_folder()), name="docs-assets")

    @application.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{application.title} API",
            swagger_js_url=f"{root}{ASSETS_PATH}/{SWAGGER_JS}",
            swagger_css_url=f"{root}{ASSETS_PATH}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/{FAVICON}",
            oauth2_redirect_url=None,  # no OAuth2 here: sessions and publishable keys
        )


def _root_path(request: Request) -> str:
    """The prefix a proxy serves the app under, as FastAPI's own docs pages honour it."""
    return str(request.scope.get("root_path", "")).rstrip("/")
