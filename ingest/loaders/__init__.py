"""One loader per source format; `loader_for` asks the registered formats which reads a file.

A format is a name, the file suffixes it reads, an optional `reads(path)` test for when a
suffix is shared (a name pattern, a sniff of the first line) and the loader class. A carmaker
adds one without editing this package; formats registered so are asked before the built-in
ones, in the order they were registered:

    from ingest.loaders import register_loader

    register_loader("dealer-bulletins", {".xml"}, DealerBulletinLoader,
                    reads=lambda path: path.name.startswith("DLR_"))

The loader class takes no arguments and has `load(path, context) -> LoadResult` (`Loader`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders.archive import ZipArchiveLoader
from ingest.loaders.base import LoadContext, Loader, LoadResult
from ingest.loaders.emanual import EmanualJsonLoader
from ingest.loaders.faq import FaqCsvLoader, FaqYamlLoader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.markdown import MarkdownLoader
from ingest.loaders.nhtsa import FlatRecallLoader, FlatServiceBulletinLoader, sniff_flat_file
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.recall_exports import RecallCsvLoader, RecallJsonLoader, sniff_csv_layout
from knowledge.errors import ConfigurationError

__all__ = [
    "LoadContext",
    "LoadResult",
    "Loader",
    "LoaderFormat",
    "loader_for",
    "register_loader",
]


def _any_file(path: Path) -> bool:
    return True


@dataclass(frozen=True)
class LoaderFormat:
    """A source format: which files it reads and the loader that reads them."""

    name: str
    suffixes: frozenset[str]
    """Lower-case, with the dot: '.csv'."""
    loader: Callable[[], Loader]
    reads: Callable[[Path], bool] = _any_file
    """Whether a file with one of the suffixes is of this format (asked only for those)."""

    def matches(self, path: Path) -> bool:
        return path.suffix.lower() in self.suffixes and self.reads(path)


def _named(ending: str) -> Callable[[Path], bool]:
    return lambda path: path.name.lower().endswith(ending)


def _flat_file(layout: str) -> Callable[[Path], bool]:
    return lambda path: sniff_flat_file(path) == layout


def _faq_csv(path: Path) -> bool:
    return path.name.lower().endswith(".faq.csv") or sniff_csv_layout(path) == "faq"


BUILT_IN_FORMATS: tuple[LoaderFormat, ...] = (
    LoaderFormat("markdown", frozenset({".md", ".markdown"}), MarkdownLoader),
    LoaderFormat("html", frozenset({".html", ".htm"}), HtmlLoader),
    LoaderFormat("pdf", frozenset({".pdf"}), PdfLoader),
    LoaderFormat("faq-yaml", frozenset({".yaml", ".yml"}), FaqYamlLoader),
    LoaderFormat("nhtsa-recalls", frozenset({".txt"}), FlatRecallLoader, _flat_file("FLAT_RCL")),
    LoaderFormat(
        "nhtsa-bulletins", frozenset({".txt"}), FlatServiceBulletinLoader, _flat_file("FLAT_TSBS")
    ),
    LoaderFormat("text", frozenset({".txt"}), MarkdownLoader),
    LoaderFormat("faq-csv", frozenset({".csv"}), FaqCsvLoader, _faq_csv),
    LoaderFormat("recall-csv", frozenset({".csv"}), RecallCsvLoader),
    LoaderFormat(
        "emanual-json", frozenset({".json"}), EmanualJsonLoader, _named("_manual_corpus.json")
    ),
    LoaderFormat("recall-json", frozenset({".json"}), RecallJsonLoader),
    LoaderFormat("zip", frozenset({".zip"}), lambda: ZipArchiveLoader(loader_for)),
)
"""Asked in this order: a format with a `reads` test comes before the catch-all of its suffix."""

_registered: list[LoaderFormat] = []

SUPPORTED_SUFFIXES: set[str] = {s for f in BUILT_IN_FORMATS for s in f.suffixes}
"""Every suffix some format reads (the ingest report names them); grows as formats register."""


def register_loader(
    name: str,
    suffixes: Iterable[str],
    loader: Callable[[], Loader],
    *,
    reads: Callable[[Path], bool] = _any_file,
) -> LoaderFormat:
    """Add a format, asked before the built-in ones (and after formats registered earlier)."""
    normalised = frozenset(s.lower() if s.startswith(".") else f".{s.lower()}" for s in suffixes)
    if not normalised:
        raise ConfigurationError(f"loader format {name!r} reads no suffix; give one like '.xml'")
    source_format = LoaderFormat(name, normalised, loader, reads)
    _registered.append(source_format)
    SUPPORTED_SUFFIXES.update(normalised)
    return source_format


def loader_formats() -> list[LoaderFormat]:
    """Every format, in the order `loader_for` asks them."""
    return [*_registered, *BUILT_IN_FORMATS]


def loader_for(path: Path) -> Loader | None:
    """The loader for a file, by its name and, where names are ambiguous, its first line."""
    for source_format in loader_formats():
        if source_format.matches(path):
            return source_format.loader()
    return None
