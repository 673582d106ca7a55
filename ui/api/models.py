"""Every request body the HTTP API accepts, agent and driver alike, with the bounds they share.

A bound is stated once here; the widget's fields use the same numbers (`ui/static/widget.js`,
checked by `tests/ui/api/test_models.py`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.desk.feedback import CSAT_HIGHEST, CSAT_LOWEST

SESSION_ID_MAX_CHARS = 64
VEHICLE_MAX_CHARS = 120
VIN_CHARS = 17
COMMENT_MAX_CHARS = 2000
"""A comment on an answer or on how a person helped, from a driver or an agent. The columns are
unbounded text, so the bound is the reader's: a comment is a line or a paragraph (an agent's
better answer goes in `suggestion`), and 2000 is what drivers' feedback and ratings were always
held to (agents' feedback alone allowed 4000)."""
MESSAGE_MAX_CHARS = 2000
"""What a driver tells the person they ask for."""
TEXT_MAX_CHARS = 8000
"""An agent's note, reply, resolution or suggested answer."""
TICKET_REFERENCE_MAX_CHARS = 32
USERNAME_MAX_CHARS = 64
PASSWORD_MAX_CHARS = 1024
OPENAI_MAX_MESSAGES = 100


class ChatRequest(BaseModel):
    """A question, on the agent channel (/v1/agent/chat) or the driver's (/v1/chat...)."""

    question: str = Field(min_length=1)
    """Capped by GLOVEBOX_MAX_QUESTION_CHARS, which the routes check with a clearer message."""
    session_id: str | None = Field(default=None, max_length=SESSION_ID_MAX_CHARS)
    vehicle: str | None = Field(default=None, max_length=VEHICLE_MAX_CHARS)
    vin: str | None = Field(default=None, max_length=VIN_CHARS)


class DriverFeedback(BaseModel):
    """Whether an answer helped, and why not."""

    session_id: str = Field(min_length=1, max_length=SESSION_ID_MAX_CHARS)
    turn_index: int = Field(ge=0)
    helpful: bool
    comment: str = Field(default="", max_length=COMMENT_MAX_CHARS)


class FeedbackRequest(DriverFeedback):
    """An agent's feedback: a driver's, and the answer that should have been given."""

    suggestion: str = Field(default="", max_length=TEXT_MAX_CHARS)


class DriverRating(BaseModel):
    session_id: str = Field(min_length=1, max_length=SESSION_ID_MAX_CHARS)
    ticket_id: str = Field(min_length=1, max_length=TICKET_REFERENCE_MAX_CHARS)
    """The resolved ticket's reference, as the session gives it (GBX-000123)."""
    rating: int = Field(ge=CSAT_LOWEST, le=CSAT_HIGHEST, strict=True)
    comment: str = Field(default="", max_length=COMMENT_MAX_CHARS)


class EscalationRequest(BaseModel):
    session_id: str | None = Field(default=None, max_length=SESSION_ID_MAX_CHARS)
    """None when the driver asks for a person before asking anything."""
    message: str = Field(default="", max_length=MESSAGE_MAX_CHARS)


class TextRequest(BaseModel):
    text: str = Field(min_length=1, max_length=TEXT_MAX_CHARS)


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=USERNAME_MAX_CHARS)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_CHARS)


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model: str = "glovebox"
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=OPENAI_MAX_MESSAGES)
    stream: bool = False
    user: str | None = Field(default=None, max_length=SESSION_ID_MAX_CHARS)
