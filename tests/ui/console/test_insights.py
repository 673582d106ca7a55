"""The Insights tab's handler on a real desk: the summary, the tables and both CSV downloads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from assistant.desk.agent_desk import AgentDesk
from tests.ui.console.conftest import DriverTicket
from ui.console.chat import ask
from ui.console.insights import GAP_HEADERS, load_insights

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount


def test_the_insights_count_the_questions_and_offer_both_csv_files(
    desk: AgentDesk, agent: AgentAccount, driver_ticket: DriverTicket, downloads: Path
) -> None:
    list(ask(desk, agent, "How do I reset the TPMS light?", "Tessel 2022", [], None))
    driver_ticket("Can a person call me?")

    shown = load_insights(desk, agent, 7)

    assert 'class="gbx-stat"' in shown.insights_summary and "questions" in shown.insights_summary
    assert list(shown.questions_plot.columns) == ["day", "questions"]
    assert shown.daily_table and shown.daily_table[0][1] >= 1  # today, newest first
    assert sorted(shown.daily_table, reverse=True) == shown.daily_table
    assert all(len(row) == len(GAP_HEADERS) for row in shown.gaps_table)
    folder = downloads / "glovebox-console" / "ana"  # the agent's own folder
    for button, name in ((shown.gaps_download, "knowledge-gaps-7d.csv"),
                         (shown.daily_download, "questions-per-day-7d.csv")):  # fmt: skip
        assert isinstance(button, gr.DownloadButton) and button.interactive is True
        assert button.value["orig_name"] == name  # Gradio serves a copy of the file written
        assert (folder / name).read_text(encoding="utf-8") == Path(button.value["path"]).read_text(
            encoding="utf-8"
        )
    daily_csv = (folder / "questions-per-day-7d.csv").read_text(encoding="utf-8")
    assert shown.daily_table[0][0] in daily_csv
