"""One loader per source format; `loader_for` picks the one that reads a file."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders.base import LoadContext, Loader, LoadResult
from ingest.loaders.emanual import EmanualJsonLoader
from ingest.loaders.faq import FaqCsvLoader, FaqYamlLoader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.markdown import MarkdownLoader
from ingest.loaders.nhtsa import FlatRecallLoader, FlatServiceBulletinLoader, sniff_flat_file
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.recall_exports import RecallCsvLoader, RecallJsonLoader, sniff_csv_layout

__all__ = ["LoadContext", "LoadResult", "Loader", "loader_for"]

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".csv", ".json",
                      ".yaml", ".yml"}  # fmt: skip


def loader_for(path: Path) -> Loader | None:
    """The loader for a file, by its name and, where names are ambiguous, its first line."""
    name = path.name.lower()
    suffix = path.suffix.lower()
    if suffix in {".md", ".markdown"}:
        return MarkdownLoader()
    if suffix in {".html", ".htm"}:
        return HtmlLoader()
    if suffix == ".pdf":
        return PdfLoader()
    if suffix in {".yaml", ".yml"}:
        return FaqYamlLoader()
    if suffix == ".txt":
        layout = sniff_flat_file(path)
        if layout == "FLAT_RCL":
            return FlatRecallLoader()
        if layout == "FLAT_TSBS":
            return FlatServiceBulletinLoader()
        return MarkdownLoader()
    if suffix == ".csv":
        if name.endswith(".faq.csv") or sniff_csv_layout(path) == "faq":
            return FaqCsvLoader()
        return RecallCsvLoader()
    if suffix == ".json":
        if name.endswith("_manual_corpus.json"):
            return EmanualJsonLoader()
        return RecallJsonLoader()
    return None
