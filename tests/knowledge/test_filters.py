"""The store-neutral chunk filter: what `matches` decides beyond the store contract's cases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from knowledge.filters import AllOf, AnyOf, AtLeast, AtMost, ChunkFilter, Equals, OneOf, matches


@pytest.mark.parametrize(
    "where",
    [Equals("year", 2024), OneOf("year", (2024,)), AtMost("year", 2030), AtLeast("year", 1900)],
)
def test_a_chunk_without_the_field_never_matches(where: ChunkFilter) -> None:
    assert matches(where, {"year": 2024})
    assert not matches(where, {})
    assert not matches(where, {"year": "2024"}), "a string is not the number it spells"


def test_a_bool_is_neither_equal_nor_comparable_to_a_number() -> None:
    assert not matches(Equals("flag", 1), {"flag": True})
    assert not matches(AtLeast("flag", 0), {"flag": True})
    assert matches(Equals("flag", True), {"flag": True})


@pytest.mark.parametrize(
    "make_empty", [lambda: OneOf("audience", ()), lambda: AllOf(()), lambda: AnyOf(())]
)
def test_an_empty_choice_is_refused_when_built(make_empty: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        make_empty()
