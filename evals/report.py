"""One self-contained HTML page of eval results for QA teams: no scripts, fonts or CDNs.

Charts are inline SVG drawn here; every piece of data is HTML-escaped, because eval
questions include prompt-injection attempts. Sections whose data is absent are skipped.

    page = render_report(json.loads(Path("results.json").read_text()), baseline=None)
    write_report(results, Path("out"))  # -> out/report.html
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

TITLE = "Glovebox eval report"
EMPTY = "—"
ANSWER_PREVIEW_CHARS = 240

HEADLINE_METRICS = (
    "pass_rate",
    "escalation_recall_safety",
    "faithfulness_support_checker",
    "citation_precision",
    "recall_at_5",
    "mrr",
)
METRIC_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Retrieval", ("recall_at_1", "recall_at_5", "recall_at_10", "mrr", "ndcg_at_10")),
    ("Citations", ("citation_precision", "citation_recall")),
    ("Faithfulness", ("faithfulness_support_checker",)),
    (
        "Escalation & abstention",
        (
            "escalation_precision",
            "escalation_recall",
            "escalation_recall_safety",
            "abstention_correct",
        ),
    ),
    ("Overall", ("cases", "pass_rate")),
)
SHOWN_ELSEWHERE = frozenset(
    {"selective_answer_curve", "latency_ms", "ragas", "by_tag", "corpora", "reliability"}
)
NO_BETTER_DIRECTION = frozenset({"cases"})
"""A change in the number of cases is neither better nor worse, so it is not coloured."""

LABELS = {
    "cases": "Cases",
    "pass_rate": "Pass rate",
    "recall_at_1": "Recall@1",
    "recall_at_5": "Recall@5",
    "recall_at_10": "Recall@10",
    "mrr": "MRR",
    "ndcg_at_10": "nDCG@10",
    "citation_precision": "Citation precision",
    "citation_recall": "Citation recall",
    "faithfulness_support_checker": "Faithfulness (support checker)",
    "escalation_precision": "Escalation precision",
    "escalation_recall": "Escalation recall",
    "escalation_recall_safety": "Escalation recall (safety)",
    "abstention_correct": "Correct abstentions",
}
RUN_FIELDS = (
    ("dataset", "Dataset"),
    ("knowledge_base", "Knowledge base"),
    ("generator", "Generator"),
    ("repeats", "Repeats"),
    ("started_at", "Started"),
    ("judge_model", "Judge model"),
    ("glovebox_version", "Glovebox"),
)
JUDGE_READING = (
    "How to read it: each row scores our support checker against human faithfulness labels. "
    "Balanced accuracy averages recall on faithful and unfaithful claims, so 0.5 is chance "
    "whatever the label balance; F1 (unsupported) is how well it catches unsupported claims. "
    "Published anchors on other data: Vectara HHEM-2.1-open ≈0.74 balanced accuracy on "
    "RAGTruth-QA; LettuceDetect-large 0.79 F1 on RAGTruth."
)


def render_report(results: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    """The whole report as one HTML page; `baseline` (another results dict) adds deltas."""
    metrics: dict[str, Any] = results.get("metrics") or {}
    base_metrics: dict[str, Any] | None = (baseline.get("metrics") or {}) if baseline else None
    cases: list[dict[str, Any]] = results.get("cases") or []
    sections = [
        _header(results, baseline),
        _headline_cards(metrics, base_metrics),
        _gate_section(results.get("gate")),
        _metric_tables(metrics, base_metrics),
        _corpus_section(metrics.get("corpora") or {}),
        _tag_section(metrics.get("by_tag") or {}),
        _selective_section(metrics.get("selective_answer_curve") or []),
        _per_corpus_curves(metrics.get("corpora") or {}),
        _reliability_section(metrics.get("corpora") or {}),
        _latency_section(metrics.get("latency_ms") or {}, base_metrics, cases),
        _judge_section(results.get("judge_validation") or [], results.get("judge_validation_note")),
        _failures_section(cases),
        _all_cases_section(cases),
    ]
    body = "\n".join(section for section in sections if section)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(TITLE)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f'<body>\n<main class="page">\n{body}\n</main>\n</body>\n</html>\n'
    )


def write_report(
    results: dict[str, Any], out_dir: Path, baseline: dict[str, Any] | None = None
) -> Path:
    """Writes `out_dir/report.html` (UTF-8) and returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(render_report(results, baseline), encoding="utf-8")
    return path


# Formatting


def _e(value: Any) -> str:
    return EMPTY if value is None else html.escape(str(value), quote=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lower_is_better(name: str) -> bool:
    return "latency" in name


def _digits(name: str) -> int:
    return 1 if _lower_is_better(name) else 3


def _number(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _label(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 4 and parts[0] == "corpora":  # corpora.venza.test.pass_rate
        return f"{parts[1]} / {parts[2]}: {_label(parts[3])}"
    if name.startswith("ragas_"):
        return "RAGAS " + name.removeprefix("ragas_").replace("_", " ")
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _metric_name(name: str) -> str:
    return f'{_e(_label(name))} <code class="key">{_e(name)}</code>'


def _change(name: str, value: Any, base: Any) -> tuple[str, str]:
    """The delta text and its tone: better, worse, same or neutral."""
    if not (_is_number(value) and _is_number(base)):
        return EMPTY, "neutral"
    digits = _digits(name)
    delta = round(value - base, digits)
    if delta == 0:
        return "±0", "same"
    arrow = "▲" if delta > 0 else "▼"
    text = f"{arrow} {delta:+.{digits}f}"
    if name in NO_BETTER_DIRECTION:
        return text, "neutral"
    better = delta < 0 if _lower_is_better(name) else delta > 0
    return text, "better" if better else "worse"


def _section(section_id: str, title: str, body: str, intro: str = "") -> str:
    intro_html = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{section_id}">\n<h2>{_e(title)}</h2>\n{intro_html}{body}\n</section>'


def _table(headers: Sequence[str], rows: Iterable[str], table_class: str = "") -> str:
    head = "".join(f"<th>{header}</th>" for header in headers)
    class_attr = f' class="{table_class}"' if table_class else ""
    return (
        f"<table{class_attr}>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{''.join(rows)}</tbody>\n</table>"
    )


def _tags(tags: Iterable[str]) -> str:
    return " ".join(f'<span class="tag">{_e(tag)}</span>' for tag in tags) or EMPTY


def _verdict(passed: bool) -> str:
    return (
        '<span class="pill pass">pass</span>' if passed else '<span class="pill fail">fail</span>'
    )


# Header, cards, gate


def _header(results: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    run: dict[str, Any] = results.get("run") or {}
    facts = [(label, run[key]) for key, label in RUN_FIELDS if key in run]
    known = {key for key, _ in RUN_FIELDS}
    facts += [(_label(key), value) for key, value in run.items() if key not in known]
    if baseline is not None:
        base_run: dict[str, Any] = baseline.get("run") or {}
        described = ", ".join(
            str(base_run[key]) for key in ("dataset", "started_at") if base_run.get(key)
        )
        facts.append(("Baseline", described or "provided"))
    fact_list = "".join(f"<div><dt>{_e(k)}</dt><dd>{_number(v)}</dd></div>" for k, v in facts)
    facts_html = f'<dl class="run">{fact_list}</dl>' if facts else ""
    return (
        f'<header class="top">\n<div>\n<h1>{_e(TITLE)}</h1>\n{facts_html}\n</div>\n'
        f"{_gate_badge(results.get('gate'))}\n</header>"
    )


def _gate_badge(gate: dict[str, Any] | None) -> str:
    if not gate:
        return ""
    checks = gate.get("checks") or []
    passed = sum(bool(check.get("passed")) for check in checks)
    tone, word = ("pass", "PASSED") if gate.get("passed") else ("fail", "FAILED")
    return (
        f'<div class="badge {tone}"><span class="badge-word">Gate {word}</span>'
        f'<span class="badge-detail">{passed} of {len(checks)} checks passed</span></div>'
    )


def _headline_cards(metrics: dict[str, Any], base: dict[str, Any] | None) -> str:
    cards = []
    for name in HEADLINE_METRICS:
        value = metrics.get(name)
        delta = ""
        if base is not None:
            text, tone = _change(name, value, base.get(name))
            delta = f'<div class="delta {tone}">{text} vs {_number(base.get(name))}</div>'
        cards.append(
            f'<div class="card" data-metric="{_e(name)}"><div class="card-label">'
            f"{_e(_label(name))}</div>"
            f'<div class="card-value">{_number(value)}</div>{delta}</div>'
        )
    return f'<section id="headline" class="cards">{"".join(cards)}</section>'


def _gate_section(gate: dict[str, Any] | None) -> str:
    if not gate:
        return ""
    rows = []
    for check in gate.get("checks") or []:
        metric = str(check.get("metric", ""))
        sign = "≤" if check.get("direction") == "max" else "≥"
        rows.append(
            f"<tr><td>{_metric_name(metric)}{_unmeasured_note(check)}</td>"
            f'<td class="num">{sign} {_number(check.get("threshold"), _digits(metric))}</td>'
            f'<td class="num">{_number(check.get("value"), _digits(metric))}</td>'
            f"<td>{_verdict(bool(check.get('passed')))}</td></tr>\n"
        )
    source = gate.get("thresholds_file")
    intro = f"Thresholds from <code>{_e(Path(source).name)}</code>." if source else ""
    table = _table(["Metric", "Required", "Value", "Result"], rows, "gate")
    return _section("gate", "Release gate", table, intro)


def _unmeasured_note(check: dict[str, Any]) -> str:
    if check.get("value") is not None:
        return ""
    matches = ", ".join(str(name) for name in check.get("close_matches") or [])
    hint = f"; did you mean {_e(matches)}?" if matches else ""
    return f'<div class="note">not in results.json\'s metrics{hint}</div>'


# Metric tables


def _metric_tables(metrics: dict[str, Any], base: dict[str, Any] | None) -> str:
    grouped = {name for _, names in METRIC_GROUPS for name in names}
    tables = []
    for title, names in METRIC_GROUPS:
        rows = [_metric_row(name, metrics[name], base) for name in names if name in metrics]
        if title == "Faithfulness":
            rows += _ragas_rows(metrics.get("ragas") or {}, base)
        if rows:
            tables.append(_metric_table(title, rows, base is not None))
    others = [name for name in metrics if name not in grouped and name not in SHOWN_ELSEWHERE]
    if others:
        rows = [_metric_row(name, metrics[name], base) for name in others]
        tables.append(_metric_table("Other", rows, base is not None))
    return _section("metrics", "Metrics", f'<div class="metric-grid">{"".join(tables)}</div>')


def _metric_table(title: str, rows: list[str], with_baseline: bool) -> str:
    headers = ["Metric", "Value", *(["Baseline", "Change"] if with_baseline else [])]
    return f'<div class="metric-group"><h3>{_e(title)}</h3>{_table(headers, rows, "metrics")}</div>'


def _metric_row(
    name: str, value: Any, base: dict[str, Any] | None, shown: str = "", note: str = ""
) -> str:
    if not shown:
        shown = _number(value, _digits(name)) if _is_scalar(value) else _structured(value)
    note_html = f'<div class="note">{note}</div>' if note else ""
    cells = [f"<td>{_metric_name(name)}{note_html}</td>", f'<td class="num">{shown}</td>']
    if base is not None:
        base_value = base.get(name)
        text, tone = _change(name, value, base_value)
        cells.append(f'<td class="num">{_number(base_value, _digits(name))}</td>')
        cells.append(f'<td class="num change {tone}">{text}</td>')
    return f'<tr data-metric="{_e(name)}">{"".join(cells)}</tr>\n'


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float)


def _structured(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return f"<code>{_e(text if len(text) <= 160 else text[:159] + '…')}</code>"


def _ragas_rows(ragas: dict[str, Any], base: dict[str, Any] | None) -> list[str]:
    base_ragas: dict[str, Any] = (base or {}).get("ragas") or {}
    rows = []
    for metric, score in ragas.items():
        name = f"ragas_{metric}"
        mean, stdev = score.get("mean"), score.get("stdev")
        shown = _number(mean) + (f" ± {_number(stdev)}" if stdev is not None else "")
        judge = "LLM judge" if score.get("llm") else "no LLM"
        failed = score.get("failed_scores")
        failed_note = f" · {_e(failed)} failed repeats" if failed else ""
        note = (
            f"{_e(score.get('repeats'))} repeats · {_e(score.get('scored'))} scored · "
            f"{_e(score.get('unscored'))} unscored{failed_note} · {judge}"
        )
        base_means = {name: (base_ragas.get(metric) or {}).get("mean")} if base else None
        rows.append(_metric_row(name, mean, base_means, shown, note))
    return rows


# Charts


def _tag_section(by_tag: dict[str, dict[str, Any]]) -> str:
    """Draws the runner's `by_tag` metric, so the chart and results.json cannot disagree."""
    tallies = [
        (str(tag), round(tally["pass_rate"] * tally["cases"]), int(tally["cases"]))
        for tag, tally in sorted(by_tag.items())
        if tally.get("cases") and _is_number(tally.get("pass_rate"))
    ]
    if not tallies:
        return ""
    return _section("tags", "Pass rate by tag", _tag_chart(tallies))


def _tag_chart(tallies: list[tuple[str, int, int]]) -> str:
    row, label_width, bar_width, width = 30, 220, 420, 760
    height = row * len(tallies) + 24
    parts = []
    for index, (tag, passed, total) in enumerate(tallies):
        y = 8 + index * row
        share = passed / total
        parts.append(
            f'<text class="label" x="{label_width - 10}" y="{y + 15}" text-anchor="end">'
            f"{_e(tag)} · n={total}</text>"
            f'<rect class="track" x="{label_width}" y="{y}" width="{bar_width}" height="20"/>'
            f'<rect class="bar" x="{label_width}" y="{y}" width="{share * bar_width:.1f}" '
            f'height="20"><title>{_e(tag)}: {passed} of {total} passed</title></rect>'
            f'<text class="value" x="{label_width + bar_width + 10}" y="{y + 15}">'
            f"{share:.0%} ({passed}/{total})</text>"
        )
    return _svg(width, height, "Pass rate by tag", "".join(parts), "tag-chart")


def _svg(width: int, height: int, title: str, content: str, svg_class: str) -> str:
    return (
        f'<svg class="chart {svg_class}" viewBox="0 0 {width} {height}" width="{width}" '
        f'role="img" aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(title)}</title>{content}</svg>"
    )


def _selective_section(curve: list[dict[str, Any]]) -> str:
    points = [p for p in curve if _is_number(p.get("coverage")) and _is_number(p.get("accuracy"))]
    if not points:
        return ""
    rows = [
        f'<tr><td class="num">{_number(p.get("threshold"), 2)}</td>'
        f'<td class="num">{_number(p["coverage"])}</td>'
        f'<td class="num">{_number(p["accuracy"])}</td></tr>\n'
        for p in points
    ]
    table = _table(["Confidence ≥", "Coverage", "Accuracy"], rows, "compact")
    intro = (
        "Raising the confidence threshold answers fewer questions (coverage) "
        "and should make the answers it does give more accurate."
    )
    body = f'<div class="split">{_selective_chart(points)}<div>{table}</div></div>'
    return _section("selective", "Selective answering: accuracy vs coverage", body, intro)


def _selective_chart(points: list[dict[str, Any]]) -> str:
    width, height, left, right, top, bottom = 640, 360, 64, 24, 24, 56
    low = min(p["accuracy"] for p in points)
    y_min = max(0.0, math.floor((low - 0.05) * 10) / 10)
    y_span = (1.0 - y_min) or 1.0

    def x_at(coverage: float) -> float:
        return left + coverage * (width - left - right)

    def y_at(accuracy: float) -> float:
        return top + (1.0 - accuracy) / y_span * (height - top - bottom)

    parts = [_axes(width, height, left, right, top, bottom)]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text class="tick" x="{x_at(tick):.1f}" y="{height - bottom + 18}" '
            f'text-anchor="middle">{tick:.2f}</text>'
        )
    for step in range(6):
        tick = y_min + y_span * step / 5
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y_at(tick):.1f}" '
            f'y2="{y_at(tick):.1f}"/><text class="tick" x="{left - 8}" y="{y_at(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:.2f}</text>'
        )
    line = " ".join(f"{x_at(p['coverage']):.1f},{y_at(p['accuracy']):.1f}" for p in points)
    parts.append(f'<polyline class="curve" points="{line}"/>')
    for index, (coverage, accuracy, label) in enumerate(_curve_labels(points)):
        cx, cy = x_at(coverage), y_at(accuracy)
        label_y = cy - 9 if index % 2 == 0 else cy + 17
        parts.append(
            f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="4"/>'
            f'<text class="point-label" x="{cx:.1f}" y="{label_y:.1f}" text-anchor="middle">'
            f"{_e(label)}</text>"
        )
    parts.append(
        f'<text class="axis-label" x="{(left + width - right) / 2}" y="{height - 12}" '
        'text-anchor="middle">Coverage (share of answerable questions answered)</text>'
        f'<text class="axis-label" transform="translate(16 {(top + height - bottom) / 2}) '
        'rotate(-90)" text-anchor="middle">Accuracy of answers given</text>'
    )
    return _svg(width, height, "Accuracy vs coverage", "".join(parts), "curve-chart")


def _curve_labels(points: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """One label per distinct point; thresholds that land on the same point share it."""
    groups: list[tuple[float, float, list[Any]]] = []
    for point in points:
        spot = (point["coverage"], point["accuracy"])
        if groups and groups[-1][:2] == spot:
            groups[-1][2].append(point.get("threshold"))
        else:
            groups.append((*spot, [point.get("threshold")]))
    labelled = []
    for coverage, accuracy, thresholds in groups:
        first, last = _number(thresholds[0], 2), _number(thresholds[-1], 2)
        labelled.append((coverage, accuracy, f"t={first}" + (f"–{last}" if last != first else "")))
    return labelled


def _axes(width: int, height: int, left: int, right: int, top: int, bottom: int) -> str:
    return (
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - right}" '
        f'y2="{height - bottom}"/>'
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}"/>'
    )


# Corpora


def _corpus_section(corpora: dict[str, dict[str, dict[str, Any]]]) -> str:
    from evals.tables import CORPUS_COLUMNS

    if not corpora:
        return ""
    rows = []
    for corpus, splits in corpora.items():
        for split, metrics in splits.items():
            cells = "".join(
                f'<td class="num">{_number(metrics.get(key))}</td>' for _, key in CORPUS_COLUMNS
            )
            ece = f'<td class="num">{_number(metrics.get("calibration_error"))}</td>'
            rows.append(f"<tr><td>{_e(corpus)}</td><td>{_e(split)}</td>{cells}{ece}</tr>\n")
    headers = ["Corpus", "Split", *(header for header, _ in CORPUS_COLUMNS), "ECE"]
    intro = (
        "Each corpus is its own knowledge base. Tune on dev; test is only counted. ans+ok: "
        "answered and correct among answerable questions; cover: answered among them; evid: "
        "answers quoting the gold evidence; ECE: gap between confidence and accuracy."
    )
    return _section("corpora", "By corpus and split", _table(headers, rows, "compact"), intro)


def _per_corpus_curves(corpora: dict[str, dict[str, dict[str, Any]]]) -> str:
    charts = []
    for corpus, splits in corpora.items():
        points = [
            p
            for p in (splits.get("all") or {}).get("selective_answer_curve") or []
            if _is_number(p.get("coverage")) and _is_number(p.get("accuracy"))
        ]
        if points and len(corpora) > 1:
            charts.append(f"<div><h3>{_e(corpus)}</h3>{_selective_chart(points)}</div>")
    if not charts:
        return ""
    body = f'<div class="split">{"".join(charts)}</div>'
    return _section("selective-corpora", "Selective answering by corpus", body)


def _reliability_section(corpora: dict[str, dict[str, dict[str, Any]]]) -> str:
    charts = []
    for corpus, splits in corpora.items():
        for split, metrics in splits.items():
            if split == "all" and len(splits) > 1:
                continue  # its splits are drawn instead
            table = [row for row in metrics.get("reliability") or [] if row.get("cases")]
            if table:
                title = f"{corpus} / {split}"
                charts.append(f"<div><h3>{_e(title)}</h3>{_reliability_chart(table)}</div>")
    if not charts:
        return ""
    intro = (
        "Confidence is a calibrated probability that the answer is right. Each dot is a bin of "
        "answers: its confidence (x) against the share that were right (y), sized by the "
        "number of answers. On the diagonal, confidence means what it says."
    )
    body = f'<div class="split">{"".join(charts)}</div>'
    return _section("reliability", "Calibration: confidence vs accuracy", body, intro)


def _reliability_chart(table: list[dict[str, Any]]) -> str:
    width, height, left, right, top, bottom = 320, 300, 52, 16, 16, 48
    span_x, span_y = width - left - right, height - top - bottom

    def x_at(value: float) -> float:
        return left + value * span_x

    def y_at(value: float) -> float:
        return top + (1.0 - value) * span_y

    parts = [_axes(width, height, left, right, top, bottom)]
    parts.append(
        f'<line class="grid" x1="{x_at(0):.1f}" y1="{y_at(0):.1f}" x2="{x_at(1):.1f}" '
        f'y2="{y_at(1):.1f}"/>'
    )
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text class="tick" x="{x_at(tick):.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{tick:.1f}</text>'
            f'<text class="tick" x="{left - 6}" y="{y_at(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:.1f}</text>'
        )
    most = max(row["cases"] for row in table)
    for row in table:
        radius = 3 + 7 * math.sqrt(row["cases"] / most)
        cx, cy = x_at(row["predicted"]), y_at(row["observed"])
        parts.append(
            f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}">'
            f"<title>{_e(row['bin'])}: {row['cases']} answers, confidence "
            f"{_number(row['predicted'])}, right {_number(row['observed'])}</title></circle>"
        )
    parts.append(
        f'<text class="axis-label" x="{(left + width - right) / 2}" y="{height - 10}" '
        'text-anchor="middle">Confidence</text>'
        f'<text class="axis-label" transform="translate(14 {(top + height - bottom) / 2}) '
        'rotate(-90)" text-anchor="middle">Share right</text>'
    )
    return _svg(width, height, "Confidence vs accuracy", "".join(parts), "curve-chart")


# Latency


def _latency_section(
    latency: dict[str, Any], base: dict[str, Any] | None, cases: list[dict[str, Any]]
) -> str:
    totals = [total for case in cases if (total := _case_total(case)) is not None]
    if not latency and not totals:
        return ""
    base_latency: dict[str, Any] = (base or {}).get("latency_ms") or {}
    rows = []
    for stage, quantiles in latency.items():
        cells = [f"<td>{_e(stage)}</td>"]
        for quantile in ("p50", "p95"):
            value = (quantiles or {}).get(quantile)
            cells.append(f'<td class="num">{_number(value, 1)}</td>')
            if base is not None:
                before = (base_latency.get(stage) or {}).get(quantile)
                text, tone = _change("latency", value, before)
                cells.append(f'<td class="num change {tone}">{text}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>\n")
    change = ["Change"] if base is not None else []
    headers = ["Stage", "p50 ms", *change, "p95 ms", *change]
    table = _table(headers, rows, "compact") if rows else ""
    chart = _histogram(totals) if totals else ""
    body = f'<div class="split">{chart}<div>{table}</div></div>'
    return _section("latency", "Latency", body, "Lower is better. Histogram: total per case.")


def _case_total(case: dict[str, Any]) -> float | None:
    timings: dict[str, Any] = case.get("timings_ms") or {}
    if _is_number(timings.get("total")):
        return float(timings["total"])
    stages = [value for value in timings.values() if _is_number(value)]
    return float(sum(stages)) if stages else None


def _nice_step(raw: float) -> float:
    scale = 10 ** math.floor(math.log10(raw))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= raw)


def _histogram(totals: list[float]) -> str:
    width, height, left, right, top, bottom = 640, 300, 56, 24, 20, 56
    step = _nice_step(max(totals) / 10) if max(totals) > 0 else 1.0
    bins = [0] * max(1, math.ceil(max(totals) / step))
    for total in totals:
        bins[min(len(bins) - 1, int(total // step))] += 1
    plot_width, plot_height = width - left - right, height - top - bottom
    bar_width, tallest = plot_width / len(bins), max(bins) * 1.1
    parts = [_axes(width, height, left, right, top, bottom)]
    for index, count in enumerate(bins):
        bar_height = count / tallest * plot_height
        x, y = left + index * bar_width, height - bottom - bar_height
        low, high = _edge(index * step), _edge((index + 1) * step)
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{y:.1f}" width="{bar_width - 2:.1f}" '
            f'height="{bar_height:.1f}"><title>{low}–{high} ms: {count} cases</title></rect>'
        )
        if count:
            parts.append(
                f'<text class="value" x="{x + bar_width / 2:.1f}" y="{y - 4:.1f}" '
                f'text-anchor="middle">{count}</text>'
            )
    for index in range(len(bins) + 1):
        parts.append(
            f'<text class="tick" x="{left + index * bar_width:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{_edge(index * step)}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{left + plot_width / 2}" y="{height - 12}" '
        'text-anchor="middle">Total latency per case (ms)</text>'
        f'<text class="axis-label" transform="translate(18 {top + plot_height / 2}) '
        'rotate(-90)" text-anchor="middle">Cases</text>'
    )
    return _svg(width, height, "Per-case total latency", "".join(parts), "latency-chart")


def _edge(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


# Judge validation and cases


def _judge_section(validation: list[dict[str, Any]], note: str | None) -> str:
    if not validation:
        return ""
    rows = [
        f"<tr><td>{_e(row.get('dataset'))}</td><td>{_e(row.get('judge'))}</td>"
        f'<td class="num">{_number(row.get("samples"))}</td>'
        f'<td class="num">{_number(row.get("balanced_accuracy"))}</td>'
        f'<td class="num">{_number(row.get("auroc"))}</td>'
        f'<td class="num">{_number(row.get("f1_unsupported"))}</td>'
        f'<td class="num">{_number(row.get("unscored"))}</td></tr>\n'
        for row in validation
    ]
    headers = ["Dataset", "Judge", "Samples", "Balanced accuracy", "AUROC", "F1 (unsupported)"]
    table = _table([*headers, "Unscored"], rows, "judge")
    extra = f'<p class="note">{_e(note)}</p>' if note else ""
    return _section("judge-validation", "Judge validation", table + extra, _e(JUDGE_READING))


def _failures_section(cases: list[dict[str, Any]]) -> str:
    if not cases:
        return ""
    failed = [case for case in cases if case.get("passed") is False]
    title = f"Failures ({len(failed)} of {len(cases)} cases)"
    if not failed:
        return _section("failures", title, '<p class="ok">Every case passed.</p>')
    rows = [
        f"{_case_lead(case)}<td>{_text(case.get('question'))}</td>"
        f"<td>{_answer(case.get('answer'))}</td><td>{_citations(case.get('citations'))}</td>"
        f'<td class="reason">{_e(case.get("failure") or None)}</td></tr>\n'
        for case in failed
    ]
    headers = ["Case", "Tags", "Question", "Answer", "Citations", "Why it failed"]
    return _section("failures", title, _table(headers, rows, "cases"))


def _case_lead(case: dict[str, Any]) -> str:
    """A case row's opening tag and its Case and Tags cells, shared by both case tables."""
    return (
        f'<tr data-case="{_e(case.get("id"))}"><td><code>{_e(case.get("id"))}</code></td>'
        f"<td>{_tags(case.get('tags') or [])}</td>"
    )


def _text(value: Any) -> str:
    return _e(value) if value else f'<span class="muted">{EMPTY}</span>'


def _answer(answer: Any) -> str:
    if not answer:
        return f'<span class="muted">{EMPTY}</span>'
    text = str(answer)
    if len(text) <= ANSWER_PREVIEW_CHARS:
        return f'<div class="answer">{_e(text)}</div>'
    cut = text[:ANSWER_PREVIEW_CHARS].rsplit(" ", 1)[0].rstrip(" ,.;:")
    return (
        f'<div class="answer">{_e(cut)}…</div><details><summary>Full answer</summary>'
        f'<div class="answer">{_e(text)}</div></details>'
    )


def _citations(citations: Any) -> str:
    if not citations:
        return f'<span class="muted">{EMPTY}</span>'
    items = [
        f'<li><span class="cite-n">[{_e(c.get("n"))}]</span> {_e(c.get("title"))}'
        f'<div class="muted">{_e(c.get("section"))}</div>'
        f'<code class="key">{_e(c.get("document_id"))}</code></li>'
        for c in citations
    ]
    return f'<ol class="citations">{"".join(items)}</ol>'


def _all_cases_section(cases: list[dict[str, Any]]) -> str:
    if not cases:
        return ""
    rows = [
        f"{_case_lead(case)}<td>{_e(case.get('expect'))}</td>"
        f"<td>{_verdict(bool(case.get('passed')))}</td>"
        f'<td class="num">{_number(case.get("confidence"))}</td>'
        f'<td class="num">{_number(case.get("first_relevant_rank"))}</td>'
        f'<td class="num">{_number(_case_total(case), 1)}</td>'
        f"<td>{_text(case.get('question'))}</td><td>{_e(case.get('failure') or '')}</td></tr>\n"
        for case in cases
    ]
    headers = ["Case", "Tags", "Expect", "Result", "Confidence", "First hit", "Total ms"]
    table = _table([*headers, "Question", "Why it failed"], rows, "cases")
    body = f"<details><summary>Show all {len(cases)} cases</summary>{table}</details>"
    return _section("all-cases", "All cases", body)


STYLE = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee5; --soft: #f4f6f8;
  --accent: #1d4ed8; --good: #15803d; --good-bg: #e7f6ec; --bad: #b91c1c; --bad-bg: #fdecec; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 14px/1.45 system-ui,
  -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.page { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 10px; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 0 0 6px; color: var(--muted); text-transform: uppercase;
  letter-spacing: 0.04em; }
section { margin-top: 28px; }
code { font: 12px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code.key { display: block; color: var(--muted); font-size: 11px; }
.intro, .note { color: var(--muted); margin: 8px 0 10px; max-width: 900px; }
.muted { color: var(--muted); }
header.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px;
  padding-bottom: 16px; border-bottom: 2px solid var(--ink); }
dl.run { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 0; }
dl.run div { min-width: 120px; } dl.run dt { font-size: 11px; color: var(--muted);
  text-transform: uppercase; letter-spacing: 0.04em; } dl.run dd { margin: 0; font-weight: 600; }
.badge { border-radius: 10px; padding: 14px 22px; text-align: center; min-width: 220px; }
.badge.pass { background: var(--good-bg); color: var(--good); border: 2px solid var(--good); }
.badge.fail { background: var(--bad-bg); color: var(--bad); border: 2px solid var(--bad); }
.badge-word { display: block; white-space: nowrap; font-size: 24px; font-weight: 800;
  letter-spacing: 0.02em; }
.badge-detail { font-size: 12px; }
.cards { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  background: var(--soft); }
.card-label { font-size: 12px; color: var(--muted); min-height: 34px; }
.card-value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; }
.delta { font-size: 12px; font-weight: 600; }
.better { color: var(--good); } .worse { color: var(--bad); }
.same, .neutral { color: var(--muted); }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--muted); border-bottom: 1px solid var(--ink); padding: 6px 8px; }
td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num { text-align: right; white-space: nowrap; }
table.metrics th:not(:first-child), table.compact th:not(:first-child),
table.gate th:nth-child(2), table.gate th:nth-child(3),
table.judge th:nth-child(n+3) { text-align: right; }
td.change { font-weight: 600; }
td .note { color: var(--muted); font-size: 12px; margin: 0; }
table.compact td, table.compact th { padding: 3px 8px; }
.metric-grid { display: grid; grid-template-columns: 1fr 1fr; gap: 20px 28px; }
.pill { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px;
  font-weight: 700; } .pill.pass { background: var(--good-bg); color: var(--good); }
.pill.fail { background: var(--bad-bg); color: var(--bad); }
.tag { display: inline-block; background: #e8eefc; color: #1e3a8a; border-radius: 4px;
  padding: 0 6px; font-size: 12px; margin: 0 2px 2px 0; }
.split { display: grid; grid-template-columns: minmax(0, 640px) 1fr; gap: 28px;
  align-items: start; }
svg.chart { max-width: 100%; height: auto; font-size: 12px; }
svg .track { fill: var(--soft); } svg .bar { fill: var(--accent); }
svg .label, svg .value { fill: var(--ink); }
svg .tick { fill: var(--muted); font-size: 11px; }
svg .axis { stroke: var(--ink); } svg .grid { stroke: var(--line); stroke-dasharray: 3 3; }
svg .curve { fill: none; stroke: var(--accent); stroke-width: 2; }
svg .point { fill: #fff; stroke: var(--accent); stroke-width: 2; }
svg .point-label { fill: var(--muted); font-size: 10px; }
svg .axis-label { fill: var(--ink); font-size: 12px; font-weight: 600; }
table.cases td { font-size: 13px; }
.answer { white-space: pre-line; max-width: 380px; }
ol.citations { margin: 0; padding: 0; list-style: none; } ol.citations li { margin-bottom: 6px; }
.cite-n { font-weight: 700; color: var(--accent); }
td.reason { color: var(--bad); font-weight: 600; }
details summary { cursor: pointer; color: var(--accent); font-weight: 600; margin: 4px 0; }
.ok { color: var(--good); font-weight: 600; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { font-size: 11px; } .page { max-width: none; padding: 0; }
  section, .card, tr, svg { break-inside: avoid; } h2 { break-after: avoid; }
  thead { display: table-header-group; } details summary { color: var(--ink); }
}
"""
