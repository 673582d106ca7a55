"""First requests arriving together, for tests of what a server builds once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Result = TypeVar("Result")


def run_at_once(calls: int, call: Callable[[], Result]) -> list[Result]:
    """`call` in `calls` threads released together by a barrier; what each returned."""
    from threading import Barrier

    start = Barrier(calls)

    def first_request(_: int) -> Result:
        start.wait()
        return call()

    with ThreadPoolExecutor(calls) as pool:
        return list(pool.map(first_request, range(calls)))
