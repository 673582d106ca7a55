"""Small pieces of HTML every tab renders: escaped text, an empty-panel line, an age."""

from __future__ import annotations

import html
from datetime import UTC, datetime


def escape(value: object) -> str:
    """Any value as text safe inside HTML, attribute values too."""
    return html.escape(str(value), quote=True)


def empty(text: str) -> str:
    """The quiet line a panel shows while it has nothing to show."""
    return f'<div class="gbx-empty">{escape(text)}</div>'


def age(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, coarsely: "just now", "5 min", "3 h", "2 d"."""
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def ago(moment: datetime) -> str:
    """`age` as a phrase: "just now", "5 min ago"."""
    elapsed = age(moment)
    return elapsed if elapsed == "just now" else f"{elapsed} ago"
