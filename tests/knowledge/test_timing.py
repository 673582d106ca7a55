"""Stage timings accumulate per stage and convert to milliseconds."""

from __future__ import annotations

import time

from knowledge.timing import StageTimer


def test_a_stage_timed_twice_accumulates() -> None:
    timer = StageTimer()
    for _ in range(2):
        with timer("wait"):
            time.sleep(0.01)
    with timer("other"):
        pass
    assert timer.seconds["wait"] >= 0.02
    assert timer.milliseconds()["wait"] == timer.seconds["wait"] * 1000
    assert set(timer.seconds) == {"wait", "other"}
