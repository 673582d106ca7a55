"""Recall exports as CSV or JSON (NHTSA's recalls API and spreadsheet exports of it)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadContext, LoadResult
from ingest.loaders.nhtsa import (
    CAMPAIGN_NUMBER,
    display_name,
    short_campaign_number,
    stated_model_years,
)
from ingest.metadata import build_document, slug
from ingest.reading import read_text
from knowledge.errors import InputError
from knowledge.records import ParsedDocument, Section, compact_name

# Our field: the column names different exports use for it (compared lowercased, no spaces).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "campaign": (
        "nhtsacampaignnumber",
        "nhtsa_id",
        "nhtsaid",
        "campno",
        "campaign_number",
        "recall_id",
    ),
    "make": ("make", "maketxt"),
    "model": ("model", "modeltxt"),
    "year": ("modelyear", "model_year", "year", "yeartxt"),
    "component": ("component", "compname"),
    "summary": ("summary", "desc_defect", "subject", "defect"),
    "consequence": ("consequence", "conequence_defect", "recall_description"),
    "remedy": ("remedy", "corrective_action"),
    "notes": ("notes",),
    "report_date": ("reportreceiveddate", "report_date", "rcdate"),
    "do_not_drive": ("parkit", "do_not_drive"),
    "park_outside": ("parkoutside", "park_outside"),
}
REQUIRED = ("campaign", "make", "model")


def sniff_csv_layout(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            header = re.sub(r"[ \t]+", "", handle.readline().lower())
    except OSError:
        return None
    if "question" in header and "answer" in header:
        return "faq"
    if any(alias in header for alias in COLUMN_ALIASES["campaign"]):
        return "recalls"
    return None


@lru_cache(maxsize=64)
def _columns_of_fields(names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """For each of our fields, the record's columns that may hold it, in alias order."""
    by_alias = {re.sub(r"\s+", "", name).lower(): name for name in names}
    return tuple(
        (field, tuple(by_alias[alias] for alias in aliases if alias in by_alias))
        for field, aliases in COLUMN_ALIASES.items()
    )


def _canonical(record: dict[str, Any]) -> dict[str, str]:
    # The columns are worked out once per header: a feed has 216,260 rows of the same few.
    named = {str(key): value for key, value in record.items()}
    canonical: dict[str, str] = {}
    for field, columns in _columns_of_fields(tuple(named)):
        for column in columns:
            if named[column] not in (None, ""):
                canonical[field] = str(named[column]).strip()
                break
    return canonical


def _parse_date(value: str) -> date | None:
    for pattern in ("%Y%m%d", "%d/%m/%Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value[:10], pattern).date()
        except ValueError:
            continue
    return None


def _documents(
    records: list[tuple[int | None, dict[str, Any]]], context: LoadContext
) -> LoadResult:
    result = LoadResult()
    groups: dict[tuple[str, str, str], list[tuple[int | None, dict[str, str]]]] = defaultdict(list)
    for line, record in records:
        values = _canonical(record)
        missing = [field for field in REQUIRED if not values.get(field)]
        if missing:
            names = " / ".join(COLUMN_ALIASES[missing[0]][:3])
            result.skipped_parts.append(
                InputError(
                    context.source,
                    f"record has no {missing[0]} (a column named {names}); fill it or drop it",
                    line=line,
                )
            )
            continue
        # 'GL 450' and 'GL450' in one feed are one model (and would be one document id).
        group = (values["campaign"], compact_name(values["make"]), compact_name(values["model"]))
        groups[group].append((line, values))
    for rows in groups.values():
        campaign, make, model = (rows[0][1][field] for field in ("campaign", "make", "model"))
        # A campaign's rows may be several documents (the recall-document index): the one
        # that says most describes it ('product recall notification letter' says least).
        line, first = max(rows, key=lambda row: len(row[1].get("summary", "")))
        feed_years = {
            int(v["year"]) for _, v in rows if v.get("year", "").isdigit() and v["year"] != "9999"
        }
        stated = stated_model_years(first.get("summary", ""), model)
        years = sorted(feed_years | set(stated))
        years_from = "notice text" if set(stated) - feed_years else "feed rows"
        short = short_campaign_number(campaign) if CAMPAIGN_NUMBER.match(campaign) else campaign
        shown = f"{display_name(make)} {display_name(model)}"
        year_label = ", ".join(map(str, years)) or "model years not given"
        do_not_drive = first.get("do_not_drive", "").lower() in {"true", "yes", "y"}
        park_outside = first.get("park_outside", "").lower() in {"true", "yes", "y"}
        text_lines = [
            f"NHTSA recall campaign {short}.",
            f"Vehicles: {shown}, model years {year_label}.",
        ]
        if first.get("component"):
            text_lines.append(f"Component: {first['component']}.")
        if do_not_drive:
            text_lines.append(
                "Consumer advisory: DO NOT DRIVE these vehicles until the remedy is done."
            )
        if park_outside:
            text_lines.append(
                "Consumer advisory: PARK OUTSIDE and away from structures until the remedy is done."
            )
        for label, key in (("Summary", "summary"), ("Consequence", "consequence"),
                           ("Remedy", "remedy"), ("Notes", "notes")):  # fmt: skip
            if first.get(key):
                text_lines.append(f"{label}: {first[key]}")
        fields: dict[str, Any] = {
            "id": f"recall-{slug(campaign)}-{slug(make)}-{slug(model)}",
            "kind": "recall_notice",
            "audience": (context.manifest_fields or {}).get("audience", "public"),
            "title": f"Recall {short}: {first.get('component', 'recall')} ({shown} {year_label})",
            "vehicle": {
                "make": display_name(make),
                "model": display_name(model),
                "year_first": years[0] if years else None,
                "year_last": years[-1] if years else None,
            },
            "effective_date": _parse_date(first.get("report_date", "")),
            "campaign_number": campaign,
            "campaign_short": short,
            "component": first.get("component", ""),
            "model_years": [str(year) for year in years],
            "model_years_from": years_from,
            "do_not_drive": do_not_drive,
            "park_outside": park_outside,
        }
        try:
            document = build_document(fields, source=context.source, line=line, anchor=campaign)
        except InputError as error:
            result.skipped_parts.append(error)
            continue
        section = Section(
            heading_path=[f"Recall {short}"], text="\n".join(text_lines), anchor=campaign
        )
        result.documents.append(ParsedDocument(document=document, sections=[section]))
    if not result.documents:
        raise InputError(
            context.source,
            "no usable recall record; each needs a campaign number, make and model "
            "(see docs/knowledge-formats.md)",
        )
    return result


class RecallCsvLoader:
    """A header row naming at least campaign, make and model (NHTSA or API column names)."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        text = read_text(path, context.max_file_mb)
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not _canonical({name: "x" for name in reader.fieldnames}).get(
            "campaign"
        ):
            raise InputError(
                context.source,
                "unknown CSV layout: FAQs need the columns id,category,question,answer and "
                "recall exports a campaign column (NHTSACampaignNumber, nhtsa_id or CAMPNO)",
                line=1,
            )
        records: list[tuple[int | None, dict[str, Any]]] = []
        try:
            for row in reader:
                records.append((reader.line_num, {k: v for k, v in row.items() if k is not None}))
        except csv.Error as error:
            raise InputError(context.source, f"CSV cannot be parsed ({error}); fix the quoting",
                             line=reader.line_num) from error  # fmt: skip
        return _documents(records, context)


class RecallJsonLoader:
    """A list of recall objects, or NHTSA's `{"results": [...]}` response."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        text = read_text(path, context.max_file_mb)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(
                context.source, f"not valid JSON ({error.msg}); fix the file", line=error.lineno
            ) from error
        items = data.get("results") if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise InputError(
                context.source,
                "a JSON knowledge file must be a list of recall objects or an object with a "
                "'results' list (NHTSA recalls API)",
            )
        return _documents([(None, item) for item in items], context)
