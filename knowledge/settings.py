"""The one settings class. Read it through `get_settings()`; environment prefix `GLOVEBOX_`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @field_validator("chroma_url")
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
