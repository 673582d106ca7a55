"""The driver widget on a carmaker's page (another origin), in Debian's Chromium.

Screenshots for the docs are written only with GLOVEBOX_WRITE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import WIDGET_KEY, RunningServer
from ui.browser import chromium

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "images"


def screenshot_path(name: str, tmp_path: Path) -> Path:
    return DOCS / name if os.environ.get("GLOVEBOX_WRITE_SCREENSHOTS") == "1" else tmp_path / name


@pytest.fixture
def stranger_site(running_server: RunningServer) -> Iterator[str]:
    """A page on an origin no key allows, embedding the widget with the demo site's key."""
    page = (
        f'<!doctype html><html><body><h1>Not Halvard</h1><script src="{running_server.url}'
        f'/widget.js" data-key="{WIDGET_KEY}"></script></body></html>'
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_driver_asks_rates_and_reaches_a_person_through_the_widget(
    running_server: RunningServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(running_server.demo_url)
        launcher = page.locator("#gb-launcher")
        expect(launcher).to_be_visible(timeout=15_000)
        assert launcher.get_attribute("aria-expanded") == "false"
        launcher.click()
        panel = page.locator("#gb-panel")
        expect(panel).to_be_visible()
        expect(page.locator(".gb-notice")).to_contain_text("AI")
        page.locator("#gb-input").fill(
            "I have a 2022 Halvard Tessel. How do I reset the TPMS light?"
        )
        page.locator("#gb-send").click()
        answer = page.locator(".gb-msg.gb-assistant:not(.gb-welcome)").last
        expect(answer).to_contain_text("TPMS", timeout=60_000)
        expect(page.locator(".gb-thumb-up").last).to_be_visible(timeout=60_000)  # after `done`
        assert "[" not in answer.inner_text() or page.locator(".gb-cite").count() > 0
        page.locator(".gb-sources-toggle").last.click()
        expect(page.locator(".gb-source").first).to_contain_text("Tessel")
        page.screenshot(path=str(screenshot_path("widget-desktop.png", tmp_path)))
        with page.expect_popup() as opened:
            page.locator(".gb-source-title a").first.click()
        document = opened.value
        document.wait_for_load_state()
        assert "/v1/sources/" in document.url and "#" in document.url
        expect(document.locator("section:target h2")).to_contain_text("TPMS")
        document.close()
        page.locator(".gb-thumb-up").last.click()
        expect(panel).to_contain_text("Thanks")
        chosen = page.locator(".gb-thumb-up").last
        expect(chosen).to_have_attribute("aria-pressed", "true")
        assert chosen.evaluate("b => getComputedStyle(b).backgroundColor") != page.locator(
            ".gb-thumb-down"
        ).last.evaluate("b => getComputedStyle(b).backgroundColor")  # the choice shows
        page.locator("#gb-human").click()
        banner = page.locator("#gb-banner")
        expect(banner).to_contain_text("GBX-", timeout=15_000)
        reference = banner.inner_text().split("GBX-")[1][:6]

        agent = httpx.Client(base_url=running_server.url, timeout=30)
        token = agent.post(
            "/v1/agent/sessions",
            json={"username": running_server.username, "password": running_server.password},
        ).json()["token"]
        queue = agent.get("/v1/agent/tickets", headers={"Authorization": f"Bearer {token}"}).json()
        ticket = next(t for t in queue if t["id"] == f"GBX-{reference}")
        assert ticket["channel"] == "driver" and ticket["reason"] == "human_requested"
        assert any("TPMS" in turn["text"] for turn in ticket["transcript"])
        agent.post(
            f"/v1/agent/tickets/GBX-{reference}/replies",
            headers={"Authorization": f"Bearer {token}"},
            json={"text": "Hi, Ana here from Customer Care. Happy to help."},
        )
        expect(page.locator(".gb-msg.gb-agent")).to_contain_text("Ana here", timeout=20_000)
        page.screenshot(path=str(screenshot_path("widget-agent-replied.png", tmp_path)))
        bot_replies = page.locator(".gb-msg.gb-assistant:not(.gb-welcome)").count()
        page.locator("#gb-input").fill("It says 4.2.1")
        page.locator("#gb-send").click()
        expect(page.locator(".gb-msg.gb-user").last).to_contain_text("4.2.1")
        expect(page.locator("#gb-stop")).to_be_hidden(timeout=30_000)  # the stream is over
        # The person has the conversation: the bot does not talk over them.
        assert page.locator(".gb-msg.gb-assistant:not(.gb-welcome)").count() == bot_replies
        expect(banner).to_contain_text("GBX-")

        page.reload()
        closed = page.locator("#gb-launcher")  # the pending case shows before the panel opens
        expect(closed).to_have_attribute("aria-label", re.compile(f"has your case GBX-{reference}"))
        expect(closed.locator(".gb-badge-pending")).to_have_count(1)
        page.locator("#gb-launcher").click()
        expect(page.locator(".gb-msg.gb-user").first).to_contain_text("TPMS", timeout=15_000)
        expect(page.locator(".gb-msg.gb-agent")).to_contain_text("Ana here", timeout=15_000)
        expect(page.locator("#gb-banner")).to_contain_text(f"GBX-{reference}")  # after a reload

        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(running_server.demo_url)
        phone.locator("#gb-launcher").click()
        phone_panel = phone.locator("#gb-panel")
        expect(phone_panel).to_be_visible()
        box = phone_panel.bounding_box()
        assert box is not None and box["width"] >= 0.95 * 390 and box["height"] >= 0.95 * 844
        phone.locator("#gb-input").fill("What does the AWD Lock light mean on a 2023 Karst?")
        phone.locator("#gb-send").click()
        expect(phone.locator(".gb-thumb-up").last).to_be_visible(timeout=60_000)
        phone.screenshot(path=str(screenshot_path("widget-phone.png", tmp_path)))


def test_the_widget_is_keyboard_and_screen_reader_usable(running_server: RunningServer) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(running_server.demo_url)
        launcher = page.locator("#gb-launcher")
        expect(launcher).to_be_visible(timeout=15_000)
        launcher.focus()
        page.keyboard.press("Enter")
        panel = page.locator("#gb-panel")
        expect(panel).to_be_visible()
        assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-label")
        assert page.locator("[role=log]").get_attribute("aria-live") == "polite"
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        assert launcher.get_attribute("aria-expanded") == "false"


def test_a_page_on_an_origin_that_is_not_allowed_is_refused(
    running_server: RunningServer, stranger_site: str
) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        blocked: list[str] = []
        answered: list[int] = []
        page.on("requestfailed", lambda request: blocked.append(request.url))
        page.on(
            "response",
            lambda response: answered.append(response.status) if "/v1/" in response.url else None,
        )
        refused_preflight = '"OPTIONS /v1/chat/stream HTTP/1.1" 403'
        refused_before = running_server.log.read_text().count(refused_preflight)
        page.goto(stranger_site)
        page.locator("#gb-launcher").click()
        page.locator("#gb-input").fill("How do I reset the TPMS light?")
        page.locator("#gb-send").click()
        refusal = page.locator(".gb-msg.gb-system.gb-error").last
        expect(refusal).to_contain_text("Couldn't reach the assistant", timeout=15_000)
        expect(page.locator(".gb-msg.gb-assistant:not(.gb-welcome)")).to_have_count(0)
        expect(page.locator(".gb-msg.gb-system").last).to_be_visible(timeout=15_000)
        # The preflight is refused, so the browser never sends the question at all. Chromium
        # shows a page no response for a refused preflight: the server's log is where it shows.
        assert any("/v1/chat/stream" in url for url in blocked)
        assert running_server.log.read_text().count(refused_preflight) > refused_before
        assert answered == []
        assert all(status >= 400 for status in answered)
        preflight = httpx.options(
            f"{running_server.url}/v1/chat/stream",
            headers={"Origin": stranger_site, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 403


def agent_api(server: RunningServer) -> httpx.Client:
    """The agent API as a signed-in agent."""
    client = httpx.Client(base_url=server.url, timeout=30)
    token = client.post(
        "/v1/agent/sessions", json={"username": server.username, "password": server.password}
    ).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_driver_rates_the_case_once_a_person_resolved_it(running_server: RunningServer) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(running_server.demo_url)
        page.locator("#gb-launcher").click()
        page.locator("#gb-input").fill("My key fob stopped working")
        page.locator("#gb-human").click()  # the message goes to the person with the case
        banner = page.locator("#gb-banner")
        expect(banner).to_contain_text("GBX-", timeout=15_000)
        reference = "GBX-" + banner.inner_text().split("GBX-")[1][:6]
        expect(page.locator(".gb-csat")).to_have_count(0)

        agent = agent_api(running_server)
        agent.post(f"/v1/agent/tickets/{reference}/resolve", json={"text": "Reset the fob"})

        rating = page.locator(".gb-csat")
        expect(rating).to_contain_text("How did we do?", timeout=20_000)  # the next poll
        expect(banner).to_contain_text("Resolved")
        scores = rating.get_by_role("button", name=re.compile(r"^\d out of 5$"))
        expect(scores).to_have_count(5)
        send = rating.get_by_role("button", name="Send rating")
        expect(send).to_be_disabled()
        four = rating.get_by_role("button", name="4 out of 5")
        four.click()
        expect(four).to_have_attribute("aria-pressed", "true")
        expect(rating.get_by_role("button", name="5 out of 5")).to_have_attribute(
            "aria-pressed", "false"
        )
        rating.get_by_label("Anything to add? (optional)").fill("Sorted in minutes")
        send.click()
        expect(rating.get_by_role("status")).to_contain_text("Thanks for your rating")
        expect(scores.first).to_be_disabled()

        stored = agent.get(f"/v1/agent/tickets/{reference}").json()["csat"]
        assert (stored["rating"], stored["comment"]) == (4, "Sorted in minutes")
        page.wait_for_timeout(6_000)  # past another poll interval: no second prompt
        expect(page.locator(".gb-csat")).to_have_count(1)
        page.reload()
        page.locator("#gb-launcher").click()
        expect(page.locator(".gb-msg.gb-user")).to_contain_text("key fob", timeout=15_000)
        expect(page.locator("#gb-banner")).to_contain_text("Resolved")
        expect(page.locator(".gb-csat")).to_have_count(0)  # rated: not asked again


def test_the_driver_sees_the_agent_typing_until_the_reply_comes(
    running_server: RunningServer,
) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(running_server.demo_url)
        page.locator("#gb-launcher").click()
        page.locator("#gb-input").fill("Can someone check my service booking?")
        page.locator("#gb-human").click()
        banner = page.locator("#gb-banner")
        expect(banner).to_contain_text("GBX-", timeout=15_000)
        reference = "GBX-" + banner.inner_text().split("GBX-")[1][:6]
        live = page.locator("#gb-agent-typing")
        assert live.get_attribute("aria-live") == "polite"
        indicator = live.locator(".gb-typing")
        expect(indicator).to_be_hidden()

        agent = agent_api(running_server)
        agent.post(f"/v1/agent/tickets/{reference}/typing")
        expect(indicator).to_be_visible(timeout=10_000)  # the next poll
        expect(live).to_contain_text("Agent is typing…")
        expect(indicator).to_be_hidden(timeout=15_000)  # the agent stopped: it goes

        agent.post(f"/v1/agent/tickets/{reference}/typing")
        expect(indicator).to_be_visible(timeout=10_000)
        agent.post(f"/v1/agent/tickets/{reference}/replies", json={"text": "Booked for Monday."})
        expect(page.locator(".gb-msg.gb-agent")).to_contain_text("Monday", timeout=10_000)
        expect(indicator).to_be_hidden()
        expect(live).to_have_text("")


def test_starter_chips_ask_a_question_and_leave_once_the_conversation_begins(
    running_server: RunningServer,
) -> None:
    from playwright.sync_api import expect

    from knowledge.profile import CarmakerProfile
    from tests.conftest import SAMPLE_PROFILE

    expected = CarmakerProfile.load(SAMPLE_PROFILE).surface_text("en").starters
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(running_server.demo_url)
        page.locator("#gb-launcher").click()
        chips = page.get_by_role("group", name="Suggested questions").get_by_role("button")
        expect(chips).to_have_text(expected, timeout=15_000)
        expect(page.locator(".gb-welcome + .gb-starters")).to_have_count(1)  # under the welcome

        chips.filter(has_text="book a service appointment").click()
        expect(page.locator(".gb-msg.gb-user .gb-bubble")).to_have_text(expected[0])
        expect(page.locator(".gb-starters")).to_have_count(0)
        answer = page.locator(".gb-msg.gb-assistant:not(.gb-welcome)").last
        expect(answer).to_contain_text("appointment", timeout=60_000)
        expect(page.locator("#gb-input")).to_be_focused()
        expect(page.locator(".gb-starters")).to_have_count(0)

        page.locator(".gb-menu-btn").click()
        page.get_by_role("menuitem", name="New conversation").click()
        expect(chips).to_have_count(len(expected))  # an empty conversation again
