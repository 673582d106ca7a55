"""Recall lookup: the recall notices in the knowledge base that affect one vehicle."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from assistant.records import AnswerSentence, Channel, DraftAnswer, Passage, Vehicle
from assistant.retrieval import AccessFilter
from knowledge.filters import AllOf, ChunkFilter, Equals
from knowledge.keywords import IndexedChunk

RECALL_QUESTION = re.compile(
    # Typed as drivers and agents type it: 'recals', 'reacll', 'what's open on it'.
    r"\b(recall(s|ed)?|recals?|reacll?s?|open (recalls?|campaigns?)"
    r"|(anything|what'?s|what is|whats) (still )?open)\b",
    re.IGNORECASE,
)
CAMPAIGN_NUMBER = re.compile(r"\b\d{2}[- ]?[VETC][- ]?\d{3}(\d{3})?\b", re.IGNORECASE)
"""'24V210', '24V-210', '24v 210', '24V210000' (as an owner's letter prints it)."""
# How recalls work rather than which ones a car has: answered from the FAQs, no vehicle needed.
ABOUT_RECALLS_IN_GENERAL = re.compile(
    r"\b(how (can|do|would|should) i|what does|means?|meaning|free|costs?|pay|parts?"
    r"|how long|why)\b",
    re.IGNORECASE,
)
HOW_TO = re.compile(r"\bhow (can|do|would|should) i\b", re.IGNORECASE)
# "Any recalls for my Roadster? Which parts?": asking for the list wins over the general words.
ASKS_FOR_THE_LIST = re.compile(
    r"\b((any|open|outstanding|which|what) (safety )?recalls|is there a recall"
    r"|(been|was|is it|it) recalled)\b",
    re.IGNORECASE,
)
RECALL_NOTICES = Equals("kind", "recall_notice")
URGENT_LINES = ("NHTSA recall campaign", "Consumer advisory:", "Remedy:")
"""What an owner must hear first about a do-not-drive or park-outside recall."""
RECALL_LINES = (
    "NHTSA recall campaign",
    "Vehicles:",
    "Component:",
    "Summary:",
    "Consumer advisory:",
    "Consequence:",
    "Remedy:",
)


def is_recall_lookup(question: str) -> bool:
    """'Is there a recall on my car?': list one vehicle's recalls.

    Not a question about one campaign number ('what does 22V174 fix?') and not one about
    recalls in general ('is the recall repair free?'): those are answered from the passages.
    """
    if not RECALL_QUESTION.search(question) or names_a_campaign(question):
        return False
    if HOW_TO.search(question):
        return False
    return bool(ASKS_FOR_THE_LIST.search(question)) or not ABOUT_RECALLS_IN_GENERAL.search(question)


def names_a_campaign(question: str) -> bool:
    """A campaign number picks its own vehicles, so the asker's vehicle is not needed."""
    return bool(CAMPAIGN_NUMBER.search(question))


# Words that ask what a campaign is, not something particular about it ("do I have to pay?").
_WHAT_IS_IT_WORDS = re.compile(
    r"\b(what['’]s|whats|what|is|it|this|the|a|recall|campaign|number|about|tell|me|explain"
    r"|details?|info|information|summary|summari[sz]e|does|do|fix|fixes|for|on|please|of"
    # An agent's framing, and 'which vehicles does it cover': still what the campaign is.
    r"|customer|caller|cust|agent|here|is quoting|quoting|asking|asks|and|which|vehicles?"
    r"|models?|cover|covers|covered|affected|apply|applies|to|i|my|got|letter|notice|mean"
    r"|means)\b",
    re.IGNORECASE,
)


def campaign_named(question: str) -> str | None:
    """The short campaign number a question names ('24v-210000' gives '24V210'), if any."""
    match = CAMPAIGN_NUMBER.search(question)
    return re.sub(r"[- ]", "", match.group()).upper()[:6] if match else None


def asks_what_campaign_is(question: str) -> bool:
    """'What is recall 22V174 about?', not a narrower question about it ('do I pay?')."""
    rest = _WHAT_IS_IT_WORDS.sub(" ", CAMPAIGN_NUMBER.sub(" ", question))
    return names_a_campaign(question) and not re.search(r"\w", rest)


def affects(passage_metadata: Mapping[str, object], vehicle: Vehicle) -> bool:
    years = passage_metadata.get("model_years")
    if vehicle.year and isinstance(years, list) and years:
        return str(vehicle.year) in {str(year) for year in years}
    return True


NOTICE_LABELS = ("Vehicles", "Component", "Defect", "Consequence", "Remedy", "Notes")
_NOTICE_LABEL = re.compile(
    r"(?:^|(?<=\n)|(?<=[.!?\"'] ))(" + "|".join(NOTICE_LABELS) + r"): ", re.MULTILINE
)


def notice_sections(text: str) -> dict[str, str]:
    """A recall notice's labelled parts ('Consequence: ...' up to the next label), each whole
    across lines: a label may also start mid-line, after a sentence, as the feeds print it."""
    marks = list(_NOTICE_LABEL.finditer(text))
    sections: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = " ".join(text[mark.end() : end].split())
        sections.setdefault(mark.group(1), body)
    return sections


@dataclass(frozen=True)
class RecallNotice:
    opening: Passage
    """The notice's first chunk, as `recalls_for` lists it (and the chain cites it)."""
    text: str
    """The whole notice, its chunks in order."""

    @cached_property
    def _sections(self) -> dict[str, str]:
        return notice_sections(self.text)

    def section(self, label: str) -> str:
        return self._sections.get(label, "")


class ChunkFinder(Protocol):
    """Chunks found by their metadata alone, with their text (the keyword index does it from
    its own columns, without a pass over the vector store)."""

    def find(self, where: ChunkFilter) -> list[IndexedChunk]: ...

    def latest_value(self, field: str, where: ChunkFilter) -> Any: ...


class RecallLookup:
    """Lists a vehicle's recall notices, each with its consequence and remedy, cited."""

    def __init__(self, chunks: ChunkFinder) -> None:
        self._chunks = chunks
        self._through: str | None = None
        self._lock = threading.Lock()

    def recalls_for(self, vehicle: Vehicle, channel: Channel) -> list[Passage]:
        return _first_chunks(self._vehicle_chunks(vehicle, channel))

    def notices_for(self, vehicle: Vehicle, channel: Channel) -> list[RecallNotice]:
        """`recalls_for`, each with its whole text (the remedy is often in a later chunk)."""
        chunks = self._vehicle_chunks(vehicle, channel)
        whole: dict[str, list[str]] = {}
        for chunk in sorted(chunks, key=_reading_order):
            whole.setdefault(chunk.document_id, []).append(chunk.text)
        return [
            RecallNotice(passage, "\n".join(whole.get(passage.document_id, [passage.text])))
            for passage in _first_chunks(chunks)
        ]

    def _vehicle_chunks(self, vehicle: Vehicle, channel: Channel) -> list[IndexedChunk]:
        where = AllOf((RECALL_NOTICES, AccessFilter(channel, vehicle).chunk_filter()))
        return [
            chunk
            for chunk in self._chunks.find(where)
            if chunk.metadata.get("vehicle_scope") == "specific"
            and affects(chunk.metadata, vehicle)
        ]

    def data_through(self) -> str | None:
        """The latest date of any recall notice here: what 'no recall found' is as of."""
        with self._lock:  # read once, however many recall questions come first together
            if self._through is None:
                latest = self._chunks.latest_value("effective_date", RECALL_NOTICES)
                self._through = str(latest or "")
        return self._through or None

    def knows_campaign(self, campaign: str, channel: Channel) -> bool:
        return bool(self._campaign_chunks(campaign, channel))

    def _campaign_chunks(self, campaign: str, channel: Channel) -> list[IndexedChunk]:
        access = AccessFilter(channel, None).chunk_filter()
        where = AllOf((RECALL_NOTICES, Equals("campaign_short", campaign), access))
        return self._chunks.find(where)

    def campaign(self, campaign: str, channel: Channel) -> DraftAnswer:
        """One campaign's notices (one per model it covers): each line once, citing all."""
        passages = _first_chunks(self._campaign_chunks(campaign, channel))
        cited_by: dict[str, list[int]] = {}
        for number, passage in enumerate(passages, 1):
            for line in notice_lines(passage):
                cited_by.setdefault(line, []).append(number)
        order = {prefix: rank for rank, prefix in enumerate(RECALL_LINES)}
        lines = sorted(
            cited_by, key=lambda line: order[next(p for p in RECALL_LINES if line.startswith(p))]
        )
        return DraftAnswer([AnswerSentence(line, cited_by[line]) for line in lines], passages)


SUMMARY_LINES = ("NHTSA recall campaign", "Component:", "Consumer advisory:")
"""What a recall other than the one asked about shows in a listing: which and how urgent."""


def listing(notices: list[Passage], question: str = "") -> DraftAnswer:
    """'Is there a recall on my car?': the recall the question is about (its component or
    symptom), else a do-not-drive one, else the newest, in full; the others in a line or two
    each (campaign, component, advisory). Every line is the notice's own, cited."""
    ordered = rank_for_question(notices, question)
    sentences = [
        AnswerSentence(line, [number], unit=number)
        for number, passage in enumerate(ordered, 1)
        for line in notice_lines(passage, RECALL_LINES if number == 1 else SUMMARY_LINES)
    ]
    return DraftAnswer(sentences, ordered, listed=len(ordered) > 1)


_NOTICE_WORDS = frozenset(
    "recall recalls recalled any open my the a an on for is there it car vehicle about what"
    " which have has does do of to in with and or".split()
)


def rank_for_question(notices: list[Passage], question: str) -> list[Passage]:
    """Notices sharing the question's words ('fuel pump', 'rear camera') first; then those
    that say do not drive or park outside; then as given (newest first)."""
    words = {
        word[:5] for word in re.findall(r"[a-z]{3,}", question.lower()) if word not in _NOTICE_WORDS
    }

    def key(item: tuple[int, Passage]) -> tuple[int, int, int]:
        index, passage = item
        text_words = {word[:5] for word in re.findall(r"[a-z]{3,}", passage.text.lower())}
        urgent_first = (
            0 if passage.metadata.get("do_not_drive") or passage.metadata.get("park_outside") else 1
        )
        return (-len(words & text_words), urgent_first, index)

    return [passage for _, passage in sorted(enumerate(notices), key=key)]


def listing_lead(draft: DraftAnswer, vehicle_label: str) -> str:
    """'3 recalls for the 2024 Acme Roadster (1 says do not drive):', the header of a listing
    of more than one (each recall below it is cited); '' for one."""
    notices = draft.passages
    if len(notices) < 2:
        return ""
    notes = []
    for flag, advice in (("do_not_drive", "do not drive"), ("park_outside", "park outside")):
        count = sum(bool(p.metadata.get(flag)) for p in notices)
        if count:
            notes.append(f"{count} say{'s' if count == 1 else ''} {advice}")
    detail = f" ({', '.join(notes)})" if notes else ""
    return f"{len(notices)} recalls for the {vehicle_label}{detail}:"


def urgent(notices: list[Passage]) -> list[Passage]:
    """Recalls that tell the owner not to drive the vehicle or to park it outside."""
    return [
        passage
        for passage in notices
        if passage.metadata.get("do_not_drive") or passage.metadata.get("park_outside")
    ]


def notice_lines(passage: Passage, prefixes: tuple[str, ...] = RECALL_LINES) -> list[str]:
    """The lines of a recall notice that start with one of `prefixes`, in notice order."""
    return [line.strip() for line in passage.text.split("\n") if line.startswith(prefixes)]


def _first_chunks(chunks: list[IndexedChunk]) -> list[Passage]:
    """Each document's opening chunk (campaign, vehicles, advisory, remedy), newest first."""
    first_chunk_per_document: dict[str, Passage] = {}
    for chunk in sorted(chunks, key=_reading_order):
        first_chunk_per_document.setdefault(
            chunk.document_id, Passage(chunk.id, chunk.text, chunk.metadata, 1.0)
        )
    return sorted(
        first_chunk_per_document.values(),
        key=lambda p: str(p.metadata.get("effective_date", "")),
        reverse=True,
    )


def _reading_order(chunk: IndexedChunk) -> tuple[str, str]:
    return chunk.document_id, str(chunk.metadata.get("position", 0)).zfill(6)
