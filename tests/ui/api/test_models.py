"""One bound per kind of text, shared by the agent and driver models and the widget's fields."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, ValidationError

from knowledge.settings import GloveboxSettings
from tests.conftest import PROJECT_ROOT
from ui.api.models import (
    COMMENT_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    TURN_INDEX_MAX,
    ChatCompletionRequest,
    ChatRequest,
    DriverFeedback,
    DriverRating,
    EscalationRequest,
    FeedbackRequest,
    TextRequest,
)

WIDGET = PROJECT_ROOT / "ui" / "static" / "widget.js"
WIDGET_LIMIT = re.compile(r"const (MAX_\w+_CHARS) = (\d+);")


def widget_limits() -> dict[str, int]:
    return {name: int(n) for name, n in WIDGET_LIMIT.findall(WIDGET.read_text(encoding="utf-8"))}


def test_every_widget_limit_is_the_servers() -> None:
    default_question_limit = GloveboxSettings.model_fields["max_question_chars"].default
    assert widget_limits() == {
        "MAX_QUESTION_CHARS": default_question_limit,
        "MAX_COMMENT_CHARS": COMMENT_MAX_CHARS,
    }
    # The widget sends what the driver typed in the question box as the message to a person.
    assert default_question_limit <= MESSAGE_MAX_CHARS


def test_every_widget_field_is_capped_by_one_of_those_limits() -> None:
    script = WIDGET.read_text(encoding="utf-8")
    caps = re.findall(r'maxlength="([^"]*)"', script)
    assert len(caps) == 3  # the question, a comment on an answer, a rating's comment
    assert set(caps) == {"${MAX_QUESTION_CHARS}", "${MAX_COMMENT_CHARS}"}


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (DriverFeedback, {"session_id": "s1", "turn_index": 1, "helpful": False}),
        (FeedbackRequest, {"session_id": "s1", "turn_index": 1, "helpful": False}),
        (DriverRating, {"session_id": "s1", "ticket_id": "GBX-000001", "rating": 4}),
    ],
)
def test_agents_and_drivers_comment_within_the_same_limit(
    model: type[BaseModel], fields: dict[str, object]
) -> None:
    assert model(**fields, comment="x" * COMMENT_MAX_CHARS)
    with pytest.raises(ValidationError, match=f"at most {COMMENT_MAX_CHARS} characters"):
        model(**fields, comment="x" * (COMMENT_MAX_CHARS + 1))


@pytest.mark.parametrize("text", ["\u0000", "   ", "\t\r\n", "\u200b\ufeff", "\u0000ok"])
def test_text_with_no_content_or_a_nul_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="text"):
        TextRequest(text=text)
    with pytest.raises(ValidationError, match="message"):
        EscalationRequest(message=text)


def test_an_absent_escalation_message_is_still_allowed() -> None:
    assert EscalationRequest().message == "" and EscalationRequest(message="").message == ""
    assert TextRequest(text=" Towed \u0000"[:-1]).text == " Towed "


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (DriverFeedback, {"session_id": "s1", "turn_index": TURN_INDEX_MAX + 1, "helpful": True}),
        (DriverFeedback, {"session_id": "s1", "turn_index": 2**63, "helpful": True}),
        (DriverFeedback, {"session_id": "s1", "turn_index": 1, "helpful": "yes"}),
        (DriverFeedback, {"session_id": "s1", "turn_index": "1", "helpful": True}),
        (ChatRequest, {"question": 12}),
        (ChatCompletionRequest, {"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}),
        (ChatCompletionRequest, {"messages": [{"role": "user", "content": "hi"}], "stream": 1}),
    ],
)
def test_numbers_are_bounded_and_types_are_strict(model: type[BaseModel], fields: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError):
        model.model_validate(fields)
