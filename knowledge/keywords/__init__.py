"""The keyword index: BM25 over a knowledge base's chunks, kept on disk beside it.

Ingest writes it as it writes the store; a server opens it in milliseconds instead of reading
every chunk back. Scores are Okapi BM25 (rank_bm25's `BM25Okapi`: k1 1.5, b 0.75, negative IDF
floored at a quarter of the mean), computed at query time from term frequencies, so a change
needs no recomputation of the rest:

- the chunks live in SQLite (`keywords.sqlite3`): id, content hash, metadata, text and terms;
- the postings of most of them live in a snapshot, numpy arrays opened by memory map;
- rows written since the snapshot are scored from a small in-memory delta, and rows deleted
  since are masked out, until enough change has piled up to write a new snapshot.

Filters (`knowledge.filters`) are evaluated as numpy masks over columns of the metadata.

    index = KeywordIndexFiles.open(settings.kb_state_dir("default") / "keywords")
    index.search({"tpms": 1.0, "reset": 1.0}, where=None, k=10)
"""

from knowledge.keywords.bm25 import IndexedChunk, KeywordHit
from knowledge.keywords.files import KeywordIndexFiles, catch_up
from knowledge.keywords.terms import indexed_terms, keyword_tokens

__all__ = [
    "IndexedChunk",
    "KeywordHit",
    "KeywordIndexFiles",
    "catch_up",
    "indexed_terms",
    "keyword_tokens",
]
