"""Term frequencies by term, with the filter fields coded: the arrays a snapshot holds."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.errors import ConfigurationError

if TYPE_CHECKING:
    import numpy as np

    CodedColumn = tuple[np.ndarray, list[tuple[str, Any]]]


def damaged_keyword_index(path: Path, detail: str) -> ConfigurationError:
    return ConfigurationError(
        f"the keyword index {path} is damaged ({detail}); it holds nothing the knowledge base "
        f"does not: delete the folder {path.parent} and it is rebuilt from the knowledge base"
    )


class Postings:
    """Term frequencies of some rows, by term: the compressed-column layout BM25 sums over."""

    def __init__(
        self,
        rows: np.ndarray,
        lengths: np.ndarray,
        vocabulary: dict[str, int],
        pointers: np.ndarray,
        documents: np.ndarray,
        frequencies: np.ndarray,
        columns: dict[str, CodedColumn] | None = None,
    ) -> None:
        self.columns = columns or {}
        """Filter fields, coded: field -> (codes, the typed value of each code)."""
        self.rows = rows
        self.lengths = lengths
        self.vocabulary = vocabulary
        self.pointers = pointers
        self.documents = documents
        self.frequencies = frequencies

    @classmethod
    def build(
        cls,
        rows: Sequence[int],
        terms: Sequence[str],
        columns: Mapping[str, list[Any]] | None = None,
    ) -> Postings:
        import numpy as np

        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        document_ids: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(rows), dtype=np.int32)
        for position, text in enumerate(terms):
            words = text.split()
            lengths[position] = len(words)
            for word, count in Counter(words).items():
                term_ids.append(vocabulary.setdefault(word, len(vocabulary)))
                document_ids.append(position)
                counts.append(count)
        term_array = np.asarray(term_ids, dtype=np.int32)
        order = np.argsort(term_array, kind="stable")
        pointers = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_array, minlength=len(vocabulary)), out=pointers[1:])
        return cls(
            np.asarray(rows, dtype=np.int64),
            lengths,
            vocabulary,
            pointers,
            np.asarray(document_ids, dtype=np.int32)[order],
            np.asarray(counts, dtype=np.float32)[order],
            {field: coded(values) for field, values in (columns or {}).items()},
        )

    def save(self, path: Path | None) -> Path | None:
        import numpy as np

        if path is None:
            return None
        temporary = path.with_name(path.name + ".tmp")
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        for name in ("rows", "lengths", "pointers", "documents", "frequencies"):
            np.save(temporary / f"{name}.npy", getattr(self, name))
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (temporary / "terms.txt").write_text("\n".join(terms), encoding="utf-8")
        for field, (codes, _) in self.columns.items():
            np.save(temporary / f"codes-{field}.npy", codes)
        dictionaries = {field: values for field, (_, values) in self.columns.items()}
        (temporary / "columns.json").write_text(json.dumps(dictionaries), encoding="utf-8")
        temporary.rename(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Postings:
        import numpy as np

        try:
            arrays = {
                name: np.load(path / f"{name}.npy", mmap_mode="r")
                for name in ("rows", "lengths", "pointers", "documents", "frequencies")
            }
            terms = (path / "terms.txt").read_text(encoding="utf-8").split("\n")
            dictionaries = json.loads((path / "columns.json").read_text(encoding="utf-8"))
            columns = {
                field: (
                    np.load(path / f"codes-{field}.npy", mmap_mode="r"),
                    [(kind, value) for kind, value in values],
                )
                for field, values in dictionaries.items()
            }
        except (OSError, ValueError) as error:
            raise damaged_keyword_index(path / "terms.txt", str(error)) from error
        vocabulary = {term: index for index, term in enumerate(terms) if term}
        return cls(vocabulary=vocabulary, columns=columns, **arrays)

    def document_frequency(self) -> np.ndarray:
        import numpy as np

        return np.diff(self.pointers)


def coded(values: Sequence[Any]) -> CodedColumn:
    """A column as codes and the typed value each code stands for."""
    import numpy as np

    dictionary: dict[tuple[str, Any], int] = {}
    codes = np.fromiter(
        (dictionary.setdefault(typed(value), len(dictionary)) for value in values),
        dtype=np.int32,
        count=len(values),
    )
    return codes, list(dictionary)


def typed(value: Any) -> tuple[str, Any]:
    """A value with its kind, so True never equals 1 and a list equals nothing."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("text", value)
    return ("unmatchable", None)


def json_value(value: Any, kind: str | None) -> Any:
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind in {"array", "object"}:
        return Unmatchable()
    return value


class Unmatchable:
    """A list or object in metadata: equal to no filter value (as `matches` decides)."""
