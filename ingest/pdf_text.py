"""Text that came out of a PDF, made readable before chunking.

A PDF page, or a PDF converted to Markdown or text, arrives with lines hard-wrapped at the
column width, words hyphenated (or just cut) at line ends, headings that are only bold lines
cut over two or three lines, the page's running header, footer and number, symbol-font
glyphs for bullets and arrows, and the converter's stray `##` on lines that are no heading.
`structure_pdf_text` undoes that and returns sections that keep their heading path and the
page they start on:

    sections = structure_pdf_text(split_pages(markdown_from_pdf))

Numbered steps stay whole (`1. Press ...`, with the notes between steps indented under them),
as do bullets, warnings and table rows, so the chunker and the answer can keep them as units.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from knowledge.records import Section

PAGE_SEPARATOR = re.compile(r"^\s*(?:#{1,6}\s*)?-{5,}\s*$|\f")
PAGE_NUMBER = re.compile(
    r"^\s*(?:[-–—]\s*)?(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?\s*$",
    re.IGNORECASE,
)
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
BOLD_ONLY = re.compile(r"^(?:■\s*)?(?:\*\*[^*]+\*\*\s*)+$")
STEP = re.compile(r"^(\d{1,2})[.)]?\s+(?=[A-Z“\"‘'(])(.+)$")
BULLET = re.compile(r"^(?:[-*•●◆▪◦]|\d{1,2}\))\s+(.+)$")
CALLOUT = re.compile(r"^\*\*([A-Z])\*\*\s+(.+)$")
WARNING = re.compile(r"^\**\s*(WARNING|CAUTION|DANGER|NOTICE|NOTE|IMPORTANT)\s*\**\s*:?\s*(.*)$")
TABLE_ROW = re.compile(r"^\|.*\|$")
FOOTNOTE_MARK = re.compile(r"\[\*[\d, ]*\]|\[(?=[®™])|(?<=[®™])\]")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
CONTENTS_LEADER = re.compile(r"\.{6,}\s*\d+\s*$|\.{6,}\s*\d+\s+\S")
"""A table-of-contents line ('Home screen........33'): the page index, not content."""
TERMINAL = (".", "!", "?", ":", ";")
BULLET_GLYPHS = {"\uf06c": "●", "\uf075": "◆", "\uf0b7": "•", "\uf0a7": "▪", "\uf0d8": "•"}
ARROW_GLYPHS = {"\uf0ae": "→", "\uf0e0": "→", "\uf0de": "→"}
MAX_HEADING_WORDS = 14
CUT_ENDINGS = frozenset("a an and are as at by for from in is of on or the to with".split())
"""A title does not end on these: a line that does was cut mid-sentence."""
FURNITURE_SHARE = 0.3
"""A line at the top or bottom of at least this share of pages is a running header/footer."""


def split_pages(text: str) -> list[str]:
    """A converted PDF's pages: at its page separators (`-----` lines, form feeds)."""
    pages: list[list[str]] = [[]]
    for line in text.split("\n"):
        if PAGE_SEPARATOR.match(line):
            pages.append([])
        else:
            pages[-1].append(line)
    return ["\n".join(page) for page in pages]


def looks_pdf_derived(text: str) -> bool:
    """Whether text reads like a PDF's lines (hard-wrapped, page separators), not authored prose.

    Authored Markdown keeps a paragraph on one line; a PDF's text breaks every line at the
    column edge, so most of its prose lines end mid-sentence and are followed by more text.
    """
    if sum(bool(PAGE_SEPARATOR.match(line)) for line in text.split("\n")) >= 3:
        return True
    lines = [line.strip() for line in text.split("\n")]
    prose = [
        (line, following)
        for line, following in zip(lines, [*lines[1:], ""], strict=True)
        if line and not line.startswith(("#", "|", "-", "*", "```", "---"))
        and not STEP.match(line)
    ]  # fmt: skip
    if len(prose) < 20:
        return False
    cut = sum(1 for line, following in prose if following and not line.endswith(TERMINAL))
    median_length = statistics.median(len(line) for line, _ in prose)
    return cut / len(prose) > 0.4 and median_length < 70


@dataclass
class _Block:
    kind: Literal["heading", "paragraph", "step", "bullet", "warning", "table", "footnote"]
    text: str
    page: int
    level: int = 0
    number: int = 0
    items: list[str] = field(default_factory=list)
    """A warning's bullets."""


class _Vocabulary:
    """Words the document spells whole, for deciding how to join a word cut at a line end."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.counts: Counter[str] = Counter()
        for line in lines:
            words = [w.lower().strip("'’-") for w in WORD.findall(line)]
            self.counts.update(w for w in words[1:-1] if w)  # a line's edges may be cut words

    def mend_inline_breaks(self, text: str) -> str:
        """'cellu- lar' inside a line (a converter's wrap in a table cell) -> 'cellular'."""
        return re.sub(r"\b([A-Za-z]{2,})- ([a-z]{2,})\b", lambda m: _mend(self, m), text)

    def join(self, left: str, right: str) -> str:
        """`left` (a line) and `right` (the next) as one text, repairing a cut word."""
        left, right = left.rstrip(), right.lstrip()
        if not left:
            return right
        if not right:
            return left
        if re.search(r"\d-$", left):
            return f"{left}{right}"  # '12.3-' + 'inch display'
        head = re.search(r"([A-Za-z]+)(-?)$", left)
        tail = re.match(r"([a-z]+)", right)
        if head and tail:
            first, hyphen, second = head.group(1), head.group(2), tail.group(1)
            whole = (first + second).lower()
            if hyphen:
                hyphenated = f"{first}-{second}".lower()
                if self.counts[hyphenated] > self.counts[whole]:
                    return f"{left}{right}"  # a real compound: 'hands-' + 'free'
                return f"{left[:-1]}{right}"
            if self.counts[whole] and not (
                self.counts[first.lower()] and self.counts[second.lower()]
            ):
                return f"{left}{right}"  # cut without a hyphen: 'connec' + 'tion'
        return f"{left} {right}"


def _mend(vocabulary: _Vocabulary, match: re.Match[str]) -> str:
    first, second = match.group(1), match.group(2)
    if vocabulary.counts[(first + second).lower()] > vocabulary.counts[f"{first}-{second}".lower()]:
        return first + second
    return match.group(0)


def _clean_line(line: str) -> str:
    for glyph, bullet in BULLET_GLYPHS.items():
        line = line.replace(glyph, f"\n{bullet} " if line.lstrip().startswith(glyph) else bullet)
    for glyph, arrow in ARROW_GLYPHS.items():
        line = line.replace(glyph, arrow)
    line = re.sub(r"[\ue000-\uf8ff]", "", line)  # other symbol-font glyphs draw nothing useful
    line = FOOTNOTE_MARK.sub("", line)
    line = re.sub(r"\*\*([^A-Za-z0-9*]*)\*\*", r"\1", line)  # bold around a symbol only
    return re.sub(r"[ \t]+", " ", line).strip()


def _furniture(pages: list[list[str]]) -> set[str]:
    """Lines repeated at the top or bottom of many pages: running headers and footers."""
    if len(pages) < 4:
        return set()
    edges: Counter[str] = Counter()
    for lines in pages:
        kept = [line for line in lines if line.strip()]
        edges.update({_furniture_key(line) for line in kept[:2] + kept[-2:]})
    limit = max(3, FURNITURE_SHARE * len(pages))
    return {key for key, count in edges.items() if count >= limit and key}


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"[*#_]", "", line)).strip().lower()


def _bold_text(line: str) -> str:
    return re.sub(r"\s+", " ", line.replace("**", " ").replace("■", " ")).strip()


def _is_heading_text(text: str) -> bool:
    """Short, capitalised, not a sentence: a lower-case start is the tail of a cut line."""
    words = text.split()
    long_words = [word for word in words if len(re.sub(r"[^A-Za-z]", "", word)) >= 3]
    sentence = (
        text.endswith((".", "!", "?", ",")) or "→" in text or (", " in text and len(words) > 8)
    )
    capitalised = bool(re.match(r"^[A-Z0-9“\"'(]", text))
    cut = words[-1].lower() in CUT_ENDINGS if words else True
    return (
        bool(long_words)
        and capitalised
        and not cut
        and not STEP.match(text)
        and len(words) <= MAX_HEADING_WORDS
        and not sentence
    )


class _BlockReader:
    """Lines to blocks: headings (joined over their lines), paragraphs, steps and bullets."""

    def __init__(self, vocabulary: _Vocabulary, trust_plain_headings: bool) -> None:
        self._vocabulary = vocabulary
        self._trust_plain_headings = trust_plain_headings
        self.blocks: list[_Block] = []
        self._pending_heading: _Block | None = None
        self._cut_heading: _Block | None = None
        """The last heading, if it ended cut ('from the sys-'): its rest may come after text."""
        self._open: _Block | None = None
        """The block a following line may continue."""

    def feed(self, line: str, page: int) -> None:
        if not line:
            if self._open is not None and self._open.text.endswith(TERMINAL):
                self._open = None
            return
        heading = MARKDOWN_HEADING.match(line)
        level = len(heading.group(1)) if heading else 0
        content = heading.group(2).strip() if heading else line
        if not content or set(content) <= set("-*_ "):
            return
        if WARNING.match(_bold_text(content)) and _bold_text(content).isupper():
            self._flush_heading()
            self._content(_bold_text(content), page)
            return
        if BOLD_ONLY.match(content):
            # '■ **Title**' is a subheading wherever the converter put its '#'s.
            self._bold(content, page, 4 if content.startswith("■") else (level or 3))
            return
        if heading and self._trust_plain_headings and _is_heading_text(content):
            self._bold(f"**{content}**", page, level)
            return
        self._flush_heading()
        self._content(content, page)

    def close(self) -> list[_Block]:
        self._flush_heading()
        return self.blocks

    def _bold(self, content: str, page: int, level: int) -> None:
        text = _bold_text(content)
        pending = self._pending_heading
        continues = pending is not None and (
            pending.text.endswith("-")
            or text[:1].islower()
            or pending.text.count("(") > pending.text.count(")")
        )
        if pending is not None and continues:
            pending.text = self._vocabulary.join(pending.text, text)
            return
        cut = self._cut_heading
        if pending is None and cut is not None and text[:1].islower():
            cut.text = self._vocabulary.join(cut.text, text)
            self._cut_heading = None
            return
        self._flush_heading()
        self._pending_heading = _Block("heading", text, page, level=level)
        self._open = None

    def _flush_heading(self) -> None:
        pending, self._pending_heading = self._pending_heading, None
        if pending is None:
            return
        if _is_heading_text(pending.text):
            self.blocks.append(pending)
            self._open = None
            self._cut_heading = pending if pending.text.endswith("-") else None
        elif len(re.sub(r"[^A-Za-z]", "", pending.text)) >= 3:
            # A bold lead paragraph ("To use the hands-free system, it is necessary ...").
            self._add(_Block("paragraph", pending.text, pending.page))

    def _content(self, content: str, page: int) -> None:
        if TABLE_ROW.match(content):
            self._add(_Block("table", content, page), open_for_more=False)
            return
        warning = WARNING.match(content)
        if warning and warning.group(1) == warning.group(1).upper():
            self._add(_Block("warning", warning.group(1).upper(), page))
            if warning.group(2):
                self._open_warning_text(warning.group(2))
            return
        callout = CALLOUT.match(content)
        if callout:
            content = f"- {callout.group(1)}: {callout.group(2)}"
        step = STEP.match(content)
        if step:
            self._add(_Block("step", step.group(2), page, number=int(step.group(1))))
            return
        bullet = BULLET.match(content)
        if bullet:
            if self._open is not None and self._open.kind == "warning":
                self._open.items.append(bullet.group(1))
                return
            self._add(_Block("bullet", bullet.group(1), page))
            return
        if content.startswith("*") and re.match(r"^\*\d*\s*:", content):
            self._add(_Block("footnote", re.sub(r"^\*(\d*)\s*:\s*", r"*\1: ", content), page))
            return
        self._continue(content, page)

    def _open_warning_text(self, text: str) -> None:
        assert self._open is not None
        self._open.items.append(text)

    def _continue(self, content: str, page: int) -> None:
        block = self._open
        if block is not None and block.kind == "warning":
            if block.items and not block.items[-1].endswith(TERMINAL):
                block.items[-1] = self._vocabulary.join(block.items[-1], content)
            else:
                block.items.append(content)
            return
        if block is not None and (
            block.kind == "paragraph" or not block.text.endswith(TERMINAL) or content[:1].islower()
        ):
            block.text = self._vocabulary.join(block.text, content)
            return
        self._add(_Block("paragraph", content, page))

    def _add(self, block: _Block, *, open_for_more: bool = True) -> None:
        self.blocks.append(block)
        self._open = block if open_for_more else None


def _render(blocks: list[_Block]) -> str:
    """A section's blocks as Markdown-like text: steps of a procedure with their notes."""
    lines: list[str] = []
    in_procedure = False
    for index, block in enumerate(blocks):
        if block.kind == "step":
            starts = block.number == 1 or not in_procedure
            if starts and lines and lines[-1]:
                lines.append("")
            lines.append(f"{block.number}. {block.text}")
            in_procedure = _procedure_goes_on(blocks, index)
            continue
        if in_procedure and block.kind in ("bullet", "paragraph", "footnote"):
            lines.append(f"   - {block.text}")
            continue
        in_procedure = False
        if block.kind == "bullet":
            lines.append(f"- {block.text}")
        elif block.kind == "table":
            lines.append(block.text)
        elif block.kind == "warning":
            lines += ["", f"{block.text}:", *(f"- {item}" for item in block.items), ""]
        else:
            lines += ["", block.text, ""]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _procedure_goes_on(blocks: list[_Block], index: int) -> bool:
    """Whether a later step continues this one's numbering before any other kind of block."""
    number = blocks[index].number
    for block in blocks[index + 1 :]:
        if block.kind == "step":
            return block.number == number + 1
        if block.kind not in ("bullet", "paragraph", "footnote"):
            return False
    return True  # notes after the last step still belong to it


def structure_pdf_text(pages: list[str], *, first_page: int = 1) -> list[Section]:
    """Sections (heading path, readable text, first page) from the text of a PDF's pages."""
    furniture = _furniture([page.split("\n") for page in pages])
    numbered: list[tuple[int, str]] = []
    for offset, page in enumerate(pages):
        for raw in page.split("\n"):
            for line in _clean_line(raw).split("\n"):
                line = line.strip()
                if (
                    PAGE_NUMBER.match(line)
                    or CONTENTS_LEADER.search(line.replace("**", ""))
                    or (line and _furniture_key(line) in furniture)
                ):
                    continue
                numbered.append((first_page + offset, line))
    vocabulary = _Vocabulary(line for _, line in numbered)
    bold_headings = sum(
        1 for _, line in numbered if (m := MARKDOWN_HEADING.match(line)) and "**" in m.group(2)
    )
    reader = _BlockReader(vocabulary, trust_plain_headings=bold_headings < 3)
    for page_number, text in numbered:
        reader.feed(text, page_number)
    sections = _sections(reader.close())
    for section in sections:
        section.text = vocabulary.mend_inline_breaks(section.text)
    return sections


def _sections(blocks: list[_Block]) -> list[Section]:
    sections: list[Section] = []
    stack: list[tuple[int, str, int]] = []
    body: list[_Block] = []

    def flush() -> None:
        text = _render(body)
        if text:
            path = [title for _, title, _ in stack]
            sections.append(Section(heading_path=path, text=text, page=body[0].page))
        body.clear()

    for block in blocks:
        if block.kind != "heading":
            body.append(block)
            continue
        flush()
        # A PDF's headings are only its bold lines: a parent seen pages ago is not one any more.
        while stack and (stack[-1][0] >= block.level or stack[-1][2] < block.page - 1):
            stack.pop()
        stack.append((block.level, block.text, block.page))
    flush()
    return sections
