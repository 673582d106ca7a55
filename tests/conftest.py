"""Shared fixtures: an isolated GLOVEBOX_HOME per test, no network, the real model loaded once."""

from __future__ import annotations

import ipaddress
import os
import socket
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
