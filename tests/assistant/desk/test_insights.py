"""The supervisors' Insights view, built from a real ticket store on a SQLite file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from assistant.desk.insights import DayCount, Insights, build_insights, daily_csv, insights_csv
from assistant.desk.stores import DeskStores, open_desk
from assistant.records import Channel, Severity, TicketDraft
from knowledge.errors import InputError
from tests.fakes import HashEmbedder

MONDAY = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
CITATION = {"number": 1, "chunk_id": "manual-bluetooth#1", "title": "Owner's manual"}


class Clock:
    """What the desk stores think the time is; tests move it between writes."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(MONDAY)
    for module in ("sessions", "tickets", "feedback"):
        monkeypatch.setattr(f"assistant.desk.{module}.utc_now", clock)
    return clock


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[DeskStores]:
    store = open_desk(f"sqlite:///{tmp_path / 'glovebox.sqlite3'}")
    yield store
    store.close()


def ask(
    store: DeskStores,
    session_id: str,
    question: str,
    reply: str = "Hold the button for five seconds [1].",
    *,
    cited: bool = True,
    abstained: bool = False,
) -> int:
    """A question and the assistant's reply, stored as the assistant stores them; the reply's
    turn index."""
    store.sessions.add_turn(session_id, "user", question)
    payload = {"citations": [CITATION] if cited else [], "confidence": 0.8, "abstained": abstained}
    return store.sessions.add_turn(session_id, "assistant", reply, payload=payload).index


def ask_unanswered(store: DeskStores, question: str) -> str:
    session_id = store.sessions.create_session(Channel.DRIVER)
    ask(
        store,
        session_id,
        question,
        "I can't answer that from the service information I have.",
        cited=False,
        abstained=True,
    )
    return session_id


def escalate(store: DeskStores, session_id: str, reason: str) -> None:
    store.tickets.open_ticket(
        TicketDraft(
            session_id=session_id,
            channel=Channel.DRIVER,
            reason=reason,
            severity=Severity.HIGH,
            summary="Asker needs a person.",
            assistant_said="I'm passing this conversation to a person.",
        )
    )


def insights(store: DeskStores, clock: Clock, since: datetime | None = None) -> Insights:
    return build_insights(store, HashEmbedder(), since=since, now=clock.current)


def test_days_count_questions_answers_and_escalations_with_quiet_days_present(
    store: DeskStores, clock: Clock
) -> None:
    monday_session = store.sessions.create_session(Channel.DRIVER)
    ask(store, monday_session, "How do I pair my phone?")
    ask(store, monday_session, "Can I tow a caravan?", "I can't answer that.", cited=False)
    clock.current = MONDAY + timedelta(days=2)
    wednesday_session = store.sessions.create_session(Channel.DRIVER)
    ask(store, wednesday_session, "My brake pedal sinks")
    escalate(store, wednesday_session, "safety")

    result = insights(store, clock, since=datetime(2024, 3, 3, tzinfo=UTC))

    assert result.days == [
        DayCount(date(2024, 3, 3), questions=0, answered=0, escalated=0),
        DayCount(date(2024, 3, 4), questions=2, answered=1, escalated=0),
        DayCount(date(2024, 3, 5), questions=0, answered=0, escalated=0),
        DayCount(date(2024, 3, 6), questions=1, answered=1, escalated=1),
    ]
    assert result.questions == 3
    assert [day.day for day in insights(store, clock).days] == [
        date(2024, 3, 4),
        date(2024, 3, 5),
        date(2024, 3, 6),
    ], "without `since` the days start at the first question"


def test_escalation_rate_counts_sessions_and_reasons_count_tickets_in_the_window(
    store: DeskStores, clock: Clock
) -> None:
    before_window = store.sessions.create_session(Channel.DRIVER)
    ask(store, before_window, "The car smells of fuel")
    escalate(store, before_window, "safety")
    asked_before_window = store.sessions.create_session(Channel.DRIVER)
    ask(store, asked_before_window, "Why is my range so low?")
    clock.current = MONDAY + timedelta(days=3)
    since = clock.current - timedelta(hours=1)
    escalate(store, asked_before_window, "frustration")
    sessions = [store.sessions.create_session(Channel.DRIVER) for _ in range(3)]
    sessions.append(store.sessions.create_session(Channel.AGENT))
    for session_id in sessions:
        ask(store, session_id, "How do I pair my phone?")
    escalate(store, sessions[0], "safety")
    escalate(store, sessions[1], "safety")
    escalate(store, sessions[2], "human_requested")

    result = insights(store, clock, since=since)

    assert result.escalations == 4, "every ticket opened in the window"
    assert result.escalation_rate == pytest.approx(3 / 4), (
        "of the 4 sessions asking in the window, 3 got a ticket; a ticket on a question asked "
        "before the window is not in the rate"
    )
    assert result.escalation_reasons == {"safety": 2, "frustration": 1, "human_requested": 1}
    assert list(result.escalation_reasons) == ["safety", "frustration", "human_requested"]
    assert result.channels == {"driver": 3, "agent": 1}
    everything = insights(store, clock)
    assert everything.escalation_reasons == {"safety": 3, "frustration": 1, "human_requested": 1}
    assert everything.escalation_rate == pytest.approx(5 / 6)


def test_similar_unanswered_questions_form_one_gap_and_unrelated_ones_another(
    store: DeskStores, clock: Clock
) -> None:
    ask_unanswered(store, "How do I pair my phone with Bluetooth")
    clock.current += timedelta(minutes=5)
    ask_unanswered(store, "how can I pair my phone with bluetooth")
    clock.current += timedelta(minutes=5)
    uncited = store.sessions.create_session(Channel.DRIVER)
    ask(store, uncited, "Towing capacity for a trailer?", "Sorry, I'm not sure.", cited=False)
    clock.current += timedelta(minutes=5)
    ask_unanswered(store, "How do I pair my phone over Bluetooth")
    clock.current += timedelta(minutes=5)
    ask_unanswered(store, "How do I pair my phone over Bluetooth")
    answered = store.sessions.create_session(Channel.DRIVER)
    ask(store, answered, "What tire pressure should I use?", "36 psi front and rear [1].")

    gaps = insights(store, clock).gaps

    assert [gap.count for gap in gaps] == [4, 1]
    phone, towing = gaps
    assert phone.questions == [
        "How do I pair my phone over Bluetooth",
        "how can I pair my phone with bluetooth",
        "How do I pair my phone with Bluetooth",
    ], "distinct wordings, most recent first"
    assert phone.label in phone.questions
    assert (phone.unanswered, phone.thumbs_down) == (4, 0)
    assert phone.last_asked == clock.current
    assert towing.questions == ["Towing capacity for a trailer?"]
    assert towing.unanswered == 1
    assert all("tire pressure" not in question for gap in gaps for question in gap.questions)


def test_a_thumbs_down_reply_makes_its_question_a_gap_with_the_askers_comment(
    store: DeskStores, clock: Clock
) -> None:
    session_id = store.sessions.create_session(Channel.DRIVER)
    disliked = ask(store, session_id, "What torque for the wheel nuts?", "100 Nm [1].")
    liked = ask(store, session_id, "How do I pair my phone?")
    store.feedback.add_feedback(
        session_id, disliked, helpful=False, comment="Wrong value", suggestion="140 Nm"
    )
    store.feedback.add_feedback(session_id, liked, helpful=True, comment="Thanks!")

    (gap,) = insights(store, clock).gaps

    assert gap.label == "What torque for the wheel nuts?"
    assert (gap.count, gap.unanswered, gap.thumbs_down) == (1, 0, 1)
    assert gap.sample_comments == ["Wrong value", "suggested: 140 Nm"]


def test_asking_which_vehicle_is_not_a_knowledge_gap(store: DeskStores, clock: Clock) -> None:
    session_id = store.sessions.create_session(Channel.DRIVER)
    ask(
        store,
        session_id,
        "How often should I change the oil?",
        "Which vehicle is it? The answer differs by model and model year.",
        cited=False,
    )

    result = insights(store, clock)

    assert result.gaps == []
    assert (result.days[0].questions, result.days[0].answered) == (1, 0)


@pytest.mark.parametrize(
    ("outcome", "gap"),
    [("handed_off", False), ("not_a_question", False), ("out_of_scope", False),
     ("unanswered", True)],
)  # fmt: skip
def test_the_stored_outcome_decides_what_is_a_gap(
    store: DeskStores, clock: Clock, outcome: str, gap: bool
) -> None:
    session_id = store.sessions.create_session(Channel.DRIVER)
    store.sessions.add_turn(session_id, "user", "My Karst makes a whine at 40 mph")
    payload = {"citations": [], "abstained": False, "outcome": outcome}
    store.sessions.add_turn(
        session_id, "assistant", "I'm passing this conversation to a person.", payload
    )

    result = insights(store, clock)

    assert bool(result.gaps) is gap
    assert result.days[0].answered == 0


def test_csv_exports_parse_back_with_their_headers(store: DeskStores, clock: Clock) -> None:
    ask_unanswered(store, 'Is "eco mode", the one with the leaf, safe in snow?')

    result = insights(store, clock)
    gap_rows = list(csv.reader(io.StringIO(insights_csv(result))))
    day_rows = list(csv.reader(io.StringIO(daily_csv(result))))

    assert gap_rows == [
        ["label", "count", "unanswered", "thumbs_down", "last_asked", "questions", "comments"],
        [
            'Is "eco mode", the one with the leaf, safe in snow?',
            "1",
            "1",
            "0",
            MONDAY.isoformat(),
            'Is "eco mode", the one with the leaf, safe in snow?',
            "",
        ],
    ]
    assert day_rows == [
        ["day", "questions", "answered", "escalated"],
        ["2024-03-04", "1", "0", "0"],
    ]


def test_an_empty_store_gives_zeros_and_header_only_csv(store: DeskStores, clock: Clock) -> None:
    result = insights(store, clock)

    assert (result.questions, result.escalations, result.escalation_rate) == (0, 0, None)
    assert (result.days, result.gaps, result.channels, result.escalation_reasons) == (
        [],
        [],
        {},
        {},
    )
    assert insights_csv(result).splitlines() == [
        "label,count,unanswered,thumbs_down,last_asked,questions,comments"
    ]
    assert daily_csv(result).splitlines() == ["day,questions,answered,escalated"]
    week = insights(store, clock, since=MONDAY - timedelta(days=6)).days
    assert len(week) == 7 and all(day.questions == 0 for day in week)


def test_a_similarity_threshold_outside_zero_to_one_is_refused(store: DeskStores) -> None:
    with pytest.raises(InputError, match="min_similarity"):
        build_insights(store, HashEmbedder(), min_similarity=1.5)


def resolved_ticket(store: DeskStores, question: str = "My wipers stopped") -> tuple[str, int]:
    session_id = store.sessions.create_session(Channel.DRIVER)
    ask(store, session_id, question)
    escalate(store, session_id, "human_requested")
    session = store.sessions.get_session(session_id)
    assert session is not None and session.open_ticket_id is not None
    ticket_id = session.open_ticket_id
    store.tickets.assign(ticket_id, "Dana")
    store.tickets.resolve(ticket_id, "Booked a visit.")
    return session_id, ticket_id


def test_csat_averages_the_ratings_in_the_window_with_the_latest_comments_first(
    store: DeskStores, clock: Clock
) -> None:
    old_session, old_ticket = resolved_ticket(store)
    store.feedback.add_csat(old_session, old_ticket, 1, comment="Nobody called back")
    clock.current = MONDAY + timedelta(days=10)
    since = clock.current - timedelta(days=1)
    rated = []
    for rating, comment in ((5, "Ana was great"), (4, None), (3, "  Took a while  ")):
        clock.current += timedelta(minutes=5)
        session_id, ticket_id = resolved_ticket(store)
        rated.append(store.feedback.add_csat(session_id, ticket_id, rating, comment=comment))

    csat = insights(store, clock, since=since).csat

    assert (csat.ratings, csat.average) == (3, pytest.approx(4.0))
    assert [(c.ticket, c.rating, c.comment) for c in csat.latest_comments] == [
        (rated[2].ticket_reference, 3, "Took a while"),
        (rated[0].ticket_reference, 5, "Ana was great"),
    ]
    everything = insights(store, clock).csat
    assert (everything.ratings, everything.average) == (4, pytest.approx(13 / 4))
    assert everything.latest_comments[-1].comment == "Nobody called back"


def test_without_ratings_csat_has_no_average(store: DeskStores, clock: Clock) -> None:
    resolved_ticket(store)

    csat = insights(store, clock).csat

    assert (csat.ratings, csat.average, csat.latest_comments) == (0, None, [])
