"""Agent sign-in on /v1/agent/sessions and /login: wrong passwords are throttled per account,
per address and per trusted device, and a right password is never locked out by someone
else's guesses (issue 14, item 1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.desk.accounts import AgentAccount, SqlAccountStore
from assistant.desk.agent_desk import AgentDesk
from assistant.desk.sign_in_throttle import SignInThrottle
from assistant.desk.stores import DeskStores, open_desk
from knowledge.settings import GloveboxSettings
from ui.api import sign_in
from ui.api.dependencies import agent_desk, api_settings, rate_limits
from ui.api.errors import install_error_handlers
from ui.api.rate_limit import RateLimits

ANA = ("ana", "correct-horse-42")
BOB = ("bob", "battery-staple-7")
CALL_CENTRE = "198.51.100.20"
FROZEN = 1_800_000_020.0
"""Unix seconds 20 s into a minute, a quarter hour and an hour: no window turns mid-test."""


class SpyAccounts(SqlAccountStore):
    """The real account store, with cheap argon2, remembering every password it checked."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url, hasher=PasswordHasher(time_cost=1, memory_cost=8 * 1024))
        self.checked: list[tuple[str, str]] = []

    def authenticate(self, username: str, password: str) -> AgentAccount | None:
        self.checked.append((username, password))
        return super().authenticate(username, password)


@dataclasses.dataclass
class SignInApp:
    application: FastAPI
    accounts: SpyAccounts
    stores: DeskStores

    def client(self, address: str = CALL_CENTRE) -> TestClient:
        return TestClient(self.application, client=(address, 40000))


@pytest.fixture
def app(settings: GloveboxSettings, tmp_path: Path) -> Iterator[SignInApp]:
    database_url = f"sqlite:///{tmp_path / 'glovebox.sqlite3'}"
    stores = open_desk(database_url)
    accounts = SpyAccounts(database_url)
    for username, password in (ANA, BOB):
        accounts.add_agent(username, password)
    desk = AgentDesk(
        dataclasses.replace(stores, accounts=accounts),  # type: ignore[arg-type]
        timedelta(hours=8),
        max_question_chars=1000,
    )
    limits = dataclasses.replace(
        RateLimits.from_settings(settings, stores.database),
        sign_ins=SignInThrottle(stores.database, clock=lambda: FROZEN),
    )
    application = FastAPI()
    install_error_handlers(application, staff_paths=())
    application.include_router(sign_in.router)
    application.dependency_overrides[api_settings] = lambda: settings
    application.dependency_overrides[agent_desk] = lambda: desk
    application.dependency_overrides[rate_limits] = lambda: limits
    yield SignInApp(application, accounts, stores)
    stores.close()
    accounts.close()


def credentials(account: tuple[str, str], password: str | None = None) -> dict[str, str]:
    return {"username": account[0], "password": password or account[1]}


def guess_wrong(client: TestClient, account: tuple[str, str], times: int) -> list[int]:
    return [
        client.post("/v1/agent/sessions", json=credentials(account, f"guess-{n}")).status_code
        for n in range(times)
    ]


def test_a_right_sign_in_returns_a_device_token_as_json_and_cookie(app: SignInApp) -> None:
    signed_in = app.client().post("/v1/agent/sessions", json=credentials(ANA))
    assert signed_in.status_code == 200
    device = signed_in.json()["device"]
    assert len(device) >= 32
    cookie = signed_in.headers["set-cookie"]
    assert f"glovebox_device={device}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=7776000" in cookie


def test_another_accounts_right_password_signs_in_after_ten_wrong_from_the_address(
    app: SignInApp,
) -> None:
    client = app.client()
    assert guess_wrong(client, ANA, 10) == [401] * 10
    refused = client.post("/v1/agent/sessions", json=credentials(ANA))
    assert refused.status_code == 429  # ana, untrusted, from this address: wait
    bob = client.post("/v1/agent/sessions", json=credentials(BOB))
    assert bob.status_code == 200, bob.text  # was 429: the whole address was locked out
    form = app.client().post("/login", data=credentials(BOB), follow_redirects=False)
    assert form.status_code == 303 and "glovebox_agent=" in form.headers["set-cookie"]


def test_a_trusted_device_signs_in_whatever_others_guess(app: SignInApp) -> None:
    device = app.client().post("/v1/agent/sessions", json=credentials(ANA)).json()["device"]
    attacker = app.client("203.0.113.66")
    guess_wrong(attacker, ANA, 12)
    for address in ("203.0.113.67", "203.0.113.68", CALL_CENTRE):  # and from her own office
        guess_wrong(app.client(address), ANA, 10)
    assert attacker.post("/v1/agent/sessions", json=credentials(ANA)).status_code == 429
    own = app.client().post(
        "/v1/agent/sessions", json=credentials(ANA), headers={"X-Glovebox-Device": device}
    )
    assert own.status_code == 200 and own.json()["device"] == device
    browser = app.client()
    browser.cookies.set("glovebox_device", device)
    form = browser.post("/login", data=credentials(ANA), follow_redirects=False)
    assert form.status_code == 303


def test_a_device_trusted_for_one_account_is_a_stranger_to_another(app: SignInApp) -> None:
    ana_device = app.client().post("/v1/agent/sessions", json=credentials(ANA)).json()["device"]
    client = app.client()
    guess_wrong(client, BOB, 10)
    with_anas_device = client.post(
        "/v1/agent/sessions", json=credentials(BOB), headers={"X-Glovebox-Device": ana_device}
    )
    assert with_anas_device.status_code == 429


def test_past_the_limit_an_untrusted_client_gets_429_and_its_password_is_not_checked(
    app: SignInApp,
) -> None:
    client = app.client()
    guess_wrong(client, ANA, 10)
    app.accounts.checked.clear()
    refused = client.post("/v1/agent/sessions", json=credentials(ANA, "guess-right-maybe"))
    assert refused.status_code == 429
    # 40 s to the end of the minute's window, and 6 s into the next for the 10 to weigh 9.
    assert refused.headers["retry-after"] == "46"
    assert refused.json()["error"]["field"] == "password"
    assert "try again" in refused.json()["error"]["message"] and "token" not in refused.json()
    form = client.post("/login", data=credentials(ANA), follow_redirects=False)
    assert form.status_code == 429 and "Too many failed sign-ins" in form.text
    assert form.headers["retry-after"] == "46"
    assert "glovebox_agent" not in form.headers.get("set-cookie", "")
    assert app.accounts.checked == []  # neither password was verified: no oracle


def test_a_trusted_devices_own_wrong_guesses_hold_up_that_device(app: SignInApp) -> None:
    device = app.client().post("/v1/agent/sessions", json=credentials(ANA)).json()["device"]
    own = {"X-Glovebox-Device": device}
    client = app.client("203.0.113.90")
    wrong = [
        client.post(
            "/v1/agent/sessions", json=credentials(ANA, f"typo-{n}"), headers=own
        ).status_code
        for n in range(11)
    ]
    assert wrong == [401] * 10 + [429]
    app.accounts.checked.clear()
    assert client.post("/v1/agent/sessions", json=credentials(ANA), headers=own).status_code == 429
    assert app.accounts.checked == []
    # Its guesses were counted against the device, not the address or the account.
    assert app.client("203.0.113.90").post(
        "/v1/agent/sessions", json=credentials(ANA)
    ).status_code == 200  # fmt: skip


def test_spraying_many_accounts_from_one_address_is_refused(app: SignInApp) -> None:
    client = app.client("203.0.113.99")
    statuses = [
        client.post(
            "/v1/agent/sessions", json={"username": f"agent-{n}", "password": "Winter2026!"}
        ).status_code
        for n in range(51)
    ]
    assert statuses == [401] * 50 + [429]
    assert client.post("/v1/agent/sessions", json=credentials(BOB)).status_code == 429
    assert app.client().post("/v1/agent/sessions", json=credentials(BOB)).status_code == 200


def test_a_right_password_gives_its_place_back(app: SignInApp) -> None:
    client = app.client()
    for _ in range(12):
        assert client.post("/v1/agent/sessions", json=credentials(ANA)).status_code == 200
        client.cookies.clear()  # a new browser each time: never trusted
    assert guess_wrong(client, ANA, 10) == [401] * 10  # the right ones used up nothing


def test_the_throttle_holds_across_two_apps_on_one_database(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first, second = open_desk(database_url), open_desk(database_url)
    throttles = [
        SignInThrottle(stores.database, clock=lambda: FROZEN) for stores in (first, second)
    ]
    attempts = [throttles[n % 2].admit(CALL_CENTRE, "ana", None) for n in range(11)]
    assert [attempt.allowed for attempt in attempts] == [True] * 10 + [False]


def test_guesses_at_one_account_from_many_addresses_hold_up_strangers_for_the_hour(
    app: SignInApp,
) -> None:
    for n in range(10):
        assert guess_wrong(app.client(f"203.0.113.{n + 1}"), ANA, 10) == [401] * 10
    for address in ("192.0.2.50", "203.0.113.1"):  # a new address, and one that guessed
        refused = app.client(address).post("/v1/agent/sessions", json=credentials(ANA))
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "3616"  # the longest wait: the hour's
    assert (
        app.client("192.0.2.50").post("/v1/agent/sessions", json=credentials(BOB)).status_code
        == 200
    )
