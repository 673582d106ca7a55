"""The Insights tab: questions, escalations and CSAT over the last days, the knowledge-gap
backlog, and both as CSV downloads.

    tab = build_insights_tab(desk)   # inside the console's gr.Blocks and gr.Tabs
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.desk.agent_desk import AgentDesk
from assistant.desk.insights import daily_csv, insights_csv
from ui.console.edge import View, agent_event
from ui.console.markup import ago, empty, escape

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount
    from assistant.desk.insights import CsatSummary, Insights

GAP_HEADERS = ["Question", "Times", "Unanswered", "Rated down", "Last asked", "Comments"]
DAILY_HEADERS = ["Day", "Questions", "Answered", "Escalated"]


def insights_summary_html(insights: Insights) -> str:
    rate = f"{insights.escalation_rate:.0%}" if insights.escalation_rate is not None else "—"
    reasons = (
        ", ".join(
            f"{escape(reason.replace('_', ' '))} ({count})"
            for reason, count in insights.escalation_reasons.items()
        )
        or "none"
    )
    return (
        '<div class="gbx-meta" style="gap:32px">'
        f'<div><div class="gbx-stat">{insights.questions}</div>'
        '<div class="gbx-muted">questions</div></div>'
        f'<div><div class="gbx-stat">{insights.escalations}</div>'
        '<div class="gbx-muted">escalations</div></div>'
        f'<div><div class="gbx-stat">{escape(rate)}</div>'
        '<div class="gbx-muted">of conversations escalated</div></div>'
        f'<div><div class="gbx-stat">{len(insights.gaps)}</div>'
        '<div class="gbx-muted">knowledge gaps</div></div>'
        f"{_csat_stats(insights.csat)}</div>"
        f"<p><strong>Escalation reasons:</strong> {reasons}</p>"
        f"{_csat_comments(insights.csat)}"
    )


def _csat_stats(csat: CsatSummary) -> str:
    average = f"{csat.average:.1f} / 5" if csat.average is not None else "—"
    return (
        f'<div id="insights-csat"><div class="gbx-stat">{escape(average)}</div>'
        f'<div class="gbx-muted">average CSAT · {csat.ratings} '
        f"rating{'' if csat.ratings == 1 else 's'}</div></div>"
    )


def _csat_comments(csat: CsatSummary) -> str:
    if not csat.latest_comments:
        return ""
    items = "".join(
        f"<li><strong>{comment.rating}/5</strong> {escape(comment.comment)} "
        f'<span class="gbx-muted">{escape(comment.ticket)} · '
        f"{escape(ago(comment.created_at))}</span></li>"
        for comment in csat.latest_comments
    )
    return (
        f'<p><strong>Latest CSAT comments:</strong></p><ul id="insights-csat-comments">{items}</ul>'
    )


def daily_rows(insights: Insights) -> list[list[Any]]:
    """One row a day, oldest first: day, questions, answered, escalated."""
    return [
        [day.day.isoformat(), day.questions, day.answered, day.escalated] for day in insights.days
    ]


def gap_rows(insights: Insights) -> list[list[Any]]:
    """The knowledge-gap backlog as the table shows it, biggest first."""
    return [
        [
            gap.label,
            gap.count,
            gap.unanswered,
            gap.thumbs_down,
            gap.last_asked.strftime("%Y-%m-%d %H:%M"),
            " | ".join(gap.sample_comments),
        ]
        for gap in insights.gaps
    ]


def csv_files(agent: AgentAccount, insights: Insights, period: int) -> tuple[Path, Path]:
    """The gaps and the questions per day written as CSV files for the downloads, in a folder
    of the agent's own."""
    folder = Path(tempfile.gettempdir()) / "glovebox-console" / agent.username
    folder.mkdir(parents=True, exist_ok=True)
    gaps_file = folder / f"knowledge-gaps-{period}d.csv"
    gaps_file.write_text(insights_csv(insights), encoding="utf-8")
    daily_file = folder / f"questions-per-day-{period}d.csv"
    daily_file.write_text(daily_csv(insights), encoding="utf-8")
    return gaps_file, daily_file


@dataclass(frozen=True)
class InsightsView(View):
    """Every panel of the tab: the summary, the plot, both tables and both downloads."""

    insights_summary: str
    questions_plot: Any
    daily_table: list[list[Any]]
    gaps_table: list[list[Any]]
    gaps_download: gr.DownloadButton
    daily_download: gr.DownloadButton


def load_insights(desk: AgentDesk, agent: AgentAccount, period: int) -> InsightsView:
    """The insights of the last `period` days, and their CSV files ready to download."""
    import pandas as pd

    insights = desk.insights(agent, days=int(period))
    gaps_file, daily_file = csv_files(agent, insights, period)
    daily = daily_rows(insights)
    plot = {"day": [row[0] for row in daily], "questions": [row[1] for row in daily]}
    return InsightsView(
        insights_summary=insights_summary_html(insights),
        questions_plot=pd.DataFrame(plot),
        daily_table=daily[::-1],  # the table newest first; the plot in time order
        gaps_table=gap_rows(insights),
        gaps_download=gr.DownloadButton(value=str(gaps_file), interactive=True),
        daily_download=gr.DownloadButton(value=str(daily_file), interactive=True),
    )


@dataclass(frozen=True)
class InsightsTab:
    """The Insights tab's components (no other tab needs them)."""

    days: gr.Radio
    insights_button: gr.Button
    gaps_download: gr.DownloadButton
    daily_download: gr.DownloadButton
    insights_summary: gr.HTML
    questions_plot: gr.BarPlot
    daily_table: gr.Dataframe
    gaps_table: gr.Dataframe


def build_insights_tab(desk: AgentDesk) -> InsightsTab:
    """The Insights tab; it computes when it is opened, refreshed or given another period."""
    with gr.Tab("Insights", id="insights", elem_id="tab-insights") as insights_tab:
        with gr.Row(elem_classes="gbx-bottom"):
            days = gr.Radio([7, 30, 90], value=30, label="Last days", elem_id="insights-days")
            refresh = gr.Button(
                "Refresh", size="sm", elem_id="insights-refresh", scale=0, min_width=90
            )
            gaps_download, daily_download = (
                gr.DownloadButton(
                    label, elem_id=elem_id, interactive=False, size="sm", scale=0, min_width=150
                )
                for label, elem_id in (
                    ("Download CSV", "insights-csv"),
                    ("Download daily CSV", "insights-daily-csv"),
                )
            )
        summary = gr.HTML(
            empty("Open this tab or press Refresh to compute the insights."),
            elem_id="insights-summary",
        )
        with gr.Row():
            plot = gr.BarPlot(
                x="day", y="questions", title="Questions per day", height=240, x_label_angle=-45
            )
            daily = gr.Dataframe(
                headers=DAILY_HEADERS, value=[], interactive=False, max_height=240,
                elem_id="insights-daily",
            )  # fmt: skip
        gr.Markdown("**Knowledge-gap backlog** (biggest first)")
        gaps = gr.Dataframe(
            headers=GAP_HEADERS, value=[], interactive=False, wrap=True, max_height=300,
            elem_id="insights-gaps", column_widths=["30%", "8%", "11%", "11%", "13%", "27%"],
        )  # fmt: skip
    tab = InsightsTab(days, refresh, gaps_download, daily_download, summary, plot, daily, gaps)
    load = agent_event(desk, load_insights)
    # One listener a trigger, not gr.on: the period's change keeps its own trigger mode.
    for trigger in (insights_tab.select, refresh.click, days.change):
        trigger(load, inputs=[days], outputs=InsightsView.outputs(tab), api_visibility="private")
    return tab
