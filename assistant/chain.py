"""The answering chain: a question in, a cited answer or an escalation to a human out."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.calibration import AnswerEvidence, ConfidenceModel
from assistant.decision import AnswerFacts, Decision, RoutingFacts, decide, route
from assistant.escalation import PATTERN_SAFETY, Trigger, message_triggers
from assistant.extractive import content_terms, stem
from assistant.protocols import (
    AnswerGenerator,
    HistoryTurn,
    QueryRewriter,
    Retriever,
    SessionStore,
    SupportChecker,
    TicketStore,
)
from assistant.recalls import (
    URGENT_LINES,
    RecallLookup,
    asks_what_campaign_is,
    campaign_named,
    is_recall_lookup,
    listing,
    listing_lead,
    names_a_campaign,
    notice_lines,
)
from assistant.recalls import urgent as urgent_among
from assistant.records import (
    AnswerSentence,
    Channel,
    ConversationSession,
    DraftAnswer,
    EscalationState,
    Passage,
    RetrievalQuery,
    RetrievalResult,
    Severity,
    Ticket,
    TicketDraft,
    TooManyOpenTickets,
    Vehicle,
    has_words,
    passage_evidence,
)
from assistant.retrieval import keyword_tokens
from assistant.safety import (
    SEVERE_CONSEQUENCE,
    SafetyDetector,
    asks_whether_safe_to_use,
)
from assistant.sections import SectionExpander
from assistant.support import SupportedAnswer, enforce_support
from assistant.vehicles import CatalogOnFirstUse, VehicleCatalog, describe_vehicle
from knowledge.errors import InputError
from knowledge.timing import StageTimer

SAFETY_LEAD = "If anyone is hurt or in danger, call {number} now."
NOTHING_TO_HAND_OVER = (
    "say what you need help with, so the person who takes the case knows what it is about"
)


@dataclass
class Citation:
    n: int
    source_id: str
    document_id: str
    title: str
    kind: str
    audience: str
    section: str
    page: int | None
    anchor: str | None
    vehicle: str | None
    effective_date: str | None
    quote: str
    score: float = 0.0
    """The passage's retrieval relevance (fused score, higher is better)."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Escalation:
    state: EscalationState
    reason: str
    severity: Severity
    ticket_id: str | None

    @classmethod
    def of(cls, ticket: Ticket) -> Escalation:
        return cls(ticket.state, ticket.reason, ticket.severity, ticket.reference)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "reason": self.reason,
            "severity": self.severity.value,
            "ticket_id": self.ticket_id,
        }


ReplyOutcome = Literal[
    "answered",
    "unanswered",
    "asked_for_vehicle",
    "not_a_question",
    "handed_off",
    "out_of_scope",
    "with_person",
]
"""What a reply did with its question; insights count only `unanswered` as a knowledge gap."""


@dataclass
class AssistantReply:
    """What the asker sees, with what a script or the console needs to show where it came from."""

    answer: str
    session_id: str
    citations: list[Citation] = field(default_factory=list)
    confidence: float = 0.0
    escalation: Escalation | None = None
    abstained: bool = False
    asked_for_vehicle: bool = False
    vehicle: Vehicle | None = None
    standalone_question: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    evidence: AnswerEvidence | None = None
    """What the confidence was computed from (for evals and calibration; never shown)."""
    outcome: ReplyOutcome | None = None
    """Set by the replies that are not judged by citations (asked for the vehicle, handed to a
    person); otherwise `answered` or `unanswered` from citations and abstention."""

    @property
    def settled_outcome(self) -> ReplyOutcome:
        if self.outcome is not None:
            return self.outcome
        return "answered" if self.citations and not self.abstained else "unanswered"

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "citations": [citation.to_json() for citation in self.citations],
            "confidence": self.confidence,
            "escalation": self.escalation.to_json() if self.escalation else None,
            "abstained": self.abstained,
            "asked_for_vehicle": self.asked_for_vehicle,
            "session_id": self.session_id,
            "vehicle": self.vehicle.__dict__ if self.vehicle else None,
            "standalone_question": self.standalone_question,
            "timings_ms": {stage: round(ms, 1) for stage, ms in self.timings_ms.items()},
        }


WITH_A_PERSON = (EscalationState.WAITING_FOR_HUMAN, EscalationState.HUMAN)
"""Session states in which the asker's messages go to a person, not to the bot."""

ANSWER_PIECES = re.compile(r"(?<=\])(?=\s)|(?<=\n)(?=\S)")
"""Where a streamed answer is cut: after a sentence's citation marks, and at line starts."""


@dataclass(frozen=True)
class Suggestion:
    """A reply drafted for an agent to edit and send: public sources only, never recorded."""

    answer: str
    citations: list[Citation]
    confidence: float


@dataclass(frozen=True)
class ReplyEvent:
    """One step of a streamed reply: `status` (a stage started; `text` is its name), `delta`
    (the next piece of the answer text), `reply` (the whole reply, last)."""

    kind: Literal["status", "delta", "reply"]
    text: str = ""
    reply: AssistantReply | None = None


@dataclass(frozen=True)
class ChainPolicy:
    """The thresholds the chain decides with; from settings."""

    k: int = 6
    answer_threshold: float = 0.5
    max_failed_answers: int = 2
    handoff_message: str = "A member of our Customer Care team will pick this up here shortly."


@dataclass
class _Turn:
    """What one question of a conversation gathers on its way to a reply."""

    question: str
    channel: Channel
    session_id: str
    session: ConversationSession
    history: list[HistoryTurn]
    other_make: str | None
    vehicle: Vehicle | None
    mentioned: Vehicle | None
    """The vehicle the question itself names (found once: a large catalogue makes it costly)."""
    topic_of: Callable[[str], str]
    triggers: list[Trigger] = field(default_factory=list)
    standalone: str = ""
    recall_lookup: bool = False
    campaign: str | None = None
    notices: list[Passage] | None = None
    urgent: list[Passage] = field(default_factory=list)
    _topics: dict[str, str] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        """The question without its vehicle words: those steer the filter, not the wording."""
        if self.standalone not in self._topics:
            self._topics[self.standalone] = self.topic_of(self.standalone)
        return self._topics[self.standalone]

    @property
    def lists_recalls(self) -> bool:
        return self.recall_lookup and self.vehicle is not None and bool(self.vehicle.model)


class Assistant:
    """Answers one message of a conversation.

    reply = assistant.ask("How do I reset the TPMS light?", channel=Channel.DRIVER,
                          vehicle_text="Roadster 2022")
    reply.answer, reply.citations, reply.escalation
    """

    def __init__(
        self,
        *,
        retriever: Retriever,
        generator: AnswerGenerator,
        support_checker: SupportChecker,
        rewriter: QueryRewriter,
        sessions: SessionStore,
        tickets: TicketStore,
        catalog: VehicleCatalog | CatalogOnFirstUse,
        recalls: RecallLookup,
        policy: ChainPolicy,
        confidence: ConfidenceModel,
        sections: SectionExpander | None = None,
        safety: SafetyDetector = PATTERN_SAFETY,
    ) -> None:
        self._retriever = retriever
        self._safety = safety
        self._generator = generator
        self._support = support_checker
        self._rewriter = rewriter
        self._sessions = sessions
        self._tickets = tickets
        self._catalog = catalog
        self._recalls = recalls
        self._policy = policy
        self._sections = sections
        self._confidence = confidence

    @property
    def sessions(self) -> SessionStore:
        return self._sessions

    @property
    def catalog(self) -> VehicleCatalog:
        catalog = self._catalog
        return catalog.get() if isinstance(catalog, CatalogOnFirstUse) else catalog

    @property
    def safety(self) -> SafetyDetector:
        return self._safety

    @property
    def retriever(self) -> Retriever:
        """The retriever answers come from (`glovebox bench scale` times it on its own)."""
        return self._retriever

    @property
    def recalls(self) -> RecallLookup:
        return self._recalls

    def ask(
        self,
        question: str,
        *,
        channel: Channel,
        session_id: str | None = None,
        vehicle_text: str | None = None,
        vin: str | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> AssistantReply:
        question = question.strip()
        if not has_words(question):
            raise InputError(
                "question", "the question has no words in it; type what you want to know"
            )
        clock = StageTimer(on_start=on_stage)
        with clock("session"):
            turn = self._open_turn(question, channel, session_id, vehicle_text, vin)
        if turn.session.open_ticket_id is not None and turn.session.state in WITH_A_PERSON:
            self._set_triggers(turn, clock)
            return self._pass_to_person(turn, clock)
        with clock("rewrite"):
            turn.standalone = self._rewriter.run(question, turn.history[-6:])
        turn.recall_lookup = is_recall_lookup(turn.standalone)
        turn.campaign = campaign_named(turn.standalone)
        if turn.vehicle is not None and turn.vehicle.is_known:
            with clock("recall_check"):
                turn.notices = self._recalls.recalls_for(turn.vehicle, turn.channel)
        self._set_triggers(turn, clock)
        if turn.notices is not None:
            self._check_recalls(turn)
        reply = AssistantReply(
            "", turn.session_id, vehicle=turn.vehicle, standalone_question=turn.standalone
        )
        routed = route(self._routing_facts(turn))
        if routed is not None and routed.action != "hand_to_person":
            return self._finish_routed(reply, clock, routed, turn.other_make, turn.campaign)
        with clock("retrieve"):
            draft, retrieval, from_lookup = self._retrieve(turn)
        if routed is not None:  # a person is needed: the ticket still gets the passages
            reply.answer = "I'm passing this conversation to a person."
            reply.outcome = "handed_off"
            with clock("escalate"):
                reply.escalation = self._escalate(
                    reply, turn.triggers[0], turn.session_id, retrieval, turn.vehicle
                )
            return self._finish(reply, clock)
        if not draft.sentences and self._sections is not None and retrieval.passages:
            with clock("sections"):
                # Chunks read back as whole sections, so a chunked procedure is quoted whole.
                draft = DraftAnswer([], self._sections.run(retrieval.passages))
        early = decide(
            AnswerFacts(
                triggers=turn.triggers,
                states_only_a_vehicle=turn.vehicle is not None
                and self._states_only_a_vehicle(question, turn.mentioned),
                needs_vehicle=self._needs_vehicle(turn.vehicle, turn.topic, retrieval.passages),
                no_recall_found=turn.lists_recalls and not draft.passages,
            )
        )
        if early.action in ("acknowledge", "ask_for_vehicle") or early.reason == "no_recall_found":
            return self._finish_without_answer(reply, clock, early)
        return self._answer(reply, clock, turn, draft, retrieval, from_lookup)

    def suggest(
        self, message: str, *, vehicle: Vehicle | None, history: list[tuple[str, str]]
    ) -> Suggestion | None:
        """What the knowledge base would answer the customer's message, for the agent who has
        the conversation. Nothing is recorded, nothing escalates; None if nothing supports one."""
        standalone = self._rewriter.run(message, history[-6:])
        topic = self._without_vehicle(standalone)
        query = RetrievalQuery(standalone, Channel.DRIVER, _filterable(vehicle), self._policy.k)
        retrieval = self._retriever.run(query)
        if not retrieval.passages:
            return None
        passages = retrieval.passages
        if self._sections is not None:
            passages = self._sections.run(passages)
        checked = enforce_support(self._generator.run(topic, passages, history[-6:]), self._support)
        if not checked.draft.sentences:
            return None
        evidence = answer_evidence(topic, retrieval, checked, self._retriever.rarity)
        answer, citations = _render(checked.draft)
        return Suggestion(answer, citations, round(self._confidence.probability(evidence), 2))

    def _pass_to_person(self, turn: _Turn, clock: StageTimer) -> AssistantReply:
        """A person has the conversation (or is about to): the message is theirs to answer.
        The bot says nothing; the ticket shows a new message, raised to critical if it is a
        safety case."""
        assert turn.session.open_ticket_id is not None
        urgent = any(trigger.reason == "safety" for trigger in turn.triggers)
        with clock("to_person"):
            ticket = self._tickets.note_asker_message(turn.session.open_ticket_id, urgent=urgent)
        reply = AssistantReply(
            "", turn.session_id, vehicle=turn.vehicle, escalation=Escalation.of(ticket),
            outcome="with_person",
        )  # fmt: skip
        return _timed(reply, clock)  # no assistant turn: the bot said nothing

    def _open_turn(
        self,
        question: str,
        channel: Channel,
        session_id: str | None,
        vehicle_text: str | None,
        vin: str | None,
    ) -> _Turn:
        """The conversation this question belongs to, its vehicle, and the question recorded."""
        session = self._session(session_id, channel)
        session_id = session.id
        mentioned = self.catalog.find_in_text(question)
        other_make = self._other_make(question, mentioned, vehicle_text, session.vehicle)
        vehicle = (
            session.vehicle
            if other_make
            else self._vehicle(session.vehicle, mentioned, vehicle_text, vin)
        )
        changed = vehicle if vehicle != session.vehicle else None
        self._sessions.add_turn(session_id, "user", question, vehicle=changed)
        return _Turn(
            question=question,
            channel=channel,
            session_id=session_id,
            session=session,
            history=[(t.role, t.text) for t in session.turns if t.role in ("user", "assistant")],
            other_make=other_make,
            vehicle=vehicle,
            mentioned=mentioned,
            topic_of=self._without_vehicle,
        )

    def _set_triggers(self, turn: _Turn, clock: StageTimer) -> None:
        """The turn's triggers, from the safety check of its question.

        The check runs on this thread: run beside the turn on another one, the semantic
        layer's embedding left a second OpenMP thread team competing with torch's for the two
        cores, and every torch call after it ran up to twice as long (answers were slower)."""
        with clock("safety"):
            safety = self._safety.detect(turn.question)
        turn.triggers = message_triggers(
            turn.question,
            safety,
            failed_answers=turn.session.failed_answers,
            max_failed_answers=self._policy.max_failed_answers,
        )

    def _check_recalls(self, turn: _Turn) -> None:
        """The vehicle's recall notices: an urgent one is told once, and is a person's case
        when the asker asks about recalls, not on every unrelated question."""
        assert turn.notices is not None
        open_recalls = urgent_among(turn.notices)
        turn.urgent = _not_yet_told(open_recalls, turn.session)
        self._safety_of_use(turn)
        if open_recalls and turn.recall_lookup and turn.session.open_ticket_id is None:
            severe = any(p.metadata.get("do_not_drive") for p in open_recalls)
            turn.triggers.insert(
                0,
                Trigger(
                    "do_not_drive_recall",
                    Severity.CRITICAL if severe else Severity.HIGH,
                    ", ".join(str(p.metadata.get("campaign_short")) for p in open_recalls),
                ),
            )

    def _safety_of_use(self, turn: _Turn) -> None:
        """'Is it safe to drive it?' of a vehicle with a recall whose consequence is fire, a
        crash, an injury or lost brakes or steering: a person answers, the recall told first."""
        if any(trigger.reason == "safety" for trigger in turn.triggers):
            return
        dangerous = [p for p in turn.notices or [] if SEVERE_CONSEQUENCE.search(p.text)]
        if dangerous and asks_whether_safe_to_use(turn.question):
            campaign = dangerous[0].metadata.get("campaign_short") or dangerous[0].title
            concern = f"asks to use a vehicle with an open recall ({campaign})"
            turn.triggers.insert(0, Trigger("safety", Severity.CRITICAL, concern))
            turn.urgent = [*dangerous, *(p for p in turn.urgent if p not in dangerous)]

    def _routing_facts(self, turn: _Turn) -> RoutingFacts:
        campaign, vehicle = turn.campaign, turn.vehicle
        unknown = campaign is not None and not self._recalls.knows_campaign(campaign, turn.channel)
        return RoutingFacts(
            triggers=turn.triggers,
            other_make=turn.other_make,
            unknown_campaign=campaign if unknown else None,
            # A recall listing for a model year no notice reaches is 'no recall found'.
            unknown_model_year=vehicle is not None
            and not turn.recall_lookup
            and not self.catalog.knows_model_year(vehicle),
            # Recall notices name models: a VIN whose model the profile cannot decode is no
            # vehicle to list recalls for.
            recall_lookup_without_vehicle=turn.recall_lookup and not (vehicle and vehicle.model),
            asker_is_agent=turn.channel is Channel.AGENT,
        )

    def _answer(
        self,
        reply: AssistantReply,
        clock: StageTimer,
        turn: _Turn,
        draft: DraftAnswer,
        retrieval: RetrievalResult,
        from_lookup: bool,
    ) -> AssistantReply:
        """Draft, check, measure, decide, and show what was decided."""
        safety = any(t.reason == "safety" for t in turn.triggers)
        with clock("generate"):
            if not draft.sentences:
                asked = f"What should I do? {turn.topic}" if safety else turn.topic
                draft = self._generator.run(asked, draft.passages, turn.history[-6:])
        with clock("support"):
            checked = enforce_support(draft, self._support)
        supported = checked.draft
        reply.evidence = answer_evidence(turn.topic, retrieval, checked, self._retriever.rarity)
        confidence = 1.0 if from_lookup else self._confidence.probability(reply.evidence)
        reply.confidence = confidence if supported.sentences else 0.0
        decision = decide(
            AnswerFacts(
                triggers=turn.triggers,
                supported=bool(supported.sentences),
                dropped_unsupported=bool(checked.dropped),
                confidence=reply.confidence,
                threshold=self._policy.answer_threshold,
            )
        )
        shown = supported if decision.show_answer else DraftAnswer([], supported.passages)
        if turn.urgent and not turn.recall_lookup:
            shown = _with_urgent_recalls(shown, turn.urgent)
        reply.answer, reply.citations = _render(shown)
        if turn.lists_recalls and decision.show_answer and reply.answer:
            lead = listing_lead(shown, describe_vehicle(turn.vehicle))
            reply.answer = f"{lead}\n{reply.answer}" if lead else reply.answer
        reply.abstained = decision.cannot_answer
        if reply.abstained:
            cannot = "I can't answer that from the service information I have."
            reply.answer = f"{reply.answer}\n\n{cannot}" if reply.answer else cannot
        if decision.escalation is not None:
            with clock("escalate"):
                reply.escalation = self._escalate(
                    reply, decision.escalation, turn.session_id, retrieval, turn.vehicle
                )
        return self._finish(reply, clock, answered=decision.action == "answer")

    def _retrieve(self, turn: _Turn) -> tuple[DraftAnswer, RetrievalResult, bool]:
        """The draft a lookup gives (a recall listing, a campaign), or the retrieved passages;
        and whether it came from a lookup."""
        vehicle, channel = turn.vehicle, turn.channel
        if turn.lists_recalls:
            assert vehicle is not None
            draft = listing(
                turn.notices
                if turn.notices is not None
                else self._recalls.recalls_for(vehicle, channel),
                turn.standalone,
            )
        elif turn.campaign is not None and asks_what_campaign_is(turn.standalone):
            draft = self._recalls.campaign(turn.campaign, channel)
        else:
            draft = DraftAnswer([], [])
        if draft.passages or turn.lists_recalls:
            return draft, RetrievalResult(draft.passages, 1.0, 0.0, 1.0), True
        retrieval = self._retriever.run(
            RetrievalQuery(turn.standalone, channel, _filterable(vehicle), self._policy.k)
        )
        return DraftAnswer([], retrieval.passages), retrieval, False

    def _states_only_a_vehicle(self, question: str, mentioned: Vehicle | None) -> bool:
        """'My car is a 2023 Roadster': a vehicle and nothing to answer."""
        rest = self._without_vehicle(question)
        return (
            mentioned is not None
            and bool(mentioned.model or mentioned.vin)  # the brand alone is no vehicle
            and len(content_terms(rest)) <= 1
            and not re.search(r"\d", rest)  # "P0420", "24V210"
            and not is_recall_lookup(question)
        )

    def _finish_routed(
        self,
        reply: AssistantReply,
        clock: StageTimer,
        decision: Decision,
        other_make: str | None,
        campaign: str | None,
    ) -> AssistantReply:
        if decision.reason == "out_of_scope":
            assert other_make is not None
            return self._finish_other_make(reply, clock, other_make)
        if decision.reason == "unknown_campaign":
            assert campaign is not None
            return self._finish_unknown_campaign(reply, clock, campaign)
        if decision.reason == "unknown_model_year":
            assert reply.vehicle is not None
            return self._finish_unknown_model_year(reply, clock, reply.vehicle)
        return self._finish_asking_vehicle(reply, clock, "recall")

    def _finish_without_answer(
        self, reply: AssistantReply, clock: StageTimer, decision: Decision
    ) -> AssistantReply:
        if decision.action == "acknowledge":
            reply.answer = (
                f"Noted: {describe_vehicle(reply.vehicle)}. What would you like to know about it?"
            )
            reply.outcome = "not_a_question"
            return self._finish(reply, clock)
        if decision.action == "ask_for_vehicle":
            return self._finish_asking_vehicle(reply, clock, "answer")
        through = self._recalls.data_through()
        where = f"the recall data I have (through {through})" if through else "what I have"
        reply.answer = (
            f"No recall found for the {describe_vehicle(reply.vehicle)} in {where}. Recalls are "
            "also listed by VIN on the NHTSA recall site (nhtsa.gov/recalls)."
        )
        reply.confidence = 1.0
        reply.outcome = "answered"
        return self._finish(reply, clock, answered=True)

    def stream(
        self,
        question: str,
        *,
        channel: Channel,
        session_id: str | None = None,
        vehicle_text: str | None = None,
        vin: str | None = None,
    ) -> Iterator[ReplyEvent]:
        """`ask`, as events: a `status` per stage while the answer is made, then the answer in
        `delta`s (sentence by sentence, each already through the support check), then `reply`.

        Nothing reaches the asker before the support check and the confidence gate have
        decided, so no sentence is ever shown and then withdrawn.
        """
        events: queue.Queue[ReplyEvent | None] = queue.Queue()
        outcome: dict[str, AssistantReply | BaseException] = {}

        def answer() -> None:
            try:
                outcome["reply"] = self.ask(
                    question, channel=channel, session_id=session_id, vehicle_text=vehicle_text,
                    vin=vin, on_stage=lambda stage: events.put(ReplyEvent("status", stage)),
                )  # fmt: skip
            except BaseException as error:  # re-raised in the caller's thread below
                outcome["error"] = error
            finally:
                events.put(None)

        threading.Thread(target=answer, name="glovebox-answer", daemon=True).start()
        while (event := events.get()) is not None:
            yield event
        reply = outcome.get("reply")
        if not isinstance(reply, AssistantReply):
            error = outcome.get("error")
            raise error if isinstance(error, BaseException) else RuntimeError("no reply")
        for piece in ANSWER_PIECES.split(reply.answer):
            if piece:
                yield ReplyEvent("delta", piece)
        yield ReplyEvent("reply", reply=reply)

    def _session(self, session_id: str | None, channel: Channel) -> ConversationSession:
        """The conversation asked in, read once: a new one when `session_id` is None."""
        session = self._sessions.get_session(
            self._sessions.create_session(channel) if session_id is None else session_id
        )
        if session is None:
            raise InputError(
                "session", f"no session {session_id}; leave it out to start a new conversation"
            )
        if session.channel != channel:
            # An agent's answer (internal bulletins allowed) must never land in a driver's
            # conversation, nor a driver's question in an agent's.
            raise InputError(
                "session",
                f"{session_id} is a {session.channel} conversation, not {channel}; "
                "leave it out to start a new conversation",
            )
        return session

    def _vehicle(
        self,
        known: Vehicle | None,
        mentioned: Vehicle | None,
        vehicle_text: str | None,
        vin: str | None,
    ) -> Vehicle | None:
        """The conversation's vehicle after this message: the one known, the VIN and vehicle
        field given, and the vehicle the question mentions."""
        vehicle = known or Vehicle()
        if vin:
            vehicle = vehicle.merged_with(self.catalog.decode_vin(vin))
        if vehicle_text:
            stated = self.catalog.find_in_text(vehicle_text)
            if stated is None:
                close = self.catalog.model_choices(vehicle_text)
                raise InputError(
                    "vehicle",
                    f"I have no information on {vehicle_text!r}; give the "
                    f"{self.catalog.profile.vehicle_example}"
                    + (f" (close: {', '.join(close)})" if close else ""),
                )
            vehicle = vehicle.merged_with(stated)
        if mentioned is not None:
            if mentioned.model and vehicle.model and mentioned.model != vehicle.model:
                vehicle = Vehicle(make=mentioned.make or vehicle.make)  # another car: start over
            vehicle = vehicle.merged_with(mentioned)
        return vehicle if (vehicle.make or vehicle.model or vehicle.year) else known

    def _other_make(
        self,
        question: str,
        mentioned: Vehicle | None,
        vehicle_text: str | None,
        known: Vehicle | None,
    ) -> str | None:
        """Another maker's car ('my Toyota'), unless the conversation is about one of ours."""
        if vehicle_text and (make := self.catalog.other_make_in(vehicle_text)):
            return make
        if (known and known.model) or (mentioned and mentioned.model):
            return None
        return self.catalog.other_make_in(question, owned=True)

    def _without_vehicle(self, text: str) -> str:
        """The question's topic: vehicle words only steer the filter, not the wording."""
        return self.catalog.without_vehicle_words(text)

    @staticmethod
    def _needs_vehicle(vehicle: Vehicle | None, topic: str, passages: list[Passage]) -> bool:
        """Relevant top passages say the same thing differently for different vehicles."""
        if (vehicle is not None and vehicle.is_known) or names_a_campaign(topic):
            return False
        top = passages[:3]
        if not top or top[0].metadata.get("vehicle_scope") == "general":
            return False
        if _coverage(topic, top[:1]) < 0.5:
            return False  # not about this at all: let the confidence check decide
        by_section: dict[str, set[str]] = {}
        for passage in top:
            if passage.metadata.get("vehicle"):
                section = passage.section.split(" > ")[-1] or passage.title
                by_section.setdefault(section, set()).add(str(passage.metadata["vehicle"]))
        return any(len(vehicles) >= 2 for vehicles in by_section.values())

    def _finish_asking_vehicle(
        self, reply: AssistantReply, clock: StageTimer, purpose: str
    ) -> AssistantReply:
        models = self.catalog.choices_phrase(reply.standalone_question)
        known = f" (so far I have: {describe_vehicle(reply.vehicle)})" if reply.vehicle else ""
        reply.answer = (
            f"Which vehicle is it{known}? The answer differs by model and model year: "
            f"tell me the model{models} and year, or the 17-character VIN."
        )
        if purpose == "recall" and reply.vehicle is not None and reply.vehicle.vin:
            reply.answer = (
                f"The VIN tells me only this much: {describe_vehicle(reply.vehicle)}. Recall "
                f"notices are by model: which model is it{models}?"
            )
        elif purpose == "recall":
            reply.answer = (
                f"Which vehicle should I check for recalls{known}? Tell me the model{models} "
                "and year, or the 17-character VIN."
            )
        reply.asked_for_vehicle = True
        reply.outcome = "asked_for_vehicle"
        return self._finish(reply, clock)

    def _finish_unknown_model_year(
        self, reply: AssistantReply, clock: StageTimer, vehicle: Vehicle
    ) -> AssistantReply:
        first, last = self.catalog.model_years(vehicle.model or "") or (0, 0)
        text = (
            f"I have no service information for the {describe_vehicle(vehicle)}: for the "
            f"{vehicle.model} it covers model years {first}–{last}. Please check the model "
            "year (on the driver-door jamb label, or the 10th character of the VIN)."
        )
        return self._finish_abstaining(reply, clock, text, "asked_for_vehicle")

    def _finish_other_make(
        self, reply: AssistantReply, clock: StageTimer, other_make: str
    ) -> AssistantReply:
        text = (
            f"I have no information on the {other_make}: what I have covers "
            f"{self.catalog.coverage_summary()}. Its maker or dealer has the right information."
        )
        return self._finish_abstaining(reply, clock, text, "out_of_scope")

    def _finish_unknown_campaign(
        self, reply: AssistantReply, clock: StageTimer, campaign: str
    ) -> AssistantReply:
        text = (
            f"I have no recall notice for campaign {campaign}. Please check the number on the "
            "recall letter (it looks like 24V210), or tell me the model and year or the VIN "
            "and I'll list that vehicle's recalls."
        )
        return self._finish_abstaining(reply, clock, text)

    def _finish_abstaining(
        self,
        reply: AssistantReply,
        clock: StageTimer,
        text: str,
        outcome: ReplyOutcome | None = None,
    ) -> AssistantReply:
        """A reply that is not from the sources: it says why, and what would help."""
        reply.answer = text
        reply.abstained = True
        if outcome is not None:
            reply.outcome = outcome
        if outcome == "asked_for_vehicle":
            reply.asked_for_vehicle = True
        return self._finish(reply, clock)

    def hand_to_person(self, session_id: str, message: str = "") -> Escalation:
        """The asker pressed "talk to a person": open (or reuse) the session's ticket."""
        session = self._sessions.get_session(session_id)
        if session is None:
            raise InputError("session", f"no session {session_id}; start a new conversation")
        message = message.strip()
        if message and not has_words(message):
            raise InputError("message", "the message has no words in it; say what you need")
        questions = [t.text for t in session.turns if t.role == "user"]
        if not message and not questions and session.open_ticket_id is None:
            raise InputError("message", NOTHING_TO_HAND_OVER)
        if message:
            self._sessions.add_turn(session_id, "user", message)
            session = self._sessions.get_session(session_id) or session
            questions.append(message)
        replies = [t.text for t in session.turns if t.role == "assistant"]
        ticket = self._tickets.open_ticket(
            TicketDraft(
                session_id=session_id,
                channel=session.channel,
                reason="human_requested",
                severity=Severity.MEDIUM,
                summary="asked for a person: "
                + (questions[-1][:160] if questions else "(no question yet)"),
                assistant_said=replies[-1] if replies else "",
                vehicle=session.vehicle,
                transcript=session.transcript(),
                passages=last_answers_sources(session),
            ),
            reuse_open=True,
        )
        return Escalation.of(ticket)

    def _escalate(
        self,
        reply: AssistantReply,
        trigger: Trigger,
        session_id: str,
        retrieval: RetrievalResult,
        vehicle: Vehicle | None,
    ) -> Escalation | None:
        """The case handed to a person (a ticket), or None when the asker's address already
        has as many open cases as it may: the reply then names them."""
        session = self._sessions.get_session(session_id)
        assert session is not None
        if session.channel is Channel.AGENT:
            return self._flag_to_agent(reply, trigger)
        number = self.catalog.profile.emergency_number
        lead = SAFETY_LEAD.format(number=number) if trigger.reason == "safety" else ""
        said = _joined(reply.answer, lead, self._policy.handoff_message)
        quotes = {c.source_id: c.quote for c in reply.citations}
        draft = TicketDraft(
            session_id=session_id,
            channel=session.channel,
            reason=trigger.reason,
            severity=trigger.severity,
            summary=f"{trigger.reason.replace('_', ' ')} ({trigger.detail}): "
            f"{reply.standalone_question[:160]}",
            assistant_said=said,
            vehicle=vehicle,
            transcript=session.transcript(),
            passages=[passage_evidence(p, quotes.get(p.chunk_id)) for p in retrieval.passages],
        )
        try:
            ticket = self._tickets.open_ticket(draft, reuse_open=True)
        except TooManyOpenTickets as full:
            # The safety lead (the emergency number) is still said; no new case is opened, so
            # a routed reply's "passing this to a person" is not.
            answer = "" if reply.outcome == "handed_off" else reply.answer
            reply.answer = _joined(answer, lead, f"{full}.")
            return None
        reply.answer = f"{said} Your reference is {ticket.reference}."
        return Escalation.of(ticket)

    def _flag_to_agent(self, reply: AssistantReply, trigger: Trigger) -> Escalation:
        """On the agent channel the asker is the person a ticket would go to: the case is
        flagged to them (state ai, no ticket), with what to tell the caller first when it is a
        safety case."""
        if trigger.reason == "safety":
            number = self.catalog.profile.emergency_number
            lead = f"Safety case: if anyone is hurt or in danger, the caller should call {number}."
            reply.answer = f"{lead}\n\n{reply.answer}" if reply.answer else lead
        return Escalation(EscalationState.AI, trigger.reason, trigger.severity, None)

    def _finish(
        self, reply: AssistantReply, clock: StageTimer, *, answered: bool | None = None
    ) -> AssistantReply:
        """The reply recorded as the assistant's turn; `answered` counts the turn's outcome
        toward the failed answers that hand a conversation to a person."""
        self._sessions.add_turn(
            reply.session_id,
            "assistant",
            reply.answer,
            {
                "citations": [c.to_json() for c in reply.citations],
                "confidence": reply.confidence,
                "abstained": reply.abstained,
                "asked_for_vehicle": reply.asked_for_vehicle,
                "outcome": reply.settled_outcome,
            },
            answered=answered,
        )
        return _timed(reply, clock)


def _joined(answer: str, lead: str, handoff: str) -> str:
    """The answer, then the safety lead and what happens next, as one paragraph."""
    told = " ".join(part for part in (lead, handoff) if part)
    return f"{answer}\n\n{told}" if answer else told


def _timed(reply: AssistantReply, clock: StageTimer) -> AssistantReply:
    reply.timings_ms = clock.milliseconds()
    reply.timings_ms["total"] = sum(reply.timings_ms.values())
    return reply


def last_answers_sources(session: ConversationSession) -> list[dict[str, Any]]:
    """The passages the last cited answer quoted, numbered as its [n] marks, so a ticket the
    asker opened ("talk to a person") resolves the transcript's footnotes."""
    for turn in reversed(session.turns):
        citations = (turn.payload or {}).get("citations") if turn.role == "assistant" else None
        if citations:
            return [
                {
                    "n": citation.get("n"),
                    "chunk_id": citation.get("source_id", ""),
                    "document_id": citation.get("document_id", ""),
                    "title": citation.get("title", ""),
                    "section": citation.get("section", ""),
                    "quote": citation.get("quote", ""),
                    "score": citation.get("score", 0.0),
                }
                for citation in citations
            ]
    return []


def _filterable(vehicle: Vehicle | None) -> Vehicle | None:
    if vehicle is None or not (vehicle.model or vehicle.year):
        return None
    return vehicle


def answer_evidence(
    topic: str,
    retrieval: RetrievalResult,
    checked: SupportedAnswer,
    rarity: Callable[[str], float],
) -> AnswerEvidence:
    """The measurements the confidence model reads, from the retrieval and the checked draft."""
    draft = checked.draft
    cited_numbers = [n for s in draft.sentences for n in s.citations]
    cited = [draft.passages[n - 1] for n in cited_numbers]
    terms = content_terms(topic)
    # The quoted unit's own heading is shown with it, and an FAQ answer never repeats the
    # question its heading asks: both count as what the answer says.
    headings = {p.section.split(" > ")[-1] for p in cited}
    answered = content_terms(" ".join([*(s.text for s in draft.sentences), *headings]))
    coverage = _coverage(topic, cited)
    weights = {stem(word): rarity(word) for word in keyword_tokens(topic)}
    weights = {term: weight for term, weight in weights.items() if term in terms}
    total = sum(weights.values())
    return AnswerEvidence(
        dense_top=retrieval.dense_top_similarity,
        agreement=retrieval.retriever_agreement,
        support=checked.supported / checked.checked if checked.checked else 0.0,
        coverage=coverage,
        answer_terms=len(terms & answered) / len(terms) if terms else 0.0,
        rare_answer_terms=(
            sum(w for term, w in weights.items() if term in answered) / total if total else 0.0
        ),
        match=min(1.0, draft.match_score) if draft.match_score is not None else coverage,
        cited_rank=1.0 / min(cited_numbers) if cited_numbers else 0.0,
    )


def _coverage(question: str, cited: list[Passage]) -> float:
    terms = content_terms(question)
    if not terms or not cited:
        return 0.0
    found = content_terms(" ".join(p.text + " " + p.title + " " + p.section for p in cited))
    return len(terms & found) / len(terms)


def _not_yet_told(urgent: list[Passage], session: ConversationSession) -> list[Passage]:
    """Urgent recalls the assistant has not already cited in this conversation."""
    told = {
        citation.get("document_id")
        for turn in session.turns
        if turn.role == "assistant" and turn.payload
        for citation in turn.payload.get("citations", [])
    }
    return [passage for passage in urgent if passage.document_id not in told]


def _with_urgent_recalls(draft: DraftAnswer, urgent: list[Passage]) -> DraftAnswer:
    """The asker's vehicle has a do-not-drive or park-outside recall: that comes first, cited."""
    passages = list(draft.passages)
    sentences: list[AnswerSentence] = []
    for recall in urgent:
        if recall.chunk_id not in {p.chunk_id for p in passages}:
            passages.append(recall)
        number = next(i for i, p in enumerate(passages, 1) if p.chunk_id == recall.chunk_id)
        sentences += [AnswerSentence(line, [number]) for line in notice_lines(recall, URGENT_LINES)]
    return DraftAnswer(sentences + draft.sentences, passages)


def _render(draft: DraftAnswer) -> tuple[str, list[Citation]]:
    """The answer text with citations renumbered 1..n in order of first use; a listed draft
    as a list, one item per unit, cited at its end."""
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    lines: list[str] = []
    for sentence in draft.sentences:
        marks = []
        for old in sentence.citations:
            if old not in numbering:
                numbering[old] = len(numbering) + 1
                citations.append(_citation(numbering[old], draft.passages[old - 1], sentence.text))
            marks.append(f"[{numbering[old]}]")
        lines.append(f"{sentence.text} {''.join(marks)}".strip())
    if draft.listed:
        return _as_list(draft.sentences, lines), citations
    steps = any(re.match(r"^\d+\.\s", line) for line in lines)
    return ("\n".join(lines) if steps else " ".join(lines)), citations


def _as_list(sentences: list[AnswerSentence], lines: list[str]) -> str:
    """One '- ' item per unit, its lines (each with its own citation) as one paragraph."""
    items: list[tuple[int | None, list[str]]] = []
    for sentence, line in zip(sentences, lines, strict=True):
        if items and sentence.unit is not None and items[-1][0] == sentence.unit:
            items[-1][1].append(line)
        else:
            items.append((sentence.unit, [line]))
    return "\n".join(f"- {' '.join(unit_lines)}" for _, unit_lines in items)


def _citation(number: int, passage: Passage, sentence: str) -> Citation:
    metadata = passage.metadata
    body = re.sub(r"^\d+\.\s+", "", sentence)
    quote = body if body.lower() in passage.text.lower() else passage.text[:300]
    page = metadata.get("page")
    return Citation(
        n=number,
        source_id=passage.chunk_id,
        document_id=passage.document_id,
        title=passage.title,
        kind=passage.kind,
        audience=str(metadata.get("audience", "")),
        section=passage.section,
        page=int(page) if isinstance(page, int) else None,
        anchor=str(metadata["anchor"]) if metadata.get("anchor") else None,
        vehicle=str(metadata["vehicle"]) if metadata.get("vehicle") else None,
        effective_date=str(metadata["effective_date"]) if metadata.get("effective_date") else None,
        quote=quote,
        score=round(passage.score, 4),
    )
