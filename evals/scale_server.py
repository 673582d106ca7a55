"""`glovebox bench scale`'s figures of whole processes: a server from start to its first answer,
and a re-ingest of sources that did not change, each run as a user runs it (`glovebox serve`,
`glovebox ingest --json`) against the bench's home.

    figures = measure_server(home, "scale-10k-9434x1", question)
    reingest = measure_reingest(home, "scale-10k-9434x1", sources)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import StageError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "pk_bench_scale"
READY_TIMEOUT_SECONDS = 900.0
ANSWER_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.05
STAGE = "bench scale"


@dataclass(frozen=True)
class ServerFigures:
    start_to_ready_seconds: float
    ready_status: str
    """What /healthz said when it first answered 200 ('ready'; 'ok' before it knew warm-up)."""
    first_answer_seconds: float
    """From ready to the first driver answer over HTTP."""
    rss_mb: float
    """The server's resident memory after that answer."""


@dataclass(frozen=True)
class ReingestFigures:
    process_seconds: float
    """`glovebox ingest` from start to exit, model load and imports included."""
    job_seconds: float
    """The ingest job's own `seconds` in its report."""
    chunks_embedded: int
    model_loaded: bool | None
    """The report's `model_loaded`, where the report has that key."""


def bench_environment(home: Path) -> dict[str, str]:
    """This process's environment for a child glovebox on `home`: embedded store, its own
    SQLite, the extractive answer, the bench's widget key, and this checkout first on the path."""
    env = dict(os.environ)
    for name in ("GLOVEBOX_CHROMA_URL", "GLOVEBOX_DATABASE_URL", "GLOVEBOX_LLM_BASE_URL"):
        env.pop(name, None)
    env.update(
        GLOVEBOX_HOME=str(home),
        GLOVEBOX_WIDGET_KEYS=json.dumps({BENCH_KEY: []}),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    )
    return env


def _glovebox(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", *arguments]


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure_server(home: Path, kb: str, question: str, vehicle: str | None) -> ServerFigures:
    """Starts `glovebox serve` on a free loopback port, waits for /healthz to say ready, asks
    one driver question, reads the server's RSS, and stops it."""
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}"
    log_path = home / f"serve-{kb}.log"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        server = subprocess.Popen(
            _glovebox("serve", "--host", "127.0.0.1", "--port", str(port), "--kb", kb),
            env=bench_environment(home), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            status = _wait_until_ready(base, server, log_path)
            ready = time.perf_counter()
            _ask(base, question, vehicle)
            answered = time.perf_counter()
            rss_mb = _rss_mb(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return ServerFigures(ready - started, status, answered - ready, rss_mb)


def _wait_until_ready(base: str, server: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StageError(
                STAGE,
                f"glovebox serve exited with {server.returncode} before it was ready; its log "
                f"{log_path} ends: {log_path.read_text(errors='replace')[-1500:]}",
            )
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                status = str(json.loads(response.read()).get("status", ""))
                if response.status == 200 and status != "starting":
                    return status
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet, or 503 while it warms up
        time.sleep(POLL_SECONDS)
    raise StageError(
        STAGE, f"glovebox serve was not ready after {READY_TIMEOUT_SECONDS:.0f} s; see {log_path}"
    )


def _ask(base: str, question: str, vehicle: str | None) -> dict[str, Any]:
    body = json.dumps({"question": question, "vehicle": vehicle}).encode()
    request = urllib.request.Request(
        f"{base}/v1/chat", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-Glovebox-Key": BENCH_KEY},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_TIMEOUT_SECONDS) as response:
            reply: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise StageError(
            STAGE, f"POST /v1/chat answered {error.code}: {error.read()[:500]!r}"
        ) from error
    return reply


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status")
    if not status.is_file():
        raise StageError(STAGE, "server RSS is read from /proc/PID/status: run the bench on Linux")
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise StageError(STAGE, f"{status} has no VmRSS line")


def measure_reingest(home: Path, kb: str, sources: Path) -> ReingestFigures:
    """`glovebox ingest SOURCES --kb KB --json` on sources already ingested."""
    started = time.perf_counter()
    finished = subprocess.run(
        _glovebox("ingest", str(sources), "--kb", kb, "--json"),
        env=bench_environment(home), capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if finished.returncode not in (0, 3):  # 3: some input skipped, which the build saw too
        raise StageError(
            STAGE, f"glovebox ingest exited with {finished.returncode}: {finished.stderr[-1500:]}"
        )
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    loaded = report.get("model_loaded")
    return ReingestFigures(
        seconds,
        float(report["seconds"]),
        int(report["chunks_embedded"]),
        None if loaded is None else bool(loaded),
    )
