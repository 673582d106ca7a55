"""A real `glovebox serve` on the sample knowledge base with one agent account, for UI tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge.settings import GloveboxSettings
from tests.conftest import subprocess_env

AGENT = ("ana", "correct-horse-42")
WIDGET_KEY = "pk_demo_local"


@dataclass(frozen=True)
class RunningServer:
    url: str
    database_url: str
    username: str
    password: str
    log: Path
    demo_url: str
    """The demo carmaker page embedding the widget, on another origin."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health_status(url: str) -> str | None:
    """What the server's /healthz says ("starting", "ready", "failed"); None before it listens."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return str(json.load(response)["status"])
    except urllib.error.HTTPError as error:  # 503: starting, or the warm-up failed
        return str(json.load(error)["status"])
    except OSError:
        return None


@contextmanager
def serving(
    home: Path, folder: Path, extra_env: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    """`glovebox serve` in a subprocess, as a user starts it, with its own database."""
    from assistant.desk.accounts import SqlAccountStore

    database_url = f"sqlite:///{folder / 'glovebox.sqlite3'}"
    accounts = SqlAccountStore(database_url)
    accounts.add_agent(*AGENT, display_name="Ana Agent")
    accounts.close()
    port, demo_port = free_port(), free_port()
    demo_url = f"http://127.0.0.1:{demo_port}"
    env = subprocess_env(home)
    env["GLOVEBOX_DATABASE_URL"] = database_url
    env["GLOVEBOX_WIDGET_KEYS"] = json.dumps({WIDGET_KEY: [demo_url, "http://127.0.0.1:8001"]})
    env.update(extra_env or {})
    log = folder / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ui.cli",
                "serve",
                "--port",
                str(port),
                "--demo-port",
                str(demo_port),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while (status := health_status(url)) != "ready":
            if status == "failed" or process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"glovebox serve did not get ready ({status}):\n{log.read_text()}")
            time.sleep(0.5)
        yield RunningServer(url, database_url, *AGENT, log=log, demo_url=demo_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def running_server(
    sample_kb_home: GloveboxSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One server for the agent, console and widget tests (rate limits raised for them)."""
    relaxed = {
        "GLOVEBOX_RATE_LIMIT_PER_IP": "1000",
        "GLOVEBOX_RATE_LIMIT_PER_SESSION": "100",
        "GLOVEBOX_MAX_OPEN_TICKETS_PER_ADDRESS": "1000",
    }
    with serving(sample_kb_home.home, tmp_path_factory.mktemp("server"), relaxed) as server:
        yield server
