"""The packaged sentence-transformers model, offline."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from knowledge.embedder import Embedder, SentenceTransformerEmbedder
from knowledge.errors import ConfigurationError


@pytest.mark.integration
def test_packaged_minilm_embeds_offline(real_embedder: SentenceTransformerEmbedder) -> None:
    assert isinstance(real_embedder, Embedder)
    assert real_embedder.model_name == "all-MiniLM-L6-v2"
    assert (real_embedder.dimension, real_embedder.max_tokens) == (384, 256)
    tire, tpms, phone = real_embedder.embed_documents(
        ["How do I reset the tire pressure warning?", "TPMS relearn procedure", "Pair my phone"]
    )
    assert math.isclose(sum(v * v for v in tire), 1.0, rel_tol=1e-4)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(tire, tpms) > cosine(tire, phone)
    assert real_embedder.count_tokens(["P0420 catalyst"]) == [
        len(real_embedder.model.tokenizer.tokenize("P0420 catalyst"))
    ]


def test_missing_model_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GLOVEBOX_EMBEDDING_MODEL_PATH"):
        SentenceTransformerEmbedder(tmp_path / "nowhere")


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(tmp_path)
    with pytest.raises(ConfigurationError, match="not a sentence-transformers model folder"):
        embedder.embed_query("x")
