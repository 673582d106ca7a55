"""Which chunks a read may see, said once, without any store's filter language.

The assistant builds these (who may read a chunk, for which vehicle); each store translates
them into its own language (Chroma's `where`), and `matches` evaluates the same filter in
Python (the keyword index, the in-memory test store), so the two readings cannot drift.

    recall_notices = AllOf((Equals("kind", "recall_notice"), OneOf("audience", ("public",))))
    matches(recall_notices, {"kind": "recall_notice", "audience": "public"})  # True

A chunk without the field a condition names never matches it (fail closed, as Chroma does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Scalar = str | int | float | bool
"""A value a condition compares with: what a chunk's metadata holds, lists aside."""


@dataclass(frozen=True)
class Equals:
    """The field holds this value (a bool is never equal to a number)."""

    field: str
    value: Scalar


@dataclass(frozen=True)
class OneOf:
    """The field holds one of these values (at least one, all of one type)."""

    field: str
    values: tuple[Scalar, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"OneOf({self.field!r}) needs at least one value")


@dataclass(frozen=True)
class AtMost:
    """The field holds a number no greater than this one."""

    field: str
    value: int | float


@dataclass(frozen=True)
class AtLeast:
    """The field holds a number no smaller than this one."""

    field: str
    value: int | float


@dataclass(frozen=True)
class _Combination:
    filters: tuple[ChunkFilter, ...]

    def __post_init__(self) -> None:
        if not self.filters:
            raise ValueError(f"{type(self).__name__} needs at least one filter")


@dataclass(frozen=True)
class AllOf(_Combination):
    """Every one of these filters matches (at least one filter)."""


@dataclass(frozen=True)
class AnyOf(_Combination):
    """At least one of these filters matches (at least one filter)."""


ChunkFilter = Equals | OneOf | AtMost | AtLeast | AllOf | AnyOf


def matches(where: ChunkFilter, metadata: Mapping[str, object]) -> bool:
    """Whether a chunk with this metadata passes the filter, as every store must decide it."""
    match where:
        case AllOf(filters):
            return all(matches(part, metadata) for part in filters)
        case AnyOf(filters):
            return any(matches(part, metadata) for part in filters)
        case Equals(field, value):
            return field in metadata and _same(metadata[field], value)
        case OneOf(field, values):
            return field in metadata and any(_same(metadata[field], value) for value in values)
        case AtMost(field, value):
            number = _number(metadata.get(field))
            return number is not None and number <= value
        case AtLeast(field, value):
            number = _number(metadata.get(field))
            return number is not None and number >= value
    raise TypeError(f"not a chunk filter: {where!r}")


def _same(stored: object, wanted: Scalar) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    return isinstance(stored, str | int | float) and stored == wanted


def _number(stored: object) -> int | float | None:
    if isinstance(stored, bool) or not isinstance(stored, int | float):
        return None
    return stored
