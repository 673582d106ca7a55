"""The agent console in a real browser: sign-in, a streamed cited answer, feedback, the queue.

Screenshots go to tmp_path; with GLOVEBOX_WRITE_SCREENSHOTS=1 they go to docs/images instead
(so CI does not dirty the tree).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from assistant.desk.stores import DeskStores, open_desk
from assistant.records import Channel, EscalationState, Severity, TicketDraft, Vehicle
from tests.ui.conftest import WIDGET_KEY, RunningServer
from ui.browser import chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
VIEWPORT = {"width": 1280, "height": 800}
TPMS_QUESTION = "How do I reset the TPMS light?"
ANSWER_TIMEOUT_MS = 120_000
UI_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def console(browser: Browser, running_server: RunningServer) -> Iterator[Page]:
    """One signed-in console page, shared by the tests that follow a working agent's day."""
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.goto(f"{running_server.url}/console/")
    sign_in(page, running_server.username, running_server.password)
    expect_text(page, "#gbx-agent", "Ana Agent")
    yield page
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    if os.environ.get("GLOVEBOX_WRITE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        return DOCS_IMAGES
    return tmp_path


@pytest.fixture
def desk(running_server: RunningServer) -> Iterator[DeskStores]:
    store = open_desk(running_server.database_url)
    yield store
    store.close()


def sign_in(page: Page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def expect_text(page: Page, selector: str, text: str, timeout: int = UI_TIMEOUT_MS) -> None:
    from playwright.sync_api import expect

    expect(page.locator(selector)).to_contain_text(text, timeout=timeout)


def fill(page: Page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(text)


def test_an_unsigned_visit_lands_on_sign_in_and_a_wrong_password_is_refused(
    browser: Browser, running_server: RunningServer
) -> None:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    try:
        page.goto(f"{running_server.url}/console/")
        assert "/login" in page.url
        assert page.locator("form[action='/login']").is_visible()

        sign_in(page, running_server.username, "not-the-password")

        expect_text(page, "body", "Wrong username or password")
        assert page.locator("#question").count() == 0
        assert "glovebox_agent" not in {cookie["name"] for cookie in context.cookies()}
    finally:
        context.close()


def test_an_agent_gets_a_streamed_cited_answer_opens_a_source_and_rates_it(
    console: Page, desk: DeskStores, screenshots: Path
) -> None:
    page = console
    fill(page, "chat-vehicle", "Halvard Tessel 2022")
    fill(page, "question", TPMS_QUESTION)
    page.click("#ask")

    expect_text(page, "#answer", "[1]", timeout=ANSWER_TIMEOUT_MS)
    expect_text(page, "#answer-meta", "confidence")
    citation = first_citation(desk, TPMS_QUESTION)
    expect_text(page, "#sources", citation["title"])

    source = page.locator("#source-1")
    quote = source.locator("blockquote")
    assert not quote.is_visible()
    source.locator("summary").click()
    assert source.get_attribute("open") is not None
    expect_text(page, "#source-1 blockquote", citation["quote"][:40])
    page.screenshot(path=str(screenshots / "console-chat.png"))
    from playwright.sync_api import expect

    with page.expect_popup() as opened:
        page.locator("#answer a", has_text="[1]").last.click()
    document = opened.value
    document.wait_for_load_state()
    assert "/v1/agent/sources/" in document.url
    expect(document.locator("section:target h2")).to_contain_text(citation["section"][-20:])
    document.close()

    comment = "The customer's car has no TPMS SET button"
    page.click("#thumbs-down")
    fill(page, "feedback-comment", comment)
    page.click("#send-feedback")

    expect_text(page, "#feedback-status", "Feedback saved")
    status = page.locator("#feedback-status").bounding_box()
    assert status is not None and status["y"] + status["height"] <= VIEWPORT["height"]
    label = page.locator("#answer [data-testid='block-label']").bounding_box()
    messages = page.locator("#answer .bubble-wrap").bounding_box()
    assert label is not None and messages is not None
    assert label["y"] + label["height"] <= messages["y"] + 1  # above the messages, not over them
    stored = [item for item in desk.feedback.list_feedback() if comment in (item.comment or "")]
    assert len(stored) == 1
    assert stored[0].helpful is False
    assert stored[0].question == TPMS_QUESTION
    assert "[1]" in stored[0].reply_text


def test_copy_answer_puts_the_answer_and_its_footnotes_on_the_clipboard(console: Page) -> None:
    page = console  # the answer of the test before is the last answer
    page.evaluate("navigator.clipboard.writeText('')")

    page.click("#copy-answer")

    expect_text(page, "#copy-note", "Copied to the clipboard")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "[1]" in copied and "TPMS" in copied
    assert copied == page.locator("#customer-copy textarea").input_value()


def test_a_driver_escalation_appears_in_the_queue_and_is_claimed_and_resolved(
    console: Page, desk: DeskStores, screenshots: Path
) -> None:
    page = console
    page.get_by_role("tab", name="Queue").click()
    expect_text(page, "#queue-table", "Reference")

    # Opened while the queue is on screen: the timer, not a reload, has to bring it in.
    smoke = open_driver_ticket(
        desk,
        "There is smoke coming from under the hood",
        reason="safety",
        severity=Severity.CRITICAL,
        summary="safety (smoke): smoke coming from under the hood while driving",
    )
    open_driver_ticket(
        desk,
        "I want to talk to a person about my navigation update",
        reason="human_requested",
        severity=Severity.LOW,
        summary="human requested: navigation update questions",
    )
    expect_text(page, "#queue-table", smoke.reference, timeout=UI_TIMEOUT_MS)

    rows = page.locator("#queue-table [data-testid^='cell-']")
    rows.filter(has_text=smoke.reference).first.click()
    expect_text(page, "#ticket-detail", "There is smoke coming from under the hood")
    expect_text(page, "#ticket-state", "Waiting for a person")

    page.click("#claim")
    expect_text(page, "#ticket-state", "With an agent")
    fill(page, "ticket-text", "Called the driver: parked safely, engine off, tow on its way.")
    page.click("#add-note")
    expect_text(page, "#ticket-detail", "tow on its way")

    fill(page, "resolution-note", "Towed to Halvard Service Oslo; coolant hose replaced.")
    page.click("#resolve")
    expect_text(page, "#ticket-state", "Resolved")

    resolved = desk.tickets.get_ticket(smoke.id)
    assert resolved is not None
    assert resolved.state is EscalationState.RESOLVED
    assert resolved.assignee == "ana"
    assert "coolant hose replaced" in (resolved.resolution_note or "")
    assert [note["text"] for note in resolved.notes] == [
        "Called the driver: parked safely, engine off, tow on its way."
    ]


def test_a_ticket_suggests_a_cited_reply_the_agent_uses_and_sends(
    console: Page, desk: DeskStores, screenshots: Path
) -> None:
    page = console
    page.get_by_role("tab", name="Queue").click()
    asked = open_driver_ticket(
        desk,
        "The tire pressure light stays on after I filled the tires. How do I reset it?",
        reason="human_requested",
        severity=Severity.MEDIUM,
        summary="human requested: TPMS light stays on",
        vehicle=Vehicle(make="Halvard", model="Tessel", year=2022),
    )
    expect_text(page, "#queue-table", asked.reference, timeout=UI_TIMEOUT_MS)
    assert page.get_by_text("has no attribute").count() == 0  # the empty search box is no error
    fill(page, "ticket-ref", asked.reference)
    page.click("#open-ticket")
    expect_text(page, "#suggested-reply", "Suggested reply")
    expect_text(page, "#suggested-reply", "for you only")
    expect_text(page, "#suggested-reply", "[1]")
    page.click("#claim")
    expect_text(page, "#ticket-state", "With an agent")
    page.click("#use-suggestion")
    drafted = page.locator("#ticket-text textarea")
    expect_text(page, "#suggested-reply", "TPMS")
    page.wait_for_function(
        "() => document.querySelector('#ticket-text textarea').value.includes('Sources:')"
    )
    assert "[1]" in drafted.input_value()
    page.screenshot(path=str(screenshots / "console-queue.png"))
    page.click("#reply-customer")
    expect_text(page, "#ticket-status", "Reply sent to the customer")
    session = desk.sessions.get_session(asked.session_id)
    assert session is not None
    sent = [turn.text for turn in session.turns if turn.role == "agent"]
    assert sent and "Sources:" in sent[-1] and "[1]" in sent[-1]


LONG_COMMENT = (
    "The customer asked whether the winter tire size fits the standard rims and whether the "
    "pressure sensors need reprogramming; the answer was about something else entirely"
)


def test_insights_headers_break_between_words_and_long_comments_wrap_inside_the_table(
    console: Page, desk: DeskStores
) -> None:
    page = console
    session_id = desk.sessions.create_session(Channel.AGENT)
    desk.sessions.add_turn(session_id, "user", "Do winter tires fit the standard rims?")
    desk.sessions.add_turn(
        session_id, "assistant", "I can't answer that.", payload={"citations": []}
    )
    desk.feedback.add_feedback(session_id, 1, helpful=False, comment=LONG_COMMENT)
    page.get_by_role("tab", name="Insights").click()
    page.click("#insights-refresh")
    expect_text(page, "#insights-gaps", "Do winter tires fit", timeout=UI_TIMEOUT_MS)

    header_lines = page.evaluate(
        """() => [...document.querySelectorAll('#insights-gaps th')].map(th => {
             const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
             const tops = new Set();
             for (let node = walker.nextNode(); node; node = walker.nextNode()) {
               if (!node.textContent.trim()) continue;
               const range = document.createRange();
               range.selectNodeContents(node);
               for (const r of range.getClientRects()) if (r.width) tops.add(Math.round(r.top));
             }
             return [th.innerText.trim(), tops.size];
           })"""
    )
    for header, lines in header_lines:
        assert lines <= len(header.split()), (header, lines)  # never more lines than words
    table = page.locator("#insights-gaps").bounding_box()
    cell = page.locator("#insights-gaps td", has_text="something else entirely").first
    box = cell.bounding_box()
    assert table is not None and box is not None
    assert box["x"] + box["width"] <= table["x"] + table["width"] + 1  # not cut at the edge


def first_citation(store: DeskStores, question: str) -> dict[str, Any]:
    """The first source of the latest answer to `question`, as the assistant stored it."""
    for session in store.sessions.list_sessions():
        for asked, answered in pairwise(session.turns):
            if asked.text == question and answered.role == "assistant" and answered.payload:
                citations: list[dict[str, Any]] = answered.payload["citations"]
                return citations[0]
    raise AssertionError(f"no stored answer to {question!r}")


KARST_2021 = Vehicle(make="Halvard", model="Karst", year=2021)


def open_driver_ticket(
    store: DeskStores,
    message: str,
    *,
    reason: str,
    severity: Severity,
    summary: str,
    vehicle: Vehicle = KARST_2021,
) -> Any:
    session_id = store.sessions.create_session(Channel.DRIVER)
    store.sessions.add_turn(session_id, "user", message)
    session = store.sessions.get_session(session_id)
    assert session is not None
    return store.tickets.open_ticket(
        TicketDraft(
            session_id=session_id,
            channel=Channel.DRIVER,
            reason=reason,
            severity=severity,
            summary=summary,
            assistant_said="Please stop the car somewhere safe; a person will contact you.",
            vehicle=vehicle,
            transcript=session.transcript(),
        )
    )


def test_typing_a_reply_in_the_queue_shows_the_driver_an_agent_is_typing(
    console: Page, desk: DeskStores, running_server: RunningServer
) -> None:
    import httpx

    page = console
    page.get_by_role("tab", name="Queue").click()
    ticket = open_driver_ticket(
        desk,
        "Where is my replacement key?",
        reason="human_requested",
        severity=Severity.HIGH,
        summary="human requested: replacement key",
    )
    fill(page, "ticket-ref", ticket.reference)
    page.click("#open-ticket")
    expect_text(page, "#ticket-detail", "Where is my replacement key?")

    def driver_sees_typing() -> bool:
        session = httpx.get(
            f"{running_server.url}/v1/sessions/{ticket.session_id}",
            headers={"X-Glovebox-Key": WIDGET_KEY},
        ).json()
        return bool(session["agent_typing"])

    assert driver_sees_typing() is False
    page.locator("#ticket-text textarea").press_sequentially("Hi, it ships today", delay=40)
    deadline = time.monotonic() + 10
    while not driver_sees_typing():
        assert time.monotonic() < deadline, "typing in the reply box did not reach the driver"
        time.sleep(0.25)
