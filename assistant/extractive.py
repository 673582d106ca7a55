"""The default answer generator: picks the passages' own sentences and steps, cited. No LLM."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assistant.protocols import Turn
from assistant.records import AnswerSentence, DraftAnswer, Passage
from assistant.retrieval import keyword_tokens

STEP = re.compile(r"^\s*(\d+)[.)]\s+(.*)")
BULLET = re.compile(r"^\s*[-*+]\s+(.*)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
PROCEDURAL = re.compile(
    r"\b(how (do|can|should|would) (i|you|we)|how to|what (should|do) i do|what to do|steps?"
    r"|procedure|reset|pair|connect|replace|change|install|attach|jump|relearn|set up|setup"
    r"|program|turn (on|off)|activate)\b",
    re.IGNORECASE,
)
MAX_ITEMS_AFTER_COLON = 6
GENERIC_TERMS = frozenset(
    "halvard car vehicle please tell know need want get drive driving own have got".split()
)


@dataclass
class _Unit:
    passage_number: int
    position: int
    text: str
    is_step: bool
    score: float = 0.0
    is_item: bool = False
    """A bullet or table row: the continuation of a sentence that ends with a colon."""


def _stem(token: str) -> str:
    """Crude, but 'tires'/'tire' and 'pairing'/'pair' meet: enough for term overlap."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(token) > len(suffix) + 2 and token.endswith(suffix):
            token = token[: -len(suffix)]
            break
    return token[:-1] if len(token) > 3 and token.endswith("e") else token


def content_terms(text: str) -> set[str]:
    return {_stem(token) for token in keyword_tokens(text) if token not in GENERIC_TERMS}


def _clean(text: str) -> str:
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"^\s*[-*+]\s+", "", text)
    if text.lstrip().startswith("|"):
        cells = [cell.strip() for cell in text.strip().strip("|").split("|")]
        text = ": ".join(cell for cell in cells if cell and not set(cell) <= set("-: "))
    return re.sub(r"\s+", " ", text).strip()


def split_units(passage_number: int, text: str) -> list[_Unit]:
    """Numbered steps, bullets and table rows as they are; running text cut into sentences."""
    units: list[_Unit] = []
    paragraph: list[str] = []
    open_item: _Unit | None = None  # the step or bullet above, which a wrapped line continues

    def flush_paragraph() -> None:
        for sentence in SENTENCE_END.split(" ".join(paragraph)):
            if len(sentence.split()) >= 3:
                units.append(_Unit(passage_number, len(units), _clean(sentence), False))
        paragraph.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or set(stripped) <= set("|-: "):
            flush_paragraph()
            open_item = None
            continue
        step = STEP.match(line)
        if step:
            flush_paragraph()
            text_of_step = f"{step.group(1)}. {_clean(step.group(2))}"
            open_item = _Unit(passage_number, len(units), text_of_step, True)
            units.append(open_item)
        elif BULLET.match(line) or stripped.startswith("|"):
            flush_paragraph()
            open_item = None
            item = _clean(line)
            if item:
                units.append(_Unit(passage_number, len(units), item, False, is_item=True))
                if not stripped.startswith("|"):
                    open_item = units[-1]
        elif open_item is not None and (
            line[:1].isspace() or not open_item.text.endswith((".", "!", "?", ":", ";"))
        ):
            # A list item wrapped onto an indented line, or cut mid-sentence: one item still.
            open_item.text = f"{open_item.text} {_clean(stripped)}"
        else:
            open_item = None
            paragraph.append(stripped)
    flush_paragraph()
    return units


class ExtractiveGenerator:
    """Answers with the passages' own words: the steps of a procedure in order, or the few
    sentences that best match the question, each cited with its passage number.

        draft = ExtractiveGenerator().run("How do I reset the TPMS?", passages)
        draft.text  # "1. Inflate all four tires ... [1] 2. Press and hold ... [1]"
    """

    def __init__(
        self,
        *,
        max_sentences: int = 3,
        max_steps: int = 12,
        min_overlap: float = 0.34,
        passages_considered: int = 4,
    ) -> None:
        self._max_sentences = max_sentences
        self._max_steps = max_steps
        self._min_overlap = min_overlap
        self._passages_considered = passages_considered

    def run(
        self, question: str, passages: list[Passage], history: Sequence[Turn] = ()
    ) -> DraftAnswer:
        terms = content_terms(question)
        if not terms or not passages:
            return DraftAnswer([], passages)
        considered = passages[: self._passages_considered]
        units_by_passage = [split_units(number, p.text) for number, p in enumerate(considered, 1)]
        for passage, units in zip(considered, units_by_passage, strict=True):
            # An FAQ answer rarely repeats its question: the heading says what the text is about.
            heading = content_terms(f"{passage.title} {passage.section}")
            heading_overlap = len(terms & heading) / len(terms)
            for unit in units:
                unit.score = self._score(unit, terms, heading_overlap)
        if PROCEDURAL.search(question):
            procedure = self._procedure(units_by_passage, considered, terms)
            if procedure:
                return DraftAnswer(procedure, passages)
        candidates = [u for units in units_by_passage for u in units]
        best = max((u.score for u in candidates), default=0.0)
        # Only sentences nearly as relevant as the best one: a short answer beats a padded one.
        floor = max(self._min_overlap, best * 0.7)
        chosen = sorted(
            (u for u in candidates if u.score >= floor),
            key=lambda u: (-u.score, u.passage_number, u.position),
        )[: self._max_sentences]
        chosen = self._with_their_items(chosen, units_by_passage)
        chosen.sort(key=lambda u: (u.passage_number, u.position))
        return DraftAnswer(
            [AnswerSentence(unit.text, [unit.passage_number]) for unit in chosen], passages
        )

    def stream(
        self, question: str, passages: list[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[str | DraftAnswer]:
        draft = self.run(question, passages, history)
        for sentence in draft.sentences:
            yield sentence.text + "".join(f" [{n}]" for n in sentence.citations) + " "
        yield draft

    @staticmethod
    def _with_their_items(chosen: list[_Unit], units_by_passage: list[list[_Unit]]) -> list[_Unit]:
        """A sentence ending in a colon is only complete with the rows or bullets after it."""
        result = list(chosen)
        for unit in chosen:
            if not unit.text.endswith(":"):
                continue
            following = units_by_passage[unit.passage_number - 1][unit.position + 1 :]
            for item in following[:MAX_ITEMS_AFTER_COLON]:
                if not item.is_item:
                    break
                if item not in result:
                    result.append(item)
        return result

    @staticmethod
    def _score(unit: _Unit, terms: set[str], heading_overlap: float) -> float:
        overlap = len(terms & content_terms(unit.text)) / len(terms)
        return 0.6 * overlap + 0.4 * heading_overlap + 0.15 / unit.passage_number

    def _procedure(
        self, units_by_passage: list[list[_Unit]], passages: list[Passage], terms: set[str]
    ) -> list[AnswerSentence]:
        """The numbered steps of the best-matching passage that has any, in their order."""
        for number, units in enumerate(units_by_passage, 1):
            steps = [unit for unit in units if unit.is_step]
            if len(steps) < 2:
                continue
            heading_terms = content_terms(
                passages[number - 1].section + " " + passages[number - 1].text
            )
            if len(terms & heading_terms) / len(terms) < self._min_overlap:
                continue
            lead = [u for u in units if not u.is_step and u.position < steps[0].position]
            sentences = [
                AnswerSentence(u.text, [number]) for u in lead[-1:] if u.score >= self._min_overlap
            ]
            sentences += [AnswerSentence(step.text, [number]) for step in steps[: self._max_steps]]
            return sentences
        return []
