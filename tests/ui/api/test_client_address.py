"""Whose address a request is counted against, under a real uvicorn server configured as
`glovebox serve` configures it: X-Forwarded-For is believed only from GLOVEBOX_TRUSTED_PROXIES
(issue 14, item 2)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI
from pydantic import ValidationError

from assistant.desk.database import Database
from assistant.desk.migrations import upgrade_to_head
from knowledge.settings import GloveboxSettings
from tests.ui.conftest import free_port
from ui.api.dependencies import ClientAddress, api_settings, rate_limits, within_address_rate
from ui.api.errors import install_error_handlers
from ui.api.rate_limit import RateLimits
from ui.server import uvicorn_config

LIMIT = 3


def limited_app(settings: GloveboxSettings) -> FastAPI:
    database = Database("sqlite://", stage="tickets", create_tables=upgrade_to_head)
    limits = RateLimits.from_settings(
        settings.model_copy(update={"rate_limit_per_ip": LIMIT}), database
    )
    application = FastAPI()
    install_error_handlers(application, staff_paths=())
    application.dependency_overrides[api_settings] = lambda: settings
    application.dependency_overrides[rate_limits] = lambda: limits

    @application.get("/limited", dependencies=[Depends(within_address_rate)])
    def limited(address: ClientAddress) -> dict[str, str]:
        return {"address": address}

    return application


@contextmanager
def serving(settings: GloveboxSettings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn_config(limited_app(settings), settings, host="127.0.0.1", port=port)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def rotating_forwarded_for(url: str, requests: int) -> list[httpx.Response]:
    with httpx.Client(base_url=url, timeout=10) as client:
        return [
            client.get("/limited", headers={"X-Forwarded-For": f"203.0.113.{n + 1}"})
            for n in range(requests)
        ]


def test_by_default_a_forwarded_address_from_loopback_is_not_believed(
    settings: GloveboxSettings,
) -> None:
    assert settings.trusted_proxies == ()
    with serving(settings) as url:
        answers = rotating_forwarded_for(url, LIMIT + 2)
    assert [answer.status_code for answer in answers] == [200] * LIMIT + [429, 429]
    assert {answer.json().get("address") for answer in answers[:LIMIT]} == {"127.0.0.1"}
    assert all(int(answer.headers["retry-after"]) >= 1 for answer in answers[LIMIT:])


def test_a_trusted_proxys_forwarded_address_is_the_client(
    settings: GloveboxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOVEBOX_TRUSTED_PROXIES", "127.0.0.1")
    behind_proxy = GloveboxSettings(home=settings.home)
    with serving(behind_proxy) as url:
        answers = rotating_forwarded_for(url, LIMIT + 2)
        with httpx.Client(base_url=url, timeout=10) as client:
            one_driver = [
                client.get("/limited", headers={"X-Forwarded-For": "198.51.100.7"}).status_code
                for _ in range(LIMIT + 1)
            ]
    assert [answer.status_code for answer in answers] == [200] * (LIMIT + 2)
    assert [answer.json()["address"] for answer in answers] == [
        f"203.0.113.{n + 1}" for n in range(LIMIT + 2)
    ]
    assert one_driver == [200] * LIMIT + [429]  # one forwarded address still has one budget


def test_trusted_proxies_are_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOVEBOX_TRUSTED_PROXIES", " 10.0.0.5, 10.1.0.0/16 ,::1")
    assert GloveboxSettings().trusted_proxies == ("10.0.0.5/32", "10.1.0.0/16", "::1/128")
    monkeypatch.setenv("GLOVEBOX_TRUSTED_PROXIES", "10.0.0.5,proxy.internal")
    with pytest.raises(ValidationError, match=r"'proxy\.internal' is not an IP address"):
        GloveboxSettings()
