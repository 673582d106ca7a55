"""Checking that each answer sentence is supported by the passages it cites."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from assistant.protocols import SupportChecker
from assistant.records import AnswerSentence, DraftAnswer, Passage, SupportVerdict
from knowledge.embedder import Embedder

# Numbers with their units, codes (P0420, 24V210, TSB-HV-23-014) and part numbers.
FACT = re.compile(
    r"[A-Z]{1,5}(?:-[A-Z0-9]+)+|[A-Z]*\d+[A-Z]+[A-Z0-9]*|[A-Z]+\d+[A-Z0-9]*|\d+(?:[.,]\d+)*",
)


CAMPAIGN_WITH_DASH = re.compile(r"\b(\d{2}[VETC])-(\d{3})\b", re.IGNORECASE)


def facts(text: str) -> set[str]:
    """Every number, code and part number in the text, normalised for comparison."""
    text = CAMPAIGN_WITH_DASH.sub(r"\1\2", text)  # 24V-210 and 24V210 are one campaign
    return {match.replace(",", "").upper() for match in FACT.findall(text)}


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\|", " ", re.sub(r"\*\*|__|`", "", text))).strip().lower()


class DeterministicSupportChecker:
    """Supported = every fact of the sentence is in the cited text, and the sentence means the
    same as the cited text (quoted verbatim, or embedding similarity above a threshold).

        checker = DeterministicSupportChecker(embedder, min_similarity=0.5)
        checker.run("Inflate the tires to 36 psi.", [passage]).supported
    """

    def __init__(self, embedder: Embedder, *, min_similarity: float = 0.5) -> None:
        self._embedder = embedder
        self._min_similarity = min_similarity

    def run(self, sentence: str, cited: list[Passage]) -> SupportVerdict:
        if not cited:
            return SupportVerdict(False, 0.0, "cites no passage")
        cited_text = "\n".join(passage.text for passage in cited)
        # A step's own number ("3. Press ...") is the answer's numbering, not a fact to check.
        body = re.sub(r"^\d+\.\s+", "", sentence)
        missing = facts(body) - facts(cited_text)
        if missing:
            return SupportVerdict(
                False, 0.0, f"{', '.join(sorted(missing))} not in the cited passage"
            )
        if _normalised(body) in _normalised(cited_text):
            return SupportVerdict(True, 1.0, "quoted from the cited passage")
        if _is_quoted_row(body, cited_text):
            return SupportVerdict(True, 1.0, "a table row of the cited passage, with its header")
        vectors = self._embedder.embed_documents([body, *(p.text for p in cited)])
        similarity = max(
            sum(a * b for a, b in zip(vectors[0], vector, strict=True)) for vector in vectors[1:]
        )
        if similarity < self._min_similarity:
            return SupportVerdict(
                False, similarity, f"similarity {similarity:.2f} to the cited passage is too low"
            )
        return SupportVerdict(True, similarity, "paraphrases the cited passage")


def _is_quoted_row(sentence: str, cited_text: str) -> bool:
    """'Tire: Front; Pressure: 36 psi': every header and cell is a cell of the cited table."""
    pairs = [part.split(": ", 1) for part in sentence.split("; ")]
    if len(pairs) < 2 or any(len(pair) != 2 for pair in pairs):
        return False
    cells = {
        _normalised(cell)
        for line in cited_text.split("\n")
        if line.lstrip().startswith("|")
        for cell in line.strip().strip("|").split("|")
    }
    return all(_normalised(name) in cells and _normalised(value) in cells for name, value in pairs)


@dataclass
class SupportedAnswer:
    """The draft after checking: unsupported sentences re-cited or dropped, with the verdicts."""

    draft: DraftAnswer
    checked: int
    supported: int
    dropped: list[str]


def enforce_support(draft: DraftAnswer, checker: SupportChecker) -> SupportedAnswer:
    """Keeps sentences their citations support; tries the other passages before dropping one."""
    kept: list[AnswerSentence] = []
    dropped: list[str] = []
    for sentence in draft.sentences:
        cited = [draft.passages[n - 1] for n in sentence.citations if 0 < n <= len(draft.passages)]
        if cited and checker.run(sentence.text, cited).supported:
            kept.append(sentence)
            continue
        for number, passage in enumerate(draft.passages, 1):
            if number not in sentence.citations and checker.run(sentence.text, [passage]).supported:
                kept.append(AnswerSentence(sentence.text, [number]))
                break
        else:
            dropped.append(sentence.text)
    # A unit is quoted whole or not at all: one unsupported line drops its whole unit.
    broken = {s.unit for s in draft.sentences if s.unit is not None and s.text in dropped}
    if broken:
        dropped += [s.text for s in kept if s.unit in broken]
        kept = [s for s in kept if s.unit not in broken]
    return SupportedAnswer(
        replace(draft, sentences=kept),
        len(draft.sentences),
        len(kept),
        dropped,
    )
