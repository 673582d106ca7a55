"""The desk stores on a real SQLite file: what the assistant, the console and the API rely on."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.desk.stores import DeskStores, open_desk
from assistant.protocols import SessionStore, TicketStore
from assistant.records import (
    Channel,
    ConversationSession,
    EscalationState,
    Passage,
    Severity,
    Ticket,
    TicketDraft,
    TooManyOpenTickets,
    Vehicle,
    passage_evidence,
    ticket_id_from_reference,
    ticket_reference,
)
from knowledge.errors import ConfigurationError, InputError

UNKNOWN_SESSION = "0" * 32
UNKNOWN_SESSION_MESSAGE = (
    f"session: no session {UNKNOWN_SESSION}; leave it out to start a new conversation"
)

BRAKE_PASSAGE = Passage(
    chunk_id="recall-24v123#2",
    text="Stop driving the vehicle. The brake hose may leak fluid and reduce braking.",
    metadata={
        "document_id": "recall-24v123",
        "title": "Recall 24V-123: front brake hose",
        "section": "Remedy",
    },
    score=0.91,
)


def draft_for(
    store: DeskStores,
    session_id: str,
    *,
    severity: Severity = Severity.HIGH,
    reason: str = "safety",
) -> TicketDraft:
    session = stored_session(store, session_id)
    return TicketDraft(
        session_id=session_id,
        channel=session.channel,
        reason=reason,
        severity=severity,
        summary="Brake pedal sinks; asker smells fluid.",
        assistant_said="Please stop driving; a service agent will contact you.",
        vehicle=session.vehicle,
        transcript=session.transcript(),
        passages=[passage_evidence(BRAKE_PASSAGE, quote="Stop driving the vehicle.")],
    )


def stored_session(store: DeskStores, session_id: str) -> ConversationSession:
    session = store.sessions.get_session(session_id)
    assert session is not None, f"session {session_id} was not stored"
    return session


def stored_ticket(store: DeskStores, ticket_id: int) -> Ticket:
    ticket = store.tickets.get_ticket(ticket_id)
    assert ticket is not None, f"ticket {ticket_id} was not stored"
    return ticket


def session_with_question(store: DeskStores, question: str = "My brake pedal sinks") -> str:
    session_id = store.sessions.create_session(Channel.DRIVER)
    store.sessions.add_turn(session_id, "user", question)
    return session_id


class TicketStoreContract:
    """What every `DeskStores` does; an implementation's test class provides `store`."""

    @pytest.fixture
    def store(self) -> DeskStores:
        raise NotImplementedError

    def test_a_session_keeps_its_turns_in_order(self, store: DeskStores) -> None:
        session_id = store.sessions.create_session(Channel.AGENT)
        store.sessions.add_turn(session_id, "user", "How often should I rotate the tyres?")
        answer = store.sessions.add_turn(
            session_id,
            "assistant",
            "Every 10,000 km [1].",
            payload={"citations": ["manual#tyres"], "confidence": 0.82, "abstained": False},
        )
        store.sessions.add_turn(session_id, "user", "And the spare?")

        session = store.sessions.get_session(session_id)

        assert session is not None
        assert session.id == session_id
        assert session.channel is Channel.AGENT
        assert session.state is EscalationState.AI
        assert [(turn.index, turn.role, turn.text) for turn in session.turns] == [
            (0, "user", "How often should I rotate the tyres?"),
            (1, "assistant", "Every 10,000 km [1]."),
            (2, "user", "And the spare?"),
        ]
        assert answer.index == 1
        assert session.turns[1].payload == {
            "citations": ["manual#tyres"],
            "confidence": 0.82,
            "abstained": False,
        }
        assert session.turns[0].payload is None
        created = [turn.created_at for turn in session.turns]
        assert created == sorted(created)
        assert session.updated_at >= created[-1] >= session.created_at
        assert session.created_at.tzinfo is not None

    def test_an_unknown_session_reads_as_none(self, store: DeskStores) -> None:
        assert store.sessions.get_session(UNKNOWN_SESSION) is None

    def test_session_ids_are_distinct_uuid_hex(self, store: DeskStores) -> None:
        first, second = (
            store.sessions.create_session(Channel.DRIVER),
            store.sessions.create_session(Channel.DRIVER),
        )
        assert first != second
        assert len(first) == 32
        int(first, 16)

    def test_the_vehicle_is_saved_and_read_back(self, store: DeskStores) -> None:
        session_id = store.sessions.create_session(Channel.DRIVER)
        assert stored_session(store, session_id).vehicle is None

        store.sessions.set_vehicle(session_id, Vehicle(make="Volta", model="Kestrel", year=2022))
        store.sessions.set_vehicle(
            session_id, Vehicle(make="Volta", model="Kestrel", year=2023, vin="1VK00000000000042")
        )

        session = store.sessions.get_session(session_id)
        assert session is not None
        assert session.vehicle == Vehicle(
            make="Volta", model="Kestrel", year=2023, vin="1VK00000000000042"
        )

    def test_failed_answers_count_consecutive_misses(self, store: DeskStores) -> None:
        session_id = store.sessions.create_session(Channel.DRIVER)

        assert store.sessions.record_outcome(session_id, answered=False) == 1
        assert store.sessions.record_outcome(session_id, answered=False) == 2
        assert stored_session(store, session_id).failed_answers == 2
        assert store.sessions.record_outcome(session_id, answered=True) == 0
        assert store.sessions.record_outcome(session_id, answered=False) == 1
        assert stored_session(store, session_id).failed_answers == 1

    def test_a_turn_sets_the_vehicle_and_counts_the_outcome_it_brings(
        self, store: DeskStores
    ) -> None:
        session_id = store.sessions.create_session(Channel.DRIVER)
        kestrel = Vehicle(make="Volta", model="Kestrel", year=2022)

        store.sessions.add_turn(session_id, "user", "my 2022 kestrel beeps", vehicle=kestrel)
        store.sessions.add_turn(session_id, "assistant", "I can't answer that.", answered=False)
        store.sessions.add_turn(session_id, "user", "it beeps when I brake")
        store.sessions.add_turn(session_id, "assistant", "Still no.", answered=False)

        session = stored_session(store, session_id)
        assert session.vehicle == kestrel and session.failed_answers == 2
        assert [turn.text for turn in session.turns][-1] == "Still no."
        store.sessions.add_turn(session_id, "assistant", "Check the pads [1].", answered=True)
        assert stored_session(store, session_id).failed_answers == 0

    def test_set_state_is_stored(self, store: DeskStores) -> None:
        session_id = store.sessions.create_session(Channel.DRIVER)
        store.sessions.set_state(session_id, EscalationState.HUMAN)
        assert stored_session(store, session_id).state is EscalationState.HUMAN

    def test_opening_a_ticket_keeps_the_evidence_and_waits_for_a_human(
        self, store: DeskStores
    ) -> None:
        session_id = session_with_question(store)
        store.sessions.set_vehicle(session_id, Vehicle(make="Volta", model="Kestrel", year=2021))
        store.sessions.add_turn(
            session_id, "assistant", "Please stop driving.", payload={"abstained": False}
        )
        store.sessions.record_outcome(session_id, answered=False)

        ticket = store.tickets.open_ticket(draft_for(store, session_id, severity=Severity.CRITICAL))

        assert ticket.reference == f"GBX-{ticket.id:06d}"
        assert ticket.state is EscalationState.WAITING_FOR_HUMAN
        assert ticket.assignee is None
        stored = store.tickets.get_ticket(ticket.id)
        assert stored == ticket
        assert stored.session_id == session_id
        assert stored.reason == "safety"
        assert stored.severity is Severity.CRITICAL
        assert stored.vehicle == Vehicle(make="Volta", model="Kestrel", year=2021)
        assert stored.assistant_said == "Please stop driving; a service agent will contact you."
        assert [(entry["role"], entry["text"]) for entry in stored.transcript] == [
            ("user", "My brake pedal sinks"),
            ("assistant", "Please stop driving."),
        ]
        assert all(entry["created_at"] for entry in stored.transcript)
        assert stored.passages == [
            {
                "chunk_id": "recall-24v123#2",
                "document_id": "recall-24v123",
                "title": "Recall 24V-123: front brake hose",
                "section": "Remedy",
                "quote": "Stop driving the vehicle.",
                "score": 0.91,
            }
        ]
        session = store.sessions.get_session(session_id)
        assert session is not None
        assert session.state is EscalationState.WAITING_FOR_HUMAN
        assert session.open_ticket_id == ticket.id
        assert session.failed_answers == 0

    def test_a_session_has_one_open_ticket_at_a_time(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        first = store.tickets.open_ticket(draft_for(store, session_id))

        with pytest.raises(InputError, match=f"already has open ticket {first.reference}"):
            store.tickets.open_ticket(draft_for(store, session_id, reason="frustration"))
        reused = store.tickets.open_ticket(
            draft_for(store, session_id, reason="x"), reuse_open=True
        )
        assert (reused.id, reused.reason) == (first.id, first.reason)

        store.tickets.assign(first.id, "Dana")
        store.tickets.resolve(first.id, "Towed to the dealer.")
        second = store.tickets.open_ticket(draft_for(store, session_id, reason="frustration"))
        assert second.id != first.id
        assert len(store.tickets.list_tickets()) == 2

    def test_a_ticket_moves_from_waiting_to_human_to_resolved(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        ticket = store.tickets.open_ticket(draft_for(store, session_id))

        taken = store.tickets.assign(ticket.id, "Dana")
        assert (taken.state, taken.assignee) == (EscalationState.HUMAN, "Dana")
        assert stored_session(store, session_id).state is EscalationState.HUMAN

        handed_over = store.tickets.assign(ticket.id, "Sam")
        assert (handed_over.state, handed_over.assignee) == (EscalationState.HUMAN, "Sam")

        resolved = store.tickets.resolve(ticket.id, "Booked a brake inspection for Monday.")
        assert resolved.state is EscalationState.RESOLVED
        assert resolved.resolution_note == "Booked a brake inspection for Monday."
        assert resolved.updated_at >= resolved.created_at
        assert store.tickets.get_ticket(ticket.id) == resolved
        session = store.sessions.get_session(session_id)
        assert session is not None
        assert session.state is EscalationState.RESOLVED
        assert session.open_ticket_id is None

    def test_an_askers_message_is_flagged_until_an_agent_replies(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        ticket = store.tickets.open_ticket(draft_for(store, session_id, severity=Severity.MEDIUM))
        store.tickets.assign(ticket.id, "Dana")

        flagged = store.tickets.note_asker_message(ticket.id)
        assert flagged.asker_waiting_since is not None
        assert flagged.severity is Severity.MEDIUM
        urgent = store.tickets.note_asker_message(ticket.id, urgent=True)
        assert urgent.severity is Severity.CRITICAL
        assert urgent.asker_waiting_since == flagged.asker_waiting_since  # since the first

        store.tickets.add_agent_message(ticket.id, "On it.")
        replied = store.tickets.get_ticket(ticket.id)
        assert replied is not None and replied.asker_waiting_since is None

    def test_invalid_ticket_transitions_are_refused(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        ticket = store.tickets.open_ticket(draft_for(store, session_id))

        with pytest.raises(InputError) as unassigned:
            store.tickets.resolve(ticket.id, "Closing without anyone looking.")
        message = str(unassigned.value)
        assert "waiting_for_human and cannot move to resolved" in message
        assert "allowed transitions: waiting_for_human -> human" in message
        assert "human -> resolved" in message
        assert stored_ticket(store, ticket.id).state is EscalationState.WAITING_FOR_HUMAN

        store.tickets.assign(ticket.id, "Dana")
        store.tickets.resolve(ticket.id, "Done.")
        with pytest.raises(InputError, match="is resolved and cannot move to human"):
            store.tickets.assign(ticket.id, "Sam")
        with pytest.raises(InputError, match="is resolved and cannot move to resolved"):
            store.tickets.resolve(ticket.id, "Again.")
        after = store.tickets.get_ticket(ticket.id)
        assert after is not None
        assert (after.state, after.assignee, after.resolution_note) == (
            EscalationState.RESOLVED,
            "Dana",
            "Done.",
        )

    def test_tickets_list_by_state_most_severe_then_longest_waiting(
        self, store: DeskStores
    ) -> None:
        low = store.tickets.open_ticket(
            draft_for(store, session_with_question(store), severity=Severity.LOW)
        )
        old_high = store.tickets.open_ticket(
            draft_for(store, session_with_question(store), severity=Severity.HIGH)
        )
        critical = store.tickets.open_ticket(
            draft_for(store, session_with_question(store), severity=Severity.CRITICAL)
        )
        new_high = store.tickets.open_ticket(
            draft_for(store, session_with_question(store), severity=Severity.HIGH)
        )
        store.tickets.assign(old_high.id, "Dana")

        waiting = store.tickets.list_tickets(EscalationState.WAITING_FOR_HUMAN)
        assert [ticket.id for ticket in waiting] == [critical.id, new_high.id, low.id]
        assert [ticket.id for ticket in store.tickets.list_tickets(EscalationState.HUMAN)] == [
            old_high.id
        ]
        assert store.tickets.list_tickets(EscalationState.RESOLVED) == []
        everything = store.tickets.list_tickets()
        assert [ticket.id for ticket in everything] == [
            critical.id,
            old_high.id,
            new_high.id,
            low.id,
        ]
        assert [ticket.id for ticket in store.tickets.list_tickets(limit=2)] == [
            critical.id,
            old_high.id,
        ]

    def test_an_agent_message_joins_the_session_transcript(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        ticket = store.tickets.open_ticket(draft_for(store, session_id))
        store.tickets.assign(ticket.id, "Dana")

        reply = store.tickets.add_agent_message(
            ticket.id, "Hi, this is Dana. Where is the car now?"
        )

        session = store.sessions.get_session(session_id)
        assert session is not None
        assert reply.index == 1
        assert [(turn.role, turn.text) for turn in session.turns] == [
            ("user", "My brake pedal sinks"),
            ("agent", "Hi, this is Dana. Where is the car now?"),
        ]
        store.tickets.resolve(ticket.id, "Towed.")
        with pytest.raises(InputError, match="is resolved"):
            store.tickets.add_agent_message(ticket.id, "One more thing")

    def test_feedback_round_trip(self, store: DeskStores) -> None:
        session_id = session_with_question(store, "How do I pair my phone?")
        store.sessions.add_turn(session_id, "assistant", "Open Settings > Bluetooth [1].")
        store.sessions.add_turn(session_id, "user", "Thanks. And Android Auto?")
        store.sessions.add_turn(session_id, "assistant", "I could not find that in the manual.")

        first = store.feedback.add_feedback(session_id, 1, helpful=True, comment=None)
        second = store.feedback.add_feedback(
            session_id, 3, helpful=False, comment=" Wanted Android Auto "
        )

        assert [
            (item.id, item.turn_index, item.helpful, item.comment, item.reply_text)
            for item in store.feedback.list_feedback()
        ] == [
            (second.id, 3, False, "Wanted Android Auto", "I could not find that in the manual."),
            (first.id, 1, True, None, "Open Settings > Bluetooth [1]."),
        ]
        assert [item.id for item in store.feedback.list_feedback(limit=1)] == [second.id]
        assert all(item.session_id == session_id for item in store.feedback.list_feedback())

    def test_feedback_keeps_the_question_citations_and_a_suggested_answer(
        self, store: DeskStores
    ) -> None:
        session_id = session_with_question(store, "How do I reset the TPMS light?")
        citation = {"n": 1, "document_id": "tessel-manual", "section": "TPMS"}
        store.sessions.add_turn(
            session_id, "assistant", "Hold SET [1].", payload={"citations": [citation]}
        )

        store.feedback.add_feedback(
            session_id, 1, helpful=False, comment="wrong year", suggestion=" Use the screen. "
        )

        (item,) = store.feedback.list_feedback()
        assert item.question == "How do I reset the TPMS light?"
        assert item.citations == [citation]
        assert (item.comment, item.suggestion) == ("wrong year", "Use the screen.")

    def test_notes_stay_on_the_ticket_and_out_of_the_transcript(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        ticket = store.tickets.open_ticket(draft_for(store, session_id))

        noted = store.tickets.add_note(ticket.id, "ana", " Customer will call back after 5pm. ")

        assert [(n["author"], n["text"]) for n in noted.notes] == [
            ("ana", "Customer will call back after 5pm.")
        ]
        assert stored_ticket(store, ticket.id).notes == noted.notes
        assert all(turn.role != "agent" for turn in stored_session(store, session_id).turns)
        with pytest.raises(InputError, match="note"):
            store.tickets.add_note(ticket.id, "ana", "  ")

    def test_feedback_must_rate_an_existing_reply(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        store.sessions.add_turn(session_id, "assistant", "Please stop driving.")

        with pytest.raises(InputError, match="has no turn 5"):
            store.feedback.add_feedback(session_id, 5, helpful=True, comment=None)
        with pytest.raises(InputError, match="has no turn -1"):
            store.feedback.add_feedback(session_id, -1, helpful=True, comment=None)
        with pytest.raises(InputError, match="asker's own message"):
            store.feedback.add_feedback(session_id, 0, helpful=True, comment=None)
        assert store.feedback.list_feedback() == []

    def test_a_resolved_ticket_is_rated_once_and_shows_its_rating(self, store: DeskStores) -> None:
        session_id = session_with_question(store)
        ticket = store.tickets.open_ticket(draft_for(store, session_id))
        store.tickets.assign(ticket.id, "Dana")
        store.tickets.resolve(ticket.id, "Booked a brake inspection.")

        rated = store.feedback.add_csat(session_id, ticket.id, 4, comment="  Quick and kind.  ")

        assert (rated.ticket_id, rated.rating, rated.comment) == (ticket.id, 4, "Quick and kind.")
        assert rated.ticket_reference == ticket.reference
        assert stored_ticket(store, ticket.id).csat == rated
        assert store.tickets.list_tickets()[0].csat == rated
        assert store.feedback.list_csat() == [rated]
        assert stored_session(store, session_id).last_ticket_id == ticket.id
        with pytest.raises(InputError, match="already rated; a ticket is rated once"):
            store.feedback.add_csat(session_id, ticket.id, 1)
        assert store.feedback.list_csat() == [rated]

    def test_only_the_askers_own_resolved_ticket_can_be_rated_from_1_to_5(
        self, store: DeskStores
    ) -> None:
        session_id = session_with_question(store)
        ticket = store.tickets.open_ticket(draft_for(store, session_id))
        other_session = session_with_question(store, "Another driver")

        with pytest.raises(InputError, match="is waiting_for_human; it can be rated once resolved"):
            store.feedback.add_csat(session_id, ticket.id, 5)
        store.tickets.assign(ticket.id, "Dana")
        with pytest.raises(InputError, match="is human; it can be rated once resolved"):
            store.feedback.add_csat(session_id, ticket.id, 5)
        store.tickets.resolve(ticket.id, "Done.")
        with pytest.raises(InputError, match=f"has no ticket {ticket.reference}"):
            store.feedback.add_csat(other_session, ticket.id, 5)
        with pytest.raises(InputError, match="has no ticket GBX-000999"):
            store.feedback.add_csat(session_id, 999, 5)
        for out_of_range in (0, 6):
            with pytest.raises(InputError, match="rating: must be a whole number from 1 to 5"):
                store.feedback.add_csat(session_id, ticket.id, out_of_range)
        assert store.feedback.list_csat() == []
        assert stored_ticket(store, ticket.id).csat is None

    @pytest.mark.parametrize(
        "touch_unknown_session",
        [
            lambda store: store.sessions.add_turn(UNKNOWN_SESSION, "user", "hello"),
            lambda store: store.sessions.set_vehicle(UNKNOWN_SESSION, Vehicle(model="Kestrel")),
            lambda store: store.sessions.record_outcome(UNKNOWN_SESSION, answered=False),
            lambda store: store.sessions.set_state(UNKNOWN_SESSION, EscalationState.HUMAN),
            lambda store: store.feedback.add_feedback(
                UNKNOWN_SESSION, 0, helpful=True, comment=None
            ),
            lambda store: store.feedback.add_csat(UNKNOWN_SESSION, 1, 5),
            lambda store: store.tickets.open_ticket(
                TicketDraft(
                    session_id=UNKNOWN_SESSION,
                    channel=Channel.DRIVER,
                    reason="human_requested",
                    severity=Severity.LOW,
                    summary="Wants a person.",
                    assistant_said="Connecting you to an agent.",
                )
            ),
        ],
        ids=[
            "add_turn",
            "set_vehicle",
            "record_outcome",
            "set_state",
            "feedback",
            "csat",
            "open_ticket",
        ],
    )
    def test_an_unknown_session_id_says_to_start_a_new_one(
        self, store: DeskStores, touch_unknown_session: Callable[[DeskStores], object]
    ) -> None:
        with pytest.raises(InputError) as raised:
            touch_unknown_session(store)
        assert str(raised.value) == UNKNOWN_SESSION_MESSAGE
        assert raised.value.source == "session"
        assert store.tickets.list_tickets() == []

    def test_an_unknown_ticket_is_named(self, store: DeskStores) -> None:
        assert store.tickets.get_ticket(999) is None
        with pytest.raises(InputError, match="no ticket GBX-000999"):
            store.tickets.assign(999, "Dana")
        with pytest.raises(InputError, match="no ticket GBX-000999"):
            store.tickets.add_agent_message(999, "hello?")

    def test_bad_turns_are_refused(self, store: DeskStores) -> None:
        session_id = store.sessions.create_session(Channel.DRIVER)
        with pytest.raises(InputError, match="role must be one of user, assistant, agent"):
            store.sessions.add_turn(session_id, "system", "You are a bot")  # type: ignore[arg-type]
        with pytest.raises(InputError, match="turn payload: cannot be stored as JSON"):
            store.sessions.add_turn(
                session_id, "assistant", "Hi", payload={"passage": BRAKE_PASSAGE}
            )
        assert stored_session(store, session_id).turns == []

    def test_tickets_are_found_by_reference_vin_or_words(self, store: DeskStores) -> None:
        vin = "1ABCD23E45F678901"
        first = store.sessions.create_session(Channel.DRIVER)
        store.sessions.set_vehicle(first, Vehicle(make="ford", model="f-150", year=2021, vin=vin))
        store.sessions.add_turn(first, "user", "The 100% charge limit_setting won't stick")
        one = store.tickets.open_ticket(draft_for(store, first))
        other = store.tickets.open_ticket(
            draft_for(store, session_with_question(store, "Wipers squeak"))
        )
        store.tickets.add_note(other.id, "ana", "Sent the wiper blade part number")

        assert [t.id for t in store.tickets.search_tickets(ticket_reference(one.id))] == [one.id]
        assert [t.id for t in store.tickets.search_tickets(vin.lower())] == [one.id]
        assert [t.id for t in store.tickets.search_tickets("100% CHARGE limit_")] == [one.id]
        assert [t.id for t in store.tickets.search_tickets("wiper blade")] == [other.id]
        assert [t.id for t in store.tickets.search_tickets("pedal sinks")] == [other.id, one.id]
        assert store.tickets.search_tickets("50%_") == []
        with pytest.raises(InputError, match="search: is empty"):
            store.tickets.search_tickets("  ")

    def test_a_ticket_shows_the_earlier_cases_of_its_conversation_and_vin(
        self, store: DeskStores
    ) -> None:
        vin = "1ABCD23E45F678901"
        vehicle = Vehicle(make="ford", model="f-150", year=2021, vin=vin)
        sessions = [session_with_question(store) for _ in range(3)]
        for session_id in sessions[:2]:
            store.sessions.set_vehicle(session_id, vehicle)
        earlier = store.tickets.open_ticket(draft_for(store, sessions[0]))
        store.tickets.assign(earlier.id, "ana")
        store.tickets.resolve(earlier.id, "Bled the brakes")
        stranger = store.tickets.open_ticket(draft_for(store, sessions[2]))
        latest = store.tickets.open_ticket(draft_for(store, sessions[1]))

        history = store.tickets.earlier_tickets(latest)

        assert [t.id for t in history] == [earlier.id]
        assert history[0].resolution_note == "Bled the brakes"
        assert store.tickets.earlier_tickets(stranger) == []

    def test_one_client_may_hold_only_so_many_open_tickets(self, store: DeskStores) -> None:
        store.tickets.max_open_per_client = 2

        def client_session(client_key: str | None) -> str:
            session_id = store.sessions.create_session(Channel.DRIVER, client_key=client_key)
            store.sessions.add_turn(session_id, "user", "My brake pedal sinks")
            return session_id

        first, second, third = (client_session("driver-a") for _ in range(3))
        opened = [store.tickets.open_ticket(draft_for(store, s)) for s in (first, second)]
        with pytest.raises(TooManyOpenTickets) as full:
            store.tickets.open_ticket(draft_for(store, third))
        assert full.value.open_references == [ticket.reference for ticket in opened]
        assert stored_session(store, third).open_ticket_id is None  # nothing half-opened
        # Another client, and a conversation no client is named for (an agent's), are not held.
        store.tickets.open_ticket(draft_for(store, client_session("driver-b")))
        store.tickets.open_ticket(draft_for(store, client_session(None)))
        # A session that has its ticket still reaches it; a resolved case frees a place.
        assert store.tickets.open_ticket(draft_for(store, first), reuse_open=True) == opened[0]
        store.tickets.assign(opened[0].id, "ana")
        store.tickets.resolve(opened[0].id, "Bled the brakes")
        assert store.tickets.open_ticket(draft_for(store, third)).session_id == third


class TestSqlDeskStores(TicketStoreContract):
    """On a SQLite file and on PostgreSQL (the `database_url` fixture's two params)."""

    @pytest.fixture
    def store(self, database_url: str) -> Iterator[DeskStores]:
        store = open_desk(database_url)
        yield store
        store.close()


def test_sessions_list_newest_first_with_their_turns(database_url: str) -> None:
    store = open_desk(database_url)
    first = session_with_question(store, "first?")
    second = session_with_question(store, "second?")

    sessions = store.sessions.list_sessions()

    assert [s.id for s in sessions] == [second, first]
    assert sessions[0].turns[0].text == "second?"
    assert store.sessions.list_sessions(since=sessions[0].updated_at) == sessions[:1]


def test_ticket_references_parse_back_to_ids() -> None:
    assert ticket_id_from_reference("GBX-000123") == 123
    assert ticket_id_from_reference("gbx-42") == 42
    assert ticket_id_from_reference("7") == 7
    with pytest.raises(InputError, match="write it like GBX-000123"):
        ticket_id_from_reference("TICKET-9")


@pytest.mark.parametrize("absurd", ["GBX-2147483648", "9223372036854775808", "GBX-" + "9" * 40])
def test_a_ticket_number_no_database_column_holds_is_no_reference(absurd: str) -> None:
    """Past PostgreSQL's 32-bit INTEGER (and SQLite's 2^63) it must never reach a query."""
    with pytest.raises(InputError, match="write it like GBX-000123"):
        ticket_id_from_reference(absurd)
    assert ticket_id_from_reference("GBX-2147483647") == 2**31 - 1


def test_two_stores_on_one_database_see_each_others_writes(database_url: str) -> None:
    """What the console and the API processes do: separate engines on the same database."""
    url = database_url
    api, console = open_desk(url), open_desk(url)
    try:
        session_id = session_with_question(api, "The airbag light is on")
        ticket = api.tickets.open_ticket(draft_for(api, session_id))

        waiting = console.tickets.list_tickets(EscalationState.WAITING_FOR_HUMAN)
        assert [item.id for item in waiting] == [ticket.id]
        assert waiting[0].transcript[0]["text"] == "The airbag light is on"
        console.tickets.assign(ticket.id, "Dana")
        console.tickets.add_agent_message(
            ticket.id, "Please do not drive until we have checked it."
        )

        session = api.sessions.get_session(session_id)
        assert session is not None
        assert session.state is EscalationState.HUMAN
        assert session.turns[-1].role == "agent"
        assert stored_ticket(api, ticket.id).assignee == "Dana"
    finally:
        api.close()
        console.close()


def test_concurrent_writers_lose_no_updates(database_url: str) -> None:
    stores = [open_desk(database_url), open_desk(database_url)]
    session_id = stores[0].sessions.create_session(Channel.DRIVER)
    writes_each = 15
    failures: list[BaseException] = []

    def write(store: DeskStores, name: str) -> None:
        try:
            for number in range(writes_each):
                store.sessions.add_turn(session_id, "user", f"{name} {number}")
                store.sessions.record_outcome(session_id, answered=False)
        except BaseException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=write, args=(store, name))
        for store, name in zip(stores, ["api", "console"], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        session = stores[1].sessions.get_session(session_id)
        assert session is not None
        assert session.failed_answers == 2 * writes_each
        assert [turn.index for turn in session.turns] == list(range(2 * writes_each))
        for name in ("api", "console"):
            mine = [turn.text for turn in session.turns if turn.text.startswith(name)]
            assert mine == [f"{name} {number}" for number in range(writes_each)]
    finally:
        for store in stores:
            store.close()


def test_tickets_opened_at_once_through_two_engines_get_distinct_references(
    database_url: str,
) -> None:
    """Two workers escalating at the same moment: no reference handed out twice, none lost."""
    stores = [open_desk(database_url), open_desk(database_url)]
    threads_each, tickets_each = 8, 4
    opened: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2 * threads_each)

    def escalate(store: DeskStores) -> None:
        try:
            start.wait()
            for _ in range(tickets_each):
                session_id = session_with_question(store)
                opened.append(store.tickets.open_ticket(draft_for(store, session_id)).id)
        except BaseException as error:
            failures.append(error)

    threads = [
        threading.Thread(target=escalate, args=(store,))
        for store in stores
        for _ in range(threads_each)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert len(opened) == len(set(opened)) == 2 * threads_each * tickets_each
        listed = stores[1].tickets.list_tickets(limit=1000)
        assert sorted(ticket.id for ticket in listed) == sorted(opened)
        assert len({ticket_reference(ticket.id) for ticket in listed}) == len(opened)
    finally:
        for store in stores:
            store.close()


def test_sqlite_file_is_created_with_tables_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "not-yet" / "there" / "glovebox.sqlite3"
    store = open_desk(f"sqlite:///{path}")
    assert not path.exists()  # nothing happens until the store is used
    store.sessions.create_session(Channel.DRIVER)
    store.close()

    with sqlite3.connect(path) as connection:
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    connection.close()
    assert journal_mode == "wal"
    assert {
        "conversation_sessions", "conversation_turns", "tickets", "feedback", "csat_ratings",
    } <= tables  # fmt: skip


def test_in_memory_sqlite_works_for_one_process() -> None:
    store = open_desk("sqlite://")
    assert isinstance(store.sessions, SessionStore)
    assert isinstance(store.tickets, TicketStore)
    session_id = session_with_question(store)
    assert stored_session(store, session_id).turns[0].text == "My brake pedal sinks"


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [("not a url", "is not a SQLAlchemy URL"), ("nosuchdb://host/x", "no driver")],
)
def test_a_bad_database_url_is_a_configuration_error(database_url: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        open_desk(database_url)


def test_what_postgresql_refuses_reads_or_stores_as_on_sqlite(database_url: str) -> None:
    """PostgreSQL's INTEGER is 32-bit and its text holds no NUL; SQLite allows both."""
    store = open_desk(database_url)
    try:
        session_id = session_with_question(store, "brakes\x00squeal")
        assert store.tickets.get_ticket(2**40) is None
        assert store.tickets.search_tickets("GBX-999999999999") == []
        with pytest.raises(InputError, match="no ticket GBX-1099511627776"):
            store.tickets.assign(2**40, "Dana")
        assert stored_session(store, session_id).turns[0].text.startswith("brakes")
        try:  # SQLite stores it; PostgreSQL's VARCHAR(80) refuses it, as an input error
            store.sessions.set_vehicle(session_id, Vehicle(make="x" * 200))
        except InputError as error:
            assert "does not fit the database" in str(error)
    finally:
        store.close()
