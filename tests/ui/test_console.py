"""The console's plain functions, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant.records import Channel, EscalationState, Severity
from assistant.tickets import Ticket
from ui.console import queue_rows


def a_ticket(**changes: object) -> Ticket:
    now = datetime.now(UTC)
    fields: dict[str, object] = dict(
        id=7, session_id="s", channel=Channel.DRIVER, reason="human_requested",
        severity=Severity.MEDIUM, summary="", assistant_said="", vehicle=None, transcript=[],
        passages=[], state=EscalationState.HUMAN, assignee="Dana", resolution_note=None,
        created_at=now, updated_at=now,
    )  # fmt: skip
    fields.update(changes)
    return Ticket(**fields)  # type: ignore[arg-type]


def test_the_queue_flags_a_ticket_whose_asker_wrote_since_the_last_reply() -> None:
    quiet, waiting = queue_rows([a_ticket(), a_ticket(asker_waiting_since=datetime.now(UTC))])

    assert "new message" not in quiet[6]
    assert quiet[6] in waiting[6] and waiting[6].endswith("· new message")
