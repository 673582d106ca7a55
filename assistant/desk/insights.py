"""What supervisors see in the console's Insights view: volume, escalations, CSAT, knowledge gaps.

Read from the desk stores' public listings; nothing is stored. A knowledge gap is a question
the assistant could not answer from its sources, or whose reply the asker rated thumbs down;
similar gaps are grouped so the backlog reads as "what to write next".

    insights = build_insights(open_desk(url), embedder, since=datetime.now(UTC) - timedelta(days=7))
    Path("gaps.csv").write_text(insights_csv(insights))
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from knowledge.errors import InputError

if TYPE_CHECKING:
    from assistant.desk.feedback import Feedback
    from assistant.desk.stores import DeskListings
    from assistant.records import ConversationSession, CsatRating, Ticket, Turn
    from knowledge.embedder import Embedder

FETCH_LIMIT = 5000
"""Most sessions, tickets and feedback rows read per call (the store's own default for sessions)."""

ASKED_FOR_VEHICLE_PREFIX = "Which vehicle"
"""How the assistant's "which vehicle is it?" replies begin (`Assistant._finish_asking_vehicle`).

Only for replies stored before the payload carried an `outcome`: an uncited reply starting
with this asked for the vehicle, which is the assistant doing its job, not a gap.
"""

MAX_SAMPLE_COMMENTS = 3
MAX_CSAT_COMMENTS = 5

GAP_CSV_HEADER = [
    "label",
    "count",
    "unanswered",
    "thumbs_down",
    "last_asked",
    "questions",
    "comments",
]
DAILY_CSV_HEADER = ["day", "questions", "answered", "escalated"]


@dataclass(frozen=True)
class DayCount:
    """One UTC day: questions asked, how many the assistant answered, tickets opened."""

    day: date
    questions: int
    answered: int
    escalated: int


@dataclass(frozen=True)
class GapGroup:
    """Similar questions the assistant could not answer well: one backlog item for the writers."""

    label: str
    """The member question closest to the group's centroid."""
    questions: list[str]
    """Distinct wordings, most recently asked first."""
    count: int
    """Times asked (a question both unanswered and rated down counts once)."""
    unanswered: int
    thumbs_down: int
    last_asked: datetime
    sample_comments: list[str] = field(default_factory=list)
    """Up to 3 feedback comments and suggested answers, newest first."""


@dataclass(frozen=True)
class CsatComment:
    """What a driver wrote beside their rating of a resolved ticket."""

    ticket: str
    """The ticket's reference, GBX-000123."""
    rating: int
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class CsatSummary:
    """Drivers' 1-5 ratings of resolved tickets given in the window."""

    ratings: int
    average: float | None
    """None when nobody rated."""
    latest_comments: list[CsatComment] = field(default_factory=list)
    """Up to 5, newest first."""


@dataclass(frozen=True)
class Insights:
    """The Insights view for one window (`since` to `now`; all history when `since` is None)."""

    since: datetime | None
    days: list[DayCount]
    questions: int
    escalations: int
    """Tickets opened in the window."""
    escalation_rate: float | None
    """Sessions with a question and a ticket in the window / sessions with a question in it."""
    escalation_reasons: dict[str, int]
    """Reason code -> tickets, most first."""
    channels: dict[str, int]
    """Channel -> questions, most first."""
    gaps: list[GapGroup]
    """Biggest first."""
    csat: CsatSummary


@dataclass(frozen=True)
class _Question:
    session_id: str
    text: str
    asked_at: datetime
    answered: bool
    unanswered_gap: bool
    feedback: Feedback | None
    """The latest rating of the reply, if any."""

    @property
    def thumbs_down(self) -> bool:
        return self.feedback is not None and not self.feedback.helpful


def build_insights(
    desk: DeskListings,
    embedder: Embedder,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    min_similarity: float = 0.75,
    max_gaps: int = 50,
) -> Insights:
    """Questions per day, escalations and the knowledge-gap backlog for `since`..`now`.

    A question is a user turn; the assistant's reply to it (the first assistant turn before
    the next user turn) stores its outcome. It is a gap when that outcome is `unanswered` (not
    when the reply asked for the vehicle, handed the case to a person or said the car is
    another maker's), or when the reply's latest rating is thumbs down; a question with no
    assistant reply (a person took the conversation) is neither answered nor a gap.
    """
    if not 0.0 < min_similarity <= 1.0:
        raise InputError(
            source="min_similarity", problem=f"must be in (0, 1], not {min_similarity}"
        )
    if max_gaps < 1:
        raise InputError(source="max_gaps", problem=f"must be at least 1, not {max_gaps}")
    now = now or datetime.now(UTC)

    def in_window(moment: datetime) -> bool:
        return (since is None or moment >= since) and moment <= now

    sessions = desk.sessions.list_sessions(since=since, limit=FETCH_LIMIT)
    ratings = _latest_ratings(desk.feedback.list_feedback(limit=FETCH_LIMIT))
    questions = [
        question
        for session in sessions
        for question in _questions(session, ratings)
        if in_window(question.asked_at)
    ]
    tickets = [
        ticket
        for ticket in desk.tickets.list_tickets(limit=FETCH_LIMIT)
        if in_window(ticket.created_at)
    ]

    channel_of = {session.id: str(session.channel) for session in sessions}
    asking_sessions = {question.session_id for question in questions}
    escalated_sessions = asking_sessions & {ticket.session_id for ticket in tickets}
    return Insights(
        since=since,
        days=_days(questions, tickets, since, now),
        questions=len(questions),
        escalations=len(tickets),
        escalation_rate=(
            len(escalated_sessions) / len(asking_sessions) if asking_sessions else None
        ),
        escalation_reasons=_most_first(Counter(ticket.reason for ticket in tickets)),
        channels=_most_first(Counter(channel_of[question.session_id] for question in questions)),
        gaps=_gap_groups(
            [q for q in questions if q.unanswered_gap or q.thumbs_down], embedder, min_similarity
        )[:max_gaps],
        csat=_csat_summary(
            [
                rated
                for rated in desk.feedback.list_csat(limit=FETCH_LIMIT)
                if in_window(rated.created_at)
            ]
        ),
    )


def insights_csv(insights: Insights) -> str:
    """The knowledge-gap backlog as CSV, one group a row, for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(GAP_CSV_HEADER)
    for gap in insights.gaps:
        writer.writerow(
            [
                gap.label,
                gap.count,
                gap.unanswered,
                gap.thumbs_down,
                gap.last_asked.isoformat(),
                " | ".join(gap.questions),
                " | ".join(gap.sample_comments),
            ]
        )
    return buffer.getvalue()


def daily_csv(insights: Insights) -> str:
    """Questions, answers and escalations per UTC day as CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DAILY_CSV_HEADER)
    for day in insights.days:
        writer.writerow([day.day.isoformat(), day.questions, day.answered, day.escalated])
    return buffer.getvalue()


def _latest_ratings(feedback: list[Feedback]) -> dict[tuple[str, int], Feedback]:
    """(session, reply turn index) -> its newest rating; `list_feedback` is newest first."""
    latest: dict[tuple[str, int], Feedback] = {}
    for rating in feedback:
        latest.setdefault((rating.session_id, rating.turn_index), rating)
    return latest


def _questions(
    session: ConversationSession, ratings: dict[tuple[str, int], Feedback]
) -> list[_Question]:
    questions = []
    for position, turn in enumerate(session.turns):
        if turn.role != "user":
            continue
        reply = _reply_to(session.turns[position + 1 :])
        outcome = None if reply is None else _outcome(reply)
        questions.append(
            _Question(
                session_id=session.id,
                text=" ".join(turn.text.split()),
                asked_at=turn.created_at,
                answered=outcome == "answered",
                unanswered_gap=outcome == "unanswered",
                feedback=None if reply is None else ratings.get((session.id, reply.index)),
            )
        )
    return questions


def _reply_to(later_turns: list[Turn]) -> Turn | None:
    for turn in later_turns:
        if turn.role == "user":
            return None
        if turn.role == "assistant":
            return turn
    return None


def _outcome(reply: Turn) -> str:
    """What the reply did, as the chain stored it; guessed for turns stored before it did."""
    payload = reply.payload or {}
    if "outcome" in payload:
        return str(payload["outcome"])
    if payload.get("citations") and payload.get("abstained") is not True:
        return "answered"
    if payload.get("asked_for_vehicle") or (
        not payload.get("citations") and reply.text.startswith(ASKED_FOR_VEHICLE_PREFIX)
    ):
        return "asked_for_vehicle"
    return "unanswered"


def _days(
    questions: list[_Question], tickets: list[Ticket], since: datetime | None, now: datetime
) -> list[DayCount]:
    """Every UTC day of the window, zero days included."""
    asked = Counter(q.asked_at.astimezone(UTC).date() for q in questions)
    answered = Counter(q.asked_at.astimezone(UTC).date() for q in questions if q.answered)
    escalated = Counter(ticket.created_at.astimezone(UTC).date() for ticket in tickets)
    last = now.astimezone(UTC).date()
    if since is not None:
        first = since.astimezone(UTC).date()
    elif asked or escalated:
        first = min([*asked, *escalated])
    else:
        return []
    return [
        DayCount(day, asked[day], answered[day], escalated[day])
        for day in (first + timedelta(days=offset) for offset in range((last - first).days + 1))
    ]


def _csat_summary(ratings: list[CsatRating]) -> CsatSummary:
    """`ratings` newest first, as `list_csat` gives them."""
    return CsatSummary(
        ratings=len(ratings),
        average=sum(rated.rating for rated in ratings) / len(ratings) if ratings else None,
        latest_comments=[
            CsatComment(rated.ticket_reference, rated.rating, rated.comment, rated.created_at)
            for rated in ratings
            if rated.comment
        ][:MAX_CSAT_COMMENTS],
    )


def _most_first(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _gap_groups(gaps: list[_Question], embedder: Embedder, min_similarity: float) -> list[GapGroup]:
    """Greedy grouping: newest wording first, each joins the group whose centroid (mean of
    its members' vectors) is most similar, if at least `min_similarity`, else starts one."""
    if not gaps:
        return []
    gaps = sorted(gaps, key=lambda q: q.asked_at, reverse=True)
    wordings = list(dict.fromkeys(q.text.casefold() for q in gaps))
    shown: dict[str, str] = {}  # casefolded wording -> as most recently asked
    for question in gaps:
        shown.setdefault(question.text.casefold(), question.text)
    vectors = dict(
        zip(wordings, embedder.embed_documents([shown[w] for w in wordings]), strict=True)
    )

    members: list[list[str]] = []
    sums: list[list[float]] = []
    for wording in wordings:
        vector = vectors[wording]
        scores = [_cosine(vector, total) for total in sums]
        best = max(range(len(scores)), key=scores.__getitem__, default=None)
        if best is not None and scores[best] >= min_similarity:
            members[best].append(wording)
            sums[best] = [a + b for a, b in zip(sums[best], vector, strict=True)]
        else:
            members.append([wording])
            sums.append(list(vector))

    groups = []
    for group_wordings, total in zip(members, sums, strict=True):
        in_group = set(group_wordings)
        asked = [q for q in gaps if q.text.casefold() in in_group]
        label = max(group_wordings, key=lambda w: _cosine(vectors[w], total))
        groups.append(
            GapGroup(
                label=shown[label],
                questions=[shown[w] for w in group_wordings],
                count=len(asked),
                unanswered=sum(q.unanswered_gap for q in asked),
                thumbs_down=sum(q.thumbs_down for q in asked),
                last_asked=asked[0].asked_at,
                sample_comments=_comments(asked),
            )
        )
    return sorted(groups, key=lambda g: (-g.count, -g.last_asked.timestamp(), g.label))


def _comments(asked: list[_Question]) -> list[str]:
    ratings = sorted(
        (q.feedback for q in asked if q.thumbs_down and q.feedback is not None),
        key=lambda rating: rating.created_at,
        reverse=True,
    )
    comments: list[str] = []
    for rating in ratings:
        for text in (rating.comment, rating.suggestion and f"suggested: {rating.suggestion}"):
            if text and text not in comments:
                comments.append(text)
    return comments[:MAX_SAMPLE_COMMENTS]


def _cosine(left: list[float], right: list[float]) -> float:
    norms = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return sum(a * b for a, b in zip(left, right, strict=True)) / norms if norms else 0.0
