"""The SQL rate limiter: a limit per window per key, held across processes that share one
database file, with no over-admission under concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from assistant.desk.database import Database
from assistant.desk.limits import SqlRateLimiter
from assistant.desk.migrations import upgrade_to_head
from assistant.desk.tables import RateLimitRow


class Clock:
    """Unix seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000_040.0  # 20 s into a minute window

    def __call__(self) -> float:
        return self.now


def desk_database(url: str = "sqlite://") -> Database:
    return Database(url, stage="tickets", create_tables=upgrade_to_head)


@pytest.fixture
def database() -> Database:
    return desk_database()


def rows(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(RateLimitRow)) or 0)


def test_a_key_gets_its_limit_per_window_and_is_told_when_to_come_back(
    database: Database,
) -> None:
    clock = Clock()
    limiter = SqlRateLimiter(database, "test", limit=3, clock=clock)
    admissions = [limiter.allow("10.0.0.1") for _ in range(4)]
    assert [admission.allowed for admission in admissions] == [True, True, True, False]
    # The window ends in 40 s; then a third of the next minute must pass for the three
    # events to weigh no more than two.
    assert admissions[-1].retry_after == 60
    assert limiter.allow("10.0.0.2").allowed  # another key has its own budget
    clock.now += 59.5
    refused = limiter.allow("10.0.0.1")
    assert not refused.allowed and refused.retry_after == 1  # never 0: a client would spin
    clock.now += 1
    assert limiter.allow("10.0.0.1").allowed
    assert not limiter.allow("10.0.0.1").allowed  # the last window still weighs two thirds


def test_no_second_burst_just_after_a_window_boundary(database: Database) -> None:
    clock = Clock()
    clock.now += 39  # a second before the window ends
    limiter = SqlRateLimiter(database, "test", limit=3, clock=clock)
    assert all(limiter.allow("10.0.0.1").allowed for _ in range(3))
    clock.now += 2  # a second into the next window
    assert not limiter.allow("10.0.0.1").allowed  # a fixed window would let three more in


def test_a_refused_event_is_not_counted_and_a_released_one_gives_its_place_back(
    database: Database,
) -> None:
    clock = Clock()
    limiter = SqlRateLimiter(database, "test", limit=2, clock=clock)
    first = limiter.allow("ana")
    limiter.allow("ana")
    for _ in range(5):
        assert not limiter.allow("ana").allowed
    limiter.release(first)
    assert limiter.allow("ana").allowed
    assert not limiter.allow("ana").allowed
    stale = limiter.allow("bob")
    clock.now += 60
    limiter.allow("bob")
    assert not limiter.allow("bob").allowed  # two thirds of the stale one still weigh
    limiter.release(stale)  # counted in the previous window: taken back from there
    assert limiter.allow("bob").allowed and not limiter.allow("bob").allowed


def test_scopes_count_apart(database: Database) -> None:
    clock = Clock()
    addresses = SqlRateLimiter(database, "addresses", limit=1, clock=clock)
    sessions = SqlRateLimiter(database, "sessions", limit=1, clock=clock)
    assert addresses.allow("same-key").allowed
    assert sessions.allow("same-key").allowed
    assert not addresses.allow("same-key").allowed


def test_ended_windows_are_purged(database: Database) -> None:
    clock = Clock()
    limiter = SqlRateLimiter(database, "test", limit=5, clock=clock)
    for n in range(100):
        limiter.allow(f"session-{n}")
    assert rows(database) == 100
    clock.now += 61
    limiter.allow("a-new-session")
    assert rows(database) == 101  # the last window still weighs in the sliding one
    clock.now += 60
    limiter.allow("a-new-session")
    assert rows(database) == 1


def test_a_process_whose_clock_lags_counts_in_the_current_window(database: Database) -> None:
    ahead, behind = Clock(), Clock()
    behind.now -= 30  # in the previous minute
    SqlRateLimiter(database, "test", limit=2, clock=ahead).allow("key")
    lagging = SqlRateLimiter(database, "test", limit=2, clock=behind)
    assert lagging.allow("key").allowed
    assert not lagging.allow("key").allowed  # no fresh count from an older window


def test_a_long_key_is_stored_as_its_digest(database: Database) -> None:
    limiter = SqlRateLimiter(database, "test", limit=1, clock=Clock())
    assert limiter.allow("u" * 10_000).allowed
    assert not limiter.allow("u" * 10_000).allowed
    assert limiter.allow("u" * 9_999).allowed


def test_the_limit_holds_across_two_databases_on_one_file(database_url: str) -> None:
    first, second = desk_database(database_url), desk_database(database_url)  # as two workers
    clock = Clock()
    limiters = [
        SqlRateLimiter(db, "driver_address", limit=5, clock=clock) for db in (first, second)
    ]
    allowed = [limiters[n % 2].allow("203.0.113.7").allowed for n in range(10)]
    assert allowed == [True] * 5 + [False] * 5
    assert first.engine is not second.engine


def test_concurrent_callers_are_never_over_admitted(database_url: str) -> None:
    databases = [desk_database(database_url) for _ in range(2)]
    clock = Clock()  # stands still: the window cannot turn during the run
    limiters = [SqlRateLimiter(db, "driver_address", limit=25, clock=clock) for db in databases]
    limiters[0].allow("warm-up")  # tables created before the race
    limiters[1].allow("warm-up")
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def hammer(limiter: SqlRateLimiter) -> None:
        start.wait()
        for _ in range(10):
            allowed = limiter.allow("203.0.113.7").allowed
            with lock:
                results.append(allowed)

    threads = [threading.Thread(target=hammer, args=(limiters[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 80
    assert results.count(True) == 25
    with databases[0].transaction(write=False) as session:
        counted = session.scalar(select(RateLimitRow.hits).where(RateLimitRow.key == "203.0.113.7"))
    assert counted is not None and counted <= 25
