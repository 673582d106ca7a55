"""Wall time per named stage, for reports and per-answer timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StageTimer:
    """Adds up seconds per stage; a stage timed twice accumulates.

    timer = StageTimer()
    with timer("retrieve"):
        ...
    timer.seconds["retrieve"]
    """

    def __init__(
        self,
        seconds: dict[str, float] | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.seconds = seconds if seconds is not None else {}
        self._on_start = on_start
        """Told each stage's name as it starts, e.g. to show progress while an answer is made."""

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self._on_start is not None:
            self._on_start(stage)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

    def milliseconds(self) -> dict[str, float]:
        return {stage: seconds * 1000 for stage, seconds in self.seconds.items()}
