"""Shared fixtures: an isolated GLOVEBOX_HOME per test, no network, the real model loaded once."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.settings import GloveboxSettings, get_settings, quiet_offline_environment

quiet_offline_environment()

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
SAMPLE_KNOWLEDGE = PROJECT_ROOT / "knowledge" / "sample"
SAMPLE_PROFILE = SAMPLE_KNOWLEDGE / "profile" / "profile.yaml"
"""The sample carmaker's profile: its VIN table (WMI 7HV) and words."""
SAMPLE_WMI = "7HV"


def sample_vin(model_letter: str, year: int, serial: str = "123456") -> str:
    """A valid VIN of the sample carmaker (T Tessel, B Brisa, K Karst)."""
    from assistant.vehicles import make_vin

    return make_vin(model_letter, year, serial, wmi=SAMPLE_WMI)


def shared_data(relative: str) -> Path:
    """A file of ../shared/data, read in place (never copied into the project)."""
    path = SHARED_DATA / relative
    if not path.exists():
        message = f"{path} is not here: clone the project with ../shared beside it"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI always has ../shared: a skip there would hide a lost test
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection that is not to this machine fails the test."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            try:
                allowed = ipaddress.ip_address(host).is_loopback
            except ValueError:
                allowed = host == "localhost"
            if not allowed:
                raise RuntimeError(f"test tried to reach {address}: tests must stay offline")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(autouse=True)
def glovebox_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "glovebox-home"
    monkeypatch.setenv("GLOVEBOX_HOME", str(home))
    monkeypatch.delenv("GLOVEBOX_CHROMA_URL", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def settings(glovebox_home: Path) -> GloveboxSettings:
    return get_settings()


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    """The packaged all-MiniLM-L6-v2, loaded once for the whole run."""
    from knowledge.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.embed_query("load the model once")
    return embedder


def subprocess_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GLOVEBOX_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    # The sample knowledge base is asked as its carmaker: its VINs decode to its models.
    env.setdefault("GLOVEBOX_PROFILE_PATH", str(SAMPLE_PROFILE))
    env.pop("GLOVEBOX_CHROMA_URL", None)
    return env


@pytest.fixture(scope="session")
def sample_kb_home(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> GloveboxSettings:  # type: ignore[no-untyped-def]
    """Settings whose home holds the sample knowledge base, ingested once for the whole run.

    Treat its store as read-only; give tests that write tickets their own `database_url`.
    """
    from ingest.sync import build_ingest_job

    settings = GloveboxSettings(
        home=tmp_path_factory.mktemp("sample-kb-home"), profile_path=SAMPLE_PROFILE
    )
    report = build_ingest_job(settings, "default", real_embedder).run([SAMPLE_KNOWLEDGE])
    assert report.skipped == []
    return settings


# --- Chroma in server mode: one real `chroma run` for the whole run ----------------------------


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` on a free loopback port for the whole session; its URL."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.skip(f"{chroma} is missing: install the pinned chromadb to test server mode")
    folder = tmp_path_factory.mktemp("chroma-server")
    port = _free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [str(chroma), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_for_heartbeat(url, server, folder / "server.log")
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_for_heartbeat(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            pytest.fail(f"chroma run exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer on {url} within 60 s")
            time.sleep(0.2)


# --- PostgreSQL: one throwaway cluster on loopback for the whole run --------------------------

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """initdb + pg_ctl into a temporary folder; as root the server runs as `postgres`
    (it refuses to run as root). Trust authentication, loopback only, no fsync: a test rig."""

    def __init__(self, bin_dir: Path) -> None:
        import getpass
        import tempfile

        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="glovebox-pg-"))  # not under 0700 pytest dirs
        self.port = _free_loopback_port()
        self.run_as: list[str] = []
        self.superuser = getpass.getuser()
        if os.geteuid() == 0:
            import shutil

            shutil.chown(self.folder, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
            self.superuser = "postgres"
        self.data = self.folder / "data"
        self.names = iter(range(1, 1_000_000))

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self.run_as, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.superuser,
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        import shutil

        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        name = f"glovebox_test_{next(self.names)}"
        with psycopg.connect(self._dsn(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def _dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.superuser} dbname=postgres"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Debian's PostgreSQL (`make test` installs it), started for the run and stopped after.

    Off CI a machine without it skips these tests; on CI (`CI` set) that is a failure.
    """
    problem = None
    if not POSTGRES_BIN_DIRS:
        problem = "PostgreSQL is not installed: apt-get install postgresql (make test does)"
    else:
        try:
            cluster = PostgresCluster(POSTGRES_BIN_DIRS[0])
            cluster.start()
        except (RuntimeError, OSError, LookupError, subprocess.SubprocessError) as error:
            problem = f"could not start a PostgreSQL cluster from {POSTGRES_BIN_DIRS[0]}: {error}"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A new empty database on the session's cluster, as a SQLAlchemy URL."""
    return postgres_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for the desk stores: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'glovebox.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))
