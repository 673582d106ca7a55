"""Two `glovebox serve` workers on one Chroma server and one PostgreSQL database, driven
alternately: the scale-out layout of docs/deploy.md, as a carmaker runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from knowledge.settings import GloveboxSettings
from tests.conftest import SAMPLE_KNOWLEDGE, SAMPLE_PROFILE, PostgresCluster, subprocess_env
from tests.ui.conftest import WIDGET_KEY, free_port, health_status

pytestmark = [pytest.mark.slow, pytest.mark.integration]

KB = "two-workers"
AGENT = ("ana", "correct-horse-42")
KEY = {"X-Glovebox-Key": WIDGET_KEY}
LOAD_SECONDS = 60
"""How long the 32 clients keep both workers busy (the issue asks for 60 s)."""
LOAD_CLIENTS = 32
QUESTIONS = [
    "How do I check the tyre pressure?",
    "What does the oil service light mean?",
    "How do I pair my phone over Bluetooth?",
    "My brake pedal feels soft, what should I do?",
]


@dataclass(frozen=True)
class Layout:
    """The workers' URLs and what they share."""

    workers: list[str]
    database_url: str
    home: Path


@pytest.fixture(scope="module")
def shared_knowledge(
    chroma_server: str, real_embedder, tmp_path_factory: pytest.TempPathFactory
) -> GloveboxSettings:  # type: ignore[no-untyped-def]
    """The sample knowledge base, ingested once into the Chroma server."""
    from ingest.sync import build_ingest_job

    settings = GloveboxSettings(
        home=tmp_path_factory.mktemp("two-workers-home"),
        profile_path=SAMPLE_PROFILE,
        chroma_url=chroma_server,
    )
    report = build_ingest_job(settings, KB, real_embedder).run([SAMPLE_KNOWLEDGE])
    assert report.skipped == []
    return settings


@contextmanager
def two_workers(
    knowledge: GloveboxSettings, database_url: str, folder: Path, limits: dict[str, str]
) -> Iterator[Layout]:
    """Two `glovebox serve` processes with the same database and Chroma settings, and an agent
    added with `glovebox agents add`, as an operator would."""
    env = subprocess_env(knowledge.home)
    env.update(
        GLOVEBOX_DATABASE_URL=database_url,
        GLOVEBOX_CHROMA_URL=str(knowledge.chroma_url),
        GLOVEBOX_WIDGET_KEYS=json.dumps({WIDGET_KEY: ["http://127.0.0.1:8001"]}),
        # One torch thread a worker: two workers' thread pools would fight for the same cores.
        OMP_NUM_THREADS="1",
        **limits,
    )
    added = subprocess.run(
        [sys.executable, "-m", "ui.cli", "agents", "add", AGENT[0], "--password-stdin"],
        input=AGENT[1] + "\n", env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    with ExitStack() as stack:
        workers = [stack.enter_context(serving(env, folder / f"worker-{n}.log")) for n in range(2)]
        for url, log in workers:
            wait_until_healthy(url, log)
        yield Layout([url for url, _ in workers], database_url, knowledge.home)


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "serve", "--port", str(port), "--kb", KB],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_healthy(url: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = health_status(url)
        if status == "ready":
            return
        if status == "failed":
            break
        time.sleep(0.5)
    pytest.fail(f"glovebox serve did not get ready:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def layout(
    shared_knowledge: GloveboxSettings,
    postgres_cluster: PostgresCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Layout]:
    """Limits raised: 32 clients on one address are load, not an attack."""
    relaxed = {
        "GLOVEBOX_RATE_LIMIT_PER_IP": "1000000",
        "GLOVEBOX_RATE_LIMIT_PER_SESSION": "1000",
        # 32 clients on one address: the load test is of the servers, not of the cap.
        "GLOVEBOX_MAX_OPEN_TICKETS_PER_ADDRESS": "10000",
    }
    folder = tmp_path_factory.mktemp("two-workers")
    with two_workers(shared_knowledge, postgres_cluster.new_database(), folder, relaxed) as found:
        yield found


def agent_token(worker: str) -> str:
    signed_in = httpx.post(
        f"{worker}/v1/agent/sessions",
        json={"username": AGENT[0], "password": AGENT[1]},
        timeout=60,
    )
    assert signed_in.status_code == 200, signed_in.text
    return str(signed_in.json()["token"])


def test_a_ticket_opened_through_one_worker_is_claimed_through_the_other(layout: Layout) -> None:
    first, second = layout.workers
    escalated = httpx.post(
        f"{first}/v1/escalations",
        headers=KEY,
        json={"message": "My brake pedal sinks to the floor; I need a person"},
        timeout=60,
    )
    assert escalated.status_code == 200, escalated.text
    reference = escalated.json()["ticket_id"]
    bearer = {"Authorization": f"Bearer {agent_token(second)}"}

    queue = httpx.get(f"{second}/v1/agent/tickets", headers=bearer, timeout=60).json()
    assert reference in [ticket["id"] for ticket in queue]
    claimed = httpx.post(f"{second}/v1/agent/tickets/{reference}/claim", headers=bearer, timeout=60)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["assignee"] == "ana"

    # The first worker sees the claim, with a sign-in it never issued.
    seen = httpx.get(f"{first}/v1/agent/tickets/{reference}", headers=bearer, timeout=60).json()
    assert seen["state"] == "human" and seen["assignee"] == "ana"
    session = httpx.get(
        f"{first}/v1/sessions/{escalated.json()['session_id']}", headers=KEY, timeout=60
    )
    assert session.status_code == 200 and session.json()["state"] == "human"


@dataclass
class LoadTally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"ask": [], "escalate": []})
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    escalations: list[tuple[str, str]] = field(default_factory=list)
    """(session id, ticket reference) of every escalation answered 2xx."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def p95_ms(self, *kinds: str) -> int:
        ordered = sorted(seconds for kind in kinds for seconds in self.latencies[kind])
        return round(1000 * ordered[int(0.95 * (len(ordered) - 1))]) if ordered else 0


def drive(layout: Layout, client_number: int, deadline: float, tally: LoadTally) -> None:
    """One client: asks and escalates in turn, on the two workers in turn."""
    with httpx.Client(timeout=120, headers=KEY) as client:
        step = client_number
        while time.monotonic() < deadline:
            worker = layout.workers[step % 2]
            asking = (step // 2) % 2 == 0
            started = time.monotonic()
            try:
                if asking:
                    question = QUESTIONS[step % len(QUESTIONS)]
                    response = client.post(f"{worker}/v1/chat", json={"question": question})
                else:
                    response = client.post(
                        f"{worker}/v1/escalations",
                        json={"message": f"client {client_number} step {step}: call me back"},
                    )
            except httpx.HTTPError as error:
                with tally.lock:
                    tally.failures.append(f"{worker}: {error!r}")
                step += 1
                continue
            elapsed = time.monotonic() - started
            with tally.lock:
                tally.latencies["ask" if asking else "escalate"].append(elapsed)
                tally.statuses[response.status_code] += 1
                if not asking and response.is_success:
                    body = response.json()
                    tally.escalations.append((body["session_id"], body["ticket_id"]))
            step += 1


def stored_tickets(database_url: str) -> list[tuple[str, int]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT session_id, id FROM tickets"))
            return [(str(session_id), int(ticket_id)) for session_id, ticket_id in rows]
    finally:
        engine.dispose()


def test_32_clients_for_a_minute_on_two_workers_lose_and_duplicate_nothing(
    layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.records import ticket_id_from_reference

    tally = LoadTally()
    deadline = time.monotonic() + LOAD_SECONDS
    clients = [
        threading.Thread(target=drive, args=(layout, number, deadline, tally))
        for number in range(LOAD_CLIENTS)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join()

    stored = stored_tickets(layout.database_url)
    tickets_of_session = Counter(session_id for session_id, _ in stored)
    stored_ids = {ticket_id for _, ticket_id in stored}
    answered = [(session, ticket_id_from_reference(ref)) for session, ref in tally.escalations]
    lost = [pair for pair in answered if pair[1] not in stored_ids]
    duplicated = (
        len(answered)
        - len(set(answered))
        + sum(count - 1 for session, count in tickets_of_session.items() if count > 1)
    )
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    requests = sum(tally.statuses.values())
    with capsys.disabled():
        print(
            f"\ntwo workers, {LOAD_CLIENTS} clients, {LOAD_SECONDS} s: {requests} requests "
            f"(statuses {dict(sorted(tally.statuses.items()))}), "
            f"p95 {tally.p95_ms('ask', 'escalate')} ms (asks {tally.p95_ms('ask')} ms, "
            f"escalations {tally.p95_ms('escalate')} ms), {len(answered)} escalations, "
            f"lost {len(lost)}, duplicated {duplicated}, connection failures "
            f"{len(tally.failures)}"
        )
    assert tally.failures == []
    assert server_errors == 0
    assert len(answered) > 0 and requests > LOAD_CLIENTS
    assert lost == []
    assert duplicated == 0


def test_the_per_address_limit_holds_across_both_workers(
    shared_knowledge: GloveboxSettings,
    postgres_cluster: PostgresCluster,
    tmp_path: Path,
) -> None:
    limit = 8
    strict = {"GLOVEBOX_RATE_LIMIT_PER_IP": str(limit)}
    database_url = postgres_cluster.new_database()
    with two_workers(shared_knowledge, database_url, tmp_path, strict) as found:
        statuses = [
            httpx.get(f"{found.workers[n % 2]}/v1/starters", headers=KEY, timeout=60).status_code
            for n in range(2 * limit)
        ]
    # Each worker alone would have let all 16 through. The sliding window weighs the previous
    # minute's count down as the minute passes, so a run across a minute's turn may see one more.
    assert limit <= statuses.count(200) <= limit + 1, statuses
    assert statuses[:limit] == [200] * limit and statuses[-limit + 1 :] == [429] * (limit - 1)
