"""Every request body the HTTP API accepts, agent and driver alike, with the bounds they share.

A bound is stated once here; the widget's fields use the same numbers (`ui/static/widget.js`,
checked by `tests/ui/api/test_models.py`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from assistant.desk.feedback import CSAT_HIGHEST, CSAT_LOWEST
from assistant.records import has_words
from assistant.vehicles import EARLIEST_MENTIONED_YEAR, LATEST_MENTIONED_YEAR

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
OPENAI_MAX_PARTS = 100
"""Content parts in one OpenAI message."""
OPENAI_MODEL_MAX_CHARS = 64
QUESTION_MAX_CHARS = 100_000
"""Past any GLOVEBOX_MAX_QUESTION_CHARS (at most 20000): the routes' own check, with its clearer
message, is the one a question meets."""
TURN_INDEX_MAX = 10_000
"""Far past any conversation's length; bounded so no number reaches the database that it cannot
hold (an OverflowError, a 500, past 2^63 on SQLite)."""
FEEDBACK_EXPORT_MAX = 10_000
"""The most feedback items one export returns."""
LOCALE_MAX_CHARS = 35
"""The longest language tag in common use (BCP 47 allows 35 characters)."""
SEARCH_MAX_CHARS = 200
DOCUMENT_ID_MAX_CHARS = 512
PATH_MAX_CHARS = 2048
MODEL_YEAR_FIRST = EARLIEST_MENTIONED_YEAR
MODEL_YEAR_LAST = min(LATEST_MENTIONED_YEAR, date.today().year + 2)
"""The model years a vehicle can be looked up by: those the catalog reads, and none past the
year after next (read when the server starts). Outside them a year names no vehicle."""


def has_content(text: str) -> str:
    """Refuses text without a letter or a digit (only whitespace, punctuation, control or
    format characters such as NUL and zero-width space), and text holding a NUL anywhere (no
    one types one, and PostgreSQL cannot store it)."""
    no_nul(text)
    if not has_words(text):
        raise PydanticCustomError("no_content", "has no words in it; write what you mean")
    return text


def no_nul(text: str) -> str:
    if "\x00" in text:
        raise PydanticCustomError("nul_character", "holds a NUL character; send plain text")
    return text


MeaningfulText = Annotated[str, AfterValidator(has_content)]
"""A string with some text in it; bound its length where it is used:
`text: MeaningfulText = Field(min_length=1, max_length=TEXT_MAX_CHARS)`."""
PlainText = Annotated[str, AfterValidator(no_nul)]
"""A string, possibly empty (an optional comment), without NULs."""
OptionalText = Annotated[str, AfterValidator(lambda text: has_content(text) if text else text)]
"""Empty, or `MeaningfulText`: an optional message that, when given, must say something."""


class StrictRequest(BaseModel):
    """Strings are strings and booleans are booleans: `12` is not a question, nor `"yes"` true."""

    model_config = ConfigDict(strict=True)


class ChatRequest(StrictRequest):
    """A question, on the agent channel (/v1/agent/chat) or the driver's (/v1/chat...)."""

    question: MeaningfulText = Field(min_length=1, max_length=QUESTION_MAX_CHARS)
    """Capped by GLOVEBOX_MAX_QUESTION_CHARS, which the routes check with a clearer message."""
    session_id: PlainText | None = Field(default=None, max_length=SESSION_ID_MAX_CHARS)
    vehicle: PlainText | None = Field(default=None, max_length=VEHICLE_MAX_CHARS)
    vin: PlainText | None = Field(default=None, max_length=VIN_CHARS)


class DriverFeedback(StrictRequest):
    """Whether an answer helped, and why not."""

    session_id: PlainText = Field(min_length=1, max_length=SESSION_ID_MAX_CHARS)
    turn_index: int = Field(ge=0, le=TURN_INDEX_MAX)
    helpful: StrictBool
    comment: PlainText = Field(default="", max_length=COMMENT_MAX_CHARS)


class FeedbackRequest(DriverFeedback):
    """An agent's feedback: a driver's, and the answer that should have been given."""

    suggestion: PlainText = Field(default="", max_length=TEXT_MAX_CHARS)


class DriverRating(StrictRequest):
    session_id: PlainText = Field(min_length=1, max_length=SESSION_ID_MAX_CHARS)
    ticket_id: str = Field(min_length=1, max_length=TICKET_REFERENCE_MAX_CHARS)
    """The resolved ticket's reference, as the session gives it (GBX-000123)."""
    rating: int = Field(ge=CSAT_LOWEST, le=CSAT_HIGHEST)
    comment: PlainText = Field(default="", max_length=COMMENT_MAX_CHARS)


class EscalationRequest(StrictRequest):
    session_id: PlainText | None = Field(default=None, max_length=SESSION_ID_MAX_CHARS)
    """None when the driver asks for a person before asking anything."""
    message: OptionalText = Field(default="", max_length=MESSAGE_MAX_CHARS)


class TextRequest(StrictRequest):
    text: MeaningfulText = Field(min_length=1, max_length=TEXT_MAX_CHARS)


class SignIn(StrictRequest):
    username: str = Field(min_length=1, max_length=USERNAME_MAX_CHARS)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_CHARS)


OpenAIParts = Annotated[list[dict[str, Any]], Field(max_length=OPENAI_MAX_PARTS)]


class OpenAIMessage(StrictRequest):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: Annotated[PlainText, Field(max_length=QUESTION_MAX_CHARS)] | OpenAIParts | None = None


class ChatCompletionRequest(StrictRequest):
    model: PlainText = Field(default="glovebox", max_length=OPENAI_MODEL_MAX_CHARS)
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=OPENAI_MAX_MESSAGES)
    stream: StrictBool = False
    user: PlainText | None = Field(default=None, max_length=SESSION_ID_MAX_CHARS)
