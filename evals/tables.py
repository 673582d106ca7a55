"""The per-corpus, per-split figures as the text table `glovebox eval` prints."""

from __future__ import annotations

from typing import Any

CORPUS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("cases", "cases"),
    ("pass", "pass_rate"),
    ("R@1", "recall_at_1"),
    ("R@5", "recall_at_5"),
    ("citeP", "citation_precision"),
    ("citeR", "citation_recall"),
    ("ans+ok", "answered_correct"),
    ("cover", "coverage"),
    ("evid", "evidence_in_answer"),
    ("safety", "escalation_recall_safety"),
    ("abst", "abstention_correct"),
)
"""Header and metric; `ans+ok` is answered and correct among answerable cases, `evid` the share
of answered cases whose answer quotes a gold evidence string."""


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def corpus_table(corpora: dict[str, dict[str, dict[str, Any]]]) -> str:
    """One row per corpus and split (`all`, then `dev` and `test` where a corpus has them)."""
    header = f"{'corpus':<11}{'split':<6}" + "".join(f"{h:>8}" for h, _ in CORPUS_COLUMNS)
    rows = [header]
    for corpus, splits in corpora.items():
        for split, metrics in splits.items():
            cells = "".join(f"{_cell(metrics.get(key)):>8}" for _, key in CORPUS_COLUMNS)
            rows.append(f"{corpus:<11}{split:<6}{cells}")
    return "\n".join(rows)
