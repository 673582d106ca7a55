"""Agent accounts on a real SQLite file and a real PostgreSQL database: who can sign in to the
console and the agent API."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from assistant.desk.accounts import AgentAccount, SqlAccountStore
from knowledge.errors import ConfigurationError, InputError

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple-and-paperclip-42"
SHIFT = timedelta(hours=8)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.current = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class CountingHasher(PasswordHasher):
    """Argon2id made cheap for tests, counting verifications."""

    def __init__(self, time_cost: int = 1, memory_cost: int = 8 * 1024) -> None:
        super().__init__(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
        self.verifications = 0
        self.longest_verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifications += 1
        self.longest_verified = max(self.longest_verified, len(password))
        return super().verify(hash, password)


@pytest.fixture
def database(database_url: str) -> str:
    """The URL of an empty database: a SQLite file, then a PostgreSQL database."""
    return database_url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def store(database: str, clock: Clock, hasher: CountingHasher) -> Iterator[SqlAccountStore]:
    store = SqlAccountStore(database, now=clock, hasher=hasher)
    yield store
    store.close()


def stored_rows(database: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def test_the_database_holds_an_argon2id_hash_never_the_password(database: str) -> None:
    store = SqlAccountStore(database)  # the production hasher

    store.add_agent("alice", PASSWORD, display_name="Alice Smith")

    [(password_hash,)] = stored_rows(database, "SELECT password_hash FROM agent_accounts")
    assert isinstance(password_hash, str)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert PasswordHasher().verify(password_hash, PASSWORD)
    assert "password_hash" not in {field.name for field in dataclasses.fields(AgentAccount)}


def test_the_right_password_signs_in_and_is_recorded(store: SqlAccountStore, clock: Clock) -> None:
    added = store.add_agent("Alice", PASSWORD, display_name="  Alice Smith ")
    assert added == AgentAccount(
        username="alice",
        display_name="Alice Smith",
        active=True,
        created_at=clock(),
        last_sign_in_at=None,
    )
    clock.advance(timedelta(minutes=5))

    signed_in = store.authenticate(" ALICE ", PASSWORD)

    assert signed_in is not None
    assert signed_in.username == "alice"
    assert signed_in.name == "Alice Smith"
    assert signed_in.last_sign_in_at == clock()
    assert store.list_agents() == [signed_in]


def test_a_wrong_password_or_an_unknown_agent_does_not_sign_in(
    store: SqlAccountStore, hasher: CountingHasher
) -> None:
    store.add_agent("alice", PASSWORD)

    assert store.authenticate("alice", "not the password") is None
    assert store.authenticate("alice", PASSWORD.upper()) is None
    assert store.authenticate("alice", "") is None
    verified_before = hasher.verifications
    assert store.authenticate("mallory", PASSWORD) is None
    assert store.authenticate("not a username!", PASSWORD) is None
    # Unknown names still cost a verification, so timing does not reveal who exists.
    assert hasher.verifications == verified_before + 2
    assert store.list_agents()[0].last_sign_in_at is None


def test_a_megabyte_password_is_refused_without_hashing_it(
    store: SqlAccountStore, hasher: CountingHasher
) -> None:
    store.add_agent("alice", PASSWORD)
    verified_before = hasher.verifications
    assert store.authenticate("alice", PASSWORD + "x" * 1_000_000) is None
    assert hasher.verifications == verified_before + 1  # the same cost as a wrong password
    assert hasher.longest_verified < 1_000


def test_a_disabled_agent_cannot_sign_in_and_their_sessions_end(store: SqlAccountStore) -> None:
    store.add_agent("alice", PASSWORD)
    store.add_agent("bob", PASSWORD)
    alice_token = store.open_session("alice", SHIFT)
    bob_token = store.open_session("bob", SHIFT)

    disabled = store.disable_agent("alice")

    assert disabled.active is False
    assert store.authenticate("alice", PASSWORD) is None
    assert store.session_agent(alice_token) is None
    assert store.session_agent(bob_token) is not None  # nobody else is signed out
    with pytest.raises(InputError, match="disabled") as raised:
        store.open_session("alice", SHIFT)
    assert raised.value.source == "username"

    # Enabling lets the agent sign in again; the sessions that were ended stay ended.
    assert store.enable_agent("alice").active is True
    assert store.session_agent(alice_token) is None
    assert store.authenticate("alice", PASSWORD) is not None
    assert store.session_agent(store.open_session("alice", SHIFT)) is not None


def test_a_session_lasts_its_ttl_and_no_longer(store: SqlAccountStore, clock: Clock) -> None:
    store.add_agent("alice", PASSWORD)
    token = store.open_session("alice", SHIFT)

    clock.advance(SHIFT - timedelta(seconds=1))
    agent = store.session_agent(token)
    assert agent is not None
    assert agent.username == "alice"

    clock.advance(timedelta(seconds=1))
    assert store.session_agent(token) is None


def test_signing_out_ends_the_session_and_purge_removes_dead_ones(
    store: SqlAccountStore, clock: Clock, database: str
) -> None:
    store.add_agent("alice", PASSWORD)
    closed = store.open_session("alice", SHIFT)
    short = store.open_session("alice", timedelta(minutes=10))
    current = store.open_session("alice", SHIFT)

    store.close_session(closed)
    store.close_session(closed)  # signing out twice is harmless
    store.close_session("no-such-token")
    clock.advance(timedelta(minutes=10))

    assert store.session_agent(closed) is None
    assert store.session_agent(short) is None
    assert store.session_agent("no-such-token") is None
    assert store.session_agent("") is None
    assert store.purge_expired() == 2
    assert stored_rows(database, "SELECT count(*) FROM agent_sessions") == [(1,)]
    assert store.session_agent(current) is not None


def test_the_database_holds_only_the_tokens_sha256(store: SqlAccountStore, database: str) -> None:
    store.add_agent("alice", PASSWORD)
    token = store.open_session("alice", SHIFT)
    other = store.open_session("alice", SHIFT)

    assert len(token) >= 43 and token != other
    rows = stored_rows(database, "SELECT * FROM agent_sessions")
    assert len(rows) == 2
    stored_text = repr(rows)
    assert token not in stored_text and other not in stored_text
    assert {row[0] for row in rows} == {
        hashlib.sha256(token.encode()).hexdigest(),
        hashlib.sha256(other.encode()).hexdigest(),
    }


def test_a_duplicate_username_is_an_input_error(store: SqlAccountStore) -> None:
    store.add_agent("alice", PASSWORD)

    for duplicate in ("alice", "ALICE "):
        with pytest.raises(InputError, match="already exists") as raised:
            store.add_agent(duplicate, NEW_PASSWORD)
        assert raised.value.source == "username"
    assert [agent.username for agent in store.list_agents()] == ["alice"]
    assert store.authenticate("alice", PASSWORD) is not None  # the first account is untouched


@pytest.mark.parametrize("username", ["al", "a" * 65, "alice smith", "alice@example.com", ""])
def test_a_bad_username_is_an_input_error(store: SqlAccountStore, username: str) -> None:
    with pytest.raises(InputError, match="lowercase letters") as raised:
        store.add_agent(username, PASSWORD)
    assert raised.value.source == "username"


@pytest.mark.parametrize("password", ["", "short", "123456789", "x" * 1025])
def test_a_weak_password_is_an_input_error(store: SqlAccountStore, password: str) -> None:
    with pytest.raises(InputError) as raised:
        store.add_agent("alice", password)
    assert raised.value.source == "password"
    assert str(raised.value).startswith("password: ")
    assert store.list_agents() == []

    store.add_agent("alice", PASSWORD)
    with pytest.raises(InputError) as raised:
        store.set_password("alice", password)
    assert raised.value.source == "password"
    assert store.authenticate("alice", PASSWORD) is not None


def test_a_new_password_replaces_the_old_one(store: SqlAccountStore) -> None:
    store.add_agent("alice", PASSWORD)

    store.set_password("alice", NEW_PASSWORD)

    assert store.authenticate("alice", PASSWORD) is None
    assert store.authenticate("alice", NEW_PASSWORD) is not None
    with pytest.raises(InputError, match="no agent 'mallory'") as raised:
        store.set_password("mallory", NEW_PASSWORD)
    assert raised.value.source == "username"


def test_a_hash_made_with_old_parameters_is_upgraded_at_sign_in(database: str) -> None:
    url = database
    SqlAccountStore(url, hasher=CountingHasher(time_cost=1)).add_agent("alice", PASSWORD)
    stronger = CountingHasher(time_cost=2)

    assert SqlAccountStore(url, hasher=stronger).authenticate("alice", PASSWORD) is not None

    [(password_hash,)] = stored_rows(database, "SELECT password_hash FROM agent_accounts")
    assert isinstance(password_hash, str)
    assert not stronger.check_needs_rehash(password_hash)
    assert SqlAccountStore(url, hasher=stronger).authenticate("alice", PASSWORD) is not None


def test_the_console_and_the_api_share_accounts_and_sessions(
    database: str, clock: Clock, hasher: CountingHasher
) -> None:
    url = database
    console = SqlAccountStore(url, now=clock, hasher=hasher)
    api = SqlAccountStore(url, now=clock, hasher=hasher)

    console.add_agent("alice", PASSWORD, display_name="Alice Smith")
    assert [agent.name for agent in api.list_agents()] == ["Alice Smith"]
    assert api.authenticate("alice", PASSWORD) is not None
    token = console.open_session("alice", SHIFT)
    agent = api.session_agent(token)
    assert agent is not None
    assert agent.username == "alice"

    console.disable_agent("alice")
    assert api.session_agent(token) is None
    with pytest.raises(InputError, match="already exists"):
        api.add_agent("alice", NEW_PASSWORD)


def test_unknown_agents_and_bad_ttls_are_input_errors(store: SqlAccountStore) -> None:
    store.add_agent("alice", PASSWORD)

    for action in (store.disable_agent, store.enable_agent):
        with pytest.raises(InputError, match="no agent 'bob'"):
            action("bob")
    with pytest.raises(InputError, match="no agent 'bob'"):
        store.open_session("bob", SHIFT)
    for ttl in (timedelta(0), timedelta(minutes=-1)):
        with pytest.raises(InputError) as raised:
            store.open_session("alice", ttl)
        assert raised.value.source == "ttl"


def test_a_bad_database_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="GLOVEBOX_DATABASE_URL"):
        SqlAccountStore("not a url")
