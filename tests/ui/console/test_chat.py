"""The Chat tab's handlers on a real desk: a streamed cited answer, retry, copy and feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr
import pytest

from assistant.desk.agent_desk import AgentDesk, CustomerCopy
from ui.console.chat import (
    CLEARED,
    INTERNAL_LEFT_OUT,
    LastAnswer,
    TurnView,
    ask,
    choose_rating,
    clear,
    copy_answer,
    retry,
    save_feedback,
    vehicle_arguments,
)
from ui.console.edge import KEEP

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount

TPMS = "How do I reset the TPMS light?"


def asked(desk: AgentDesk, agent: AgentAccount, vehicle: str = "Tessel 2022") -> list[TurnView]:
    return list(ask(desk, agent, f"  {TPMS} ", vehicle, [], None))


def test_an_answer_streams_in_then_shows_its_sources_and_what_feedback_needs(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    views = asked(desk, agent)

    first, *streamed, last = views
    assert first.question == "" and first.rating is None and first.feedback_status == ""
    assert first.chatbot == [
        {"role": "user", "content": TPMS},
        {"role": "assistant", "content": "_Reading the conversation…_"},
    ]
    assert streamed and all(view.sources is KEEP for view in streamed)  # only the words move
    assert isinstance(last.chatbot, list) and last.chatbot[0] == {"role": "user", "content": TPMS}
    answer = last.chatbot[-1]["content"]
    assert "[\\[1\\]](/v1/agent/sources/" in answer  # each citation opens its source
    assert isinstance(last.sources, str) and 'id="source-1"' in last.sources
    assert isinstance(last.answer_meta, str) and "confidence" in last.answer_meta
    assert isinstance(last.last_answer, LastAnswer)
    assert (last.last_answer.question, last.last_answer.session_id) == (TPMS, last.session_id)
    assert last.vehicle_box is KEEP  # what the agent typed stays


def test_a_vehicle_named_in_the_question_fills_an_empty_vehicle_box(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    last = list(ask(desk, agent, "How do I reset the TPMS light on my 2022 Tessel?", "", [], None))
    assert isinstance(last[-1].vehicle_box, str) and "2022" in last[-1].vehicle_box


def test_an_empty_or_too_long_question_is_a_warning_and_nothing_is_asked(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    with pytest.warns(UserWarning, match="Type a question first"):
        assert list(ask(desk, agent, "   ", "", [], None)) == []
    with pytest.warns(UserWarning, match="keep it to 200 characters"):
        assert list(ask(desk, agent, "x" * 201, "", [], None)) == []


def test_a_question_the_desk_refuses_is_said_in_the_conversation(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    with pytest.warns(UserWarning, match="no session gone"):
        views = list(ask(desk, agent, TPMS, "", [], "gone"))
    assert views[-1].chatbot[-1]["content"].startswith("_The assistant could not answer")  # type: ignore[index]
    assert views[-1].last_answer is KEEP


def test_a_vin_goes_to_the_decoder_and_anything_else_is_read_as_model_and_year() -> None:
    assert vehicle_arguments(" 7hvtc2ab3nm123456 ") == {
        "vin": "7HVTC2AB3NM123456",
        "vehicle_text": None,
    }
    assert vehicle_arguments("Tessel 2022") == {"vin": None, "vehicle_text": "Tessel 2022"}
    assert vehicle_arguments("  ") == {"vin": None, "vehicle_text": None}


def test_retry_asks_the_last_question_again_in_the_same_conversation(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    first = asked(desk, agent)[-1]
    assert isinstance(first.last_answer, LastAnswer) and isinstance(first.chatbot, list)

    again = list(
        retry(desk, agent, "Tessel 2022", first.chatbot, first.session_id, first.last_answer)
    )  # type: ignore[arg-type]

    assert again[-1].session_id == first.session_id
    assert again[-1].last_answer.turn_index > first.last_answer.turn_index  # type: ignore[union-attr]
    assert [m["content"] for m in again[-1].chatbot if m["role"] == "user"] == [TPMS, TPMS]  # type: ignore[union-attr]
    with pytest.warns(UserWarning, match="Nothing to retry yet"):
        assert list(retry(desk, agent, "", [], None, None)) == []


def test_clear_starts_a_new_conversation(desk: AgentDesk, agent: AgentAccount) -> None:
    cleared = clear(desk, agent)
    assert cleared is CLEARED
    assert (cleared.chatbot, cleared.session_id, cleared.last_answer, cleared.vehicle_box) == (
        [], None, None, ""
    )  # fmt: skip
    assert cleared.customer_copy == gr.update(value="", visible=False)


def last_answer(text: str, relied_on_internal: bool) -> LastAnswer:
    return LastAnswer("session", 1, TPMS, CustomerCopy(text, relied_on_internal))


def test_the_customer_copy_is_shown_with_a_note_when_internal_parts_were_left_out(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    public = copy_answer(desk, agent, last_answer("Hold SET. [1]", relied_on_internal=False))
    internal = copy_answer(desk, agent, last_answer("", relied_on_internal=True))

    assert public.customer_copy == gr.update(value="Hold SET. [1]", visible=True)
    assert public.copy_note == ""
    assert internal.customer_copy == gr.update(
        value="(Nothing in this answer cites a public source.)", visible=True
    )
    assert isinstance(internal.copy_note, str) and INTERNAL_LEFT_OUT in internal.copy_note
    with pytest.warns(UserWarning, match="no answer to copy"):
        nothing = copy_answer(desk, agent, None)
    assert (nothing.customer_copy, nothing.copy_note) == (KEEP, KEEP)


def test_a_chosen_thumb_is_lit_and_the_other_is_not(desk: AgentDesk, agent: AgentAccount) -> None:
    previous = last_answer("Hold SET.", relied_on_internal=False)
    down = choose_rating(desk, agent, previous, helpful=False)

    assert down.rating is False and "Rated **not helpful**" in str(down.feedback_status)
    assert down.thumbs_up == gr.update(variant="secondary")
    assert down.thumbs_down == gr.update(variant="primary")
    with pytest.warns(UserWarning, match="no answer to rate"):
        unrated = choose_rating(desk, agent, None, helpful=True)
    assert (unrated.rating, unrated.feedback_status, unrated.thumbs_up) == (None, "", KEEP)


def test_feedback_is_stored_for_the_knowledge_team_and_the_form_emptied(
    desk: AgentDesk, agent: AgentAccount
) -> None:
    answered = asked(desk, agent)[-1].last_answer
    assert isinstance(answered, LastAnswer)

    saved = save_feedback(desk, agent, answered, False, "Wrong button", "Hold SET 3 s")

    assert str(saved.feedback_status).startswith("**Feedback saved.**")
    assert (saved.feedback_comment, saved.feedback_suggestion, saved.rating) == ("", "", None)
    stored = [f for f in desk.feedback_list(agent) if f.session_id == answered.session_id]
    assert [(f.helpful, f.comment, f.suggestion) for f in stored] == [
        (False, "[ana] Wrong button", "Hold SET 3 s")
    ]


def test_feedback_needs_an_answer_and_a_rating_first(desk: AgentDesk, agent: AgentAccount) -> None:
    previous = last_answer("Hold SET.", relied_on_internal=False)
    with pytest.warns(UserWarning, match="no answer to rate"):
        assert save_feedback(desk, agent, None, True, "", "").values() == (gr.skip(),) * 6
    with pytest.warns(UserWarning, match="Choose Helpful or Not helpful first"):
        assert save_feedback(desk, agent, previous, None, "", "").feedback_status is KEEP
