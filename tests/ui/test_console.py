"""The console's plain functions, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant.records import Channel, EscalationState, Severity, Ticket
from ui.console import insights_summary_html, linked_citations, queue_rows, ticket_html


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


def test_a_ticket_shows_what_the_assistant_said_only_when_the_transcript_does_not() -> None:
    said = "Hold the TPMS button for three seconds [1]."
    transcript = [{"role": "user", "text": "tpms?"}, {"role": "assistant", "text": said}]
    passage = {
        "n": 1,
        "title": "Owner's manual",
        "section": "TPMS",
        "quote": "Hold it.",
        "score": 1,
    }

    repeated = ticket_html(a_ticket(assistant_said=said, passages=[passage]), transcript)
    own = ticket_html(a_ticket(assistant_said="Please stop driving."), transcript)

    assert "What the assistant said" not in repeated and "[1] <strong>Owner" in repeated
    assert "What the assistant said" in own and "Please stop driving." in own


def test_each_cited_number_in_an_answer_links_to_its_source() -> None:
    from assistant.desk.agent_desk import SourceView

    source = SourceView(1, "Manual", "owner manual", "Reset", None, None, None, False, "q", 0.9,
                        "manual", "/v1/agent/sources/manual#reset")  # fmt: skip
    linked = linked_citations("Press SET [1]. Drive [2].", [source])
    assert linked == r"Press SET [\[1\]](/v1/agent/sources/manual#reset). Drive [2]."


def test_a_suggested_reply_is_labelled_for_the_agent_and_escaped() -> None:
    from assistant.desk.agent_desk import SourceView, SuggestedReply
    from ui.console import suggestion_html

    source = SourceView(1, "Manual", "owner manual", "Reset", None, None, None, False, "q", 0.9,
                        "manual", "/v1/agent/sources/manual#reset")  # fmt: skip
    text = "Press SET [1].\n\nSources:\n[1] Manual"
    suggested = SuggestedReply("<b>hi</b>", "Press SET [1].", text, [source], 0.8)
    shown = suggestion_html(suggested)
    assert "Suggested reply" in shown and "for you only" in shown
    assert "&lt;b&gt;hi&lt;/b&gt;" in shown and "<b>hi</b>" not in shown
    assert 'href="/v1/agent/sources/manual#reset"' in shown
    assert suggestion_html(None) == ""


def test_a_ticket_lists_its_earlier_cases_with_their_resolutions() -> None:
    now = datetime.now(UTC)
    earlier = Ticket(
        id=7, session_id="s", channel=Channel.DRIVER, reason="human_requested",
        severity=Severity.LOW, state=EscalationState.RESOLVED, summary="Wipers <squeak>",
        assistant_said="", vehicle=None, transcript=[], passages=[], assignee="ana",
        resolution_note="New blades", notes=[], created_at=now, updated_at=now,
    )  # fmt: skip
    shown = ticket_html(earlier, [], [earlier])
    assert "Earlier cases" in shown and "GBX-000007" in shown
    assert "Wipers &lt;squeak&gt;" in shown and "Resolved: New blades" in shown
    assert "Earlier cases" not in ticket_html(earlier, [])


def test_insights_show_the_average_csat_its_count_and_the_latest_comments() -> None:
    from assistant.desk.insights import CsatComment, CsatSummary, Insights

    def with_csat(csat: CsatSummary) -> str:
        insights = Insights(
            since=None, days=[], questions=4, escalations=2, escalation_rate=0.5,
            escalation_reasons={}, channels={}, gaps=[], csat=csat,
        )  # fmt: skip
        return insights_summary_html(insights)

    comment = CsatComment("GBX-000007", 2, "Took <two> days", datetime.now(UTC))
    rated = with_csat(CsatSummary(ratings=3, average=11 / 3, latest_comments=[comment]))
    unrated = with_csat(CsatSummary(ratings=0, average=None))

    assert "3.7 / 5" in rated and "average CSAT · 3 ratings" in rated
    assert "Took &lt;two&gt; days" in rated and "GBX-000007" in rated and "2/5" in rated
    assert "average CSAT · 0 ratings" in unrated and "Latest CSAT comments" not in unrated
