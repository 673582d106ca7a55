"""A passage's text cut into the units an answer may quote, each whole.

A unit is a procedure (its lead line and every step in order, with the notes under the
steps), a list with its lead, a warning, a table row read with its header, a sentence of
running text, or a whole FAQ answer. An answer quotes units, never a piece of one.

    units = split_units(1, passage.text, kind="owner_manual")
    [unit.kind for unit in units]  # ['sentence', 'procedure', 'warning']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

STEP = re.compile(r"^\s*(\d{1,2})[.)]\s+(.*)")
BULLET = re.compile(r"^\s*[-*+•]\s+(.*)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(“])")
WARNING_LEAD = re.compile(r"^\W*(WARNING|CAUTION|DANGER|NOTICE|IMPORTANT)\b\W*", re.IGNORECASE)
HEADER_MARK = "\x00"
"""Marks a table's header row: it labels the rows below it and is no unit of its own."""
MAX_FAQ_WORDS = 160
MAX_LIST_ITEMS = 12

UnitKind = Literal["sentence", "procedure", "list", "item", "warning", "row", "faq", "fragment"]


@dataclass
class Unit:
    """Whole lines to quote together; `lines[0]` of a procedure or list may be its lead."""

    passage_number: int
    position: int
    kind: UnitKind
    lines: list[str]
    score: float = 0.0
    steps: list[str] = field(default_factory=list)
    """A procedure's step lines, in order (for tests and completeness checks)."""

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def clean(text: str) -> str:
    """Markup off, a table row read as 'cell: cell', whitespace folded."""
    text = re.sub(r"\*\*|__|`", "", text)
    if text.lstrip().startswith("|"):
        cells = [cell.strip() for cell in text.strip().strip("|").split("|")]
        text = ": ".join(cell for cell in cells if cell and not set(cell) <= set("-: "))
    return re.sub(r"\s+", " ", text).strip()


def _is_separator(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) <= set("|-: ")


def _paragraphs(text: str) -> list[list[str]]:
    """Blank-line paragraphs; a table's header row (the row above its |---| line) left out."""
    lines = text.split("\n")
    paragraphs: list[list[str]] = [[]]
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.lstrip().startswith("|") and _is_separator(following):
            paragraphs[-1].append(HEADER_MARK + line.rstrip())
            continue
        if line.strip() and not _is_separator(line):
            paragraphs[-1].append(line.rstrip())
        elif line.strip() == "" and paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _is_list_line(line: str) -> bool:
    return bool(
        STEP.match(line) or BULLET.match(line) or line.lstrip().lstrip(HEADER_MARK).startswith("|")
    )


def _cells(row: str) -> list[str]:
    return [clean(cell) for cell in row.strip().lstrip(HEADER_MARK).strip().strip("|").split("|")]


def _labelled_row(row: str, header: list[str] | None) -> str:
    """'| 30,000 | 48 | Replace the air filter |' under 'Miles | Months | Service' as
    'Miles: 30,000; Months: 48; Service: Replace the air filter'."""
    cells = _cells(row)
    if not header or len(header) != len(cells) or not all(header):
        return clean(row)
    return "; ".join(f"{name}: {cell}" for name, cell in zip(header, cells, strict=True) if cell)


def _items(lines: list[str]) -> list[list[str]]:
    """List lines grouped into items: an item and its wrapped or indented lines below it.
    Running text after a finished item is an item of its own that is no list line."""
    items: list[list[str]] = []
    for line in lines:
        top = not line[:1].isspace() and _is_list_line(line)
        after_a_whole_line = bool(items) and items[-1][-1].rstrip().endswith((".", "!", "?"))
        prose = not line[:1].isspace() and not _is_list_line(line) and after_a_whole_line
        if top or prose or not items:
            items.append([line])
        else:
            items[-1].append(line)
    return items


def _item_text(item: list[str]) -> tuple[str, list[str]]:
    """The item's own line (marker normalised) and its notes."""
    head, notes = item[0], item[1:]
    step = STEP.match(head)
    if step:
        own = f"{step.group(1)}. {clean(step.group(2))}"
    else:
        bullet = BULLET.match(head)
        own = clean(bullet.group(1) if bullet else head)
    wrapped = [n for n in notes if not BULLET.match(n)]
    if wrapped:  # a wrapped item line, not a note: one line still
        own = f"{own} {' '.join(clean(n) for n in wrapped)}"
    return own, [f"- {clean(BULLET.match(n).group(1))}" for n in notes if BULLET.match(n)]  # type: ignore[union-attr]


def split_units(passage_number: int, text: str, *, kind: str = "") -> list[Unit]:
    """The passage's units in reading order."""
    if kind == "faq" and len(text.split()) <= MAX_FAQ_WORDS:
        parts = split_units(passage_number, text)
        lines = [line for part in parts for line in part.lines if line]
        steps = [step for part in parts for step in part.steps]
        return [Unit(passage_number, 0, "faq", lines, steps=steps)] if lines else []
    units: list[Unit] = []
    lead: str | None = None
    for paragraph in _paragraphs(text):
        list_lines = [line for line in paragraph if _is_list_line(line)]
        if not list_lines:
            sentences = _sentences(" ".join(clean(line) for line in paragraph))
            if sentences and sentences[-1].endswith(":"):
                lead = sentences.pop()
            for sentence in sentences:
                units.append(_prose_unit(passage_number, len(units), sentence))
            continue
        first_list = paragraph.index(list_lines[0])
        before = " ".join(clean(line) for line in paragraph[:first_list])
        if before:
            sentences = _sentences(before)
            if sentences and sentences[-1].endswith(":"):
                lead = sentences.pop()
            units += [
                _prose_unit(passage_number, len(units) + i, sentence)
                for i, sentence in enumerate(sentences)
            ]
        units += _list_units(passage_number, len(units), paragraph[first_list:], lead)
        lead = None
    if lead:
        units.append(_prose_unit(passage_number, len(units), lead))
    return units


def _sentences(text: str) -> list[str]:
    """Sentences; a lone word only when it is one ('Yes.'), not a stray label."""
    pieces = [s.strip() for s in SENTENCE_END.split(text)]
    return [s for s in pieces if len(s.split()) >= 2 or re.fullmatch(r"[A-Z][a-z]+[.!?]", s)]


def _prose_unit(number: int, position: int, sentence: str) -> Unit:
    kind: UnitKind = "warning" if WARNING_LEAD.match(sentence) else "sentence"
    return Unit(number, position, kind, [sentence])


def _list_units(number: int, position: int, lines: list[str], lead: str | None) -> list[Unit]:
    """A paragraph of list lines: procedures whole, a led list whole, rows and loose items alone."""
    units: list[Unit] = []
    run: list[str] = []
    run_lead = lead
    broken = False

    def close_run() -> None:
        nonlocal run_lead, broken
        if not run:
            return
        steps = [line for line in run if line.split(". ", 1)[0].isdigit()]
        head = [run_lead] if run_lead else []
        kind: UnitKind = "procedure"
        if run_lead and WARNING_LEAD.match(run_lead):
            kind = "warning"
        if broken or (steps and steps[0].split(". ", 1)[0] != "1"):
            # Steps that do not start at 1, or skip one: what a PDF's columns left of a
            # procedure. Quoting it would be quoting a fragment.
            kind = "fragment"
        units.append(Unit(number, position + len(units), kind, head + list(run), steps=steps))
        run.clear()
        run_lead = None
        broken = False

    items = _items(lines)
    bullets_led = run_lead is not None and not any(STEP.match(item[0]) for item in items)
    if bullets_led and len(items) <= MAX_LIST_ITEMS:
        body: list[str] = []
        header: list[str] | None = None
        for item in items:
            if item[0].startswith(HEADER_MARK):
                header = _cells(item[0])
            elif item[0].lstrip().startswith("|"):
                body.append(_labelled_row(item[0], header))
            else:
                body += _flat(item)
        kind: UnitKind = "warning" if WARNING_LEAD.match(run_lead or "") else "list"
        return [Unit(number, position, kind, [run_lead or "", *body])]
    expected = None
    header = None
    for item in items:
        if item[0].startswith(HEADER_MARK):
            close_run()
            header = _cells(item[0])
            continue
        if not _is_list_line(item[0]):
            close_run()
            expected = None
            prose = " ".join(clean(line) for line in item)
            units += [_prose_unit(number, position + len(units), s) for s in _sentences(prose)]
            continue
        step = STEP.match(item[0])
        if step:
            value = int(step.group(1))
            if expected is not None and value != expected:
                gap = value > expected
                if gap:
                    broken = True
                close_run()
                broken = gap  # what follows a skipped step is no whole procedure either
            own, notes = _item_text(item)
            run += [own, *(f"   {note}" for note in notes)]
            expected = value + 1
            continue
        close_run()
        expected = None
        own, notes = _item_text(item)
        row_kind: UnitKind = "row" if item[0].lstrip().startswith("|") else "item"
        if row_kind == "row":
            own = _labelled_row(item[0], header)
        led = [run_lead] if run_lead else []
        units.append(Unit(number, position + len(units), row_kind, [*led, own, *notes]))
        run_lead = None
    close_run()
    return units


def _flat(item: list[str]) -> list[str]:
    own, notes = _item_text(item)
    return [own, *(f"   {note}" for note in notes)]
