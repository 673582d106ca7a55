"""NHTSA flat files: FLAT_RCL recalls and FLAT_TSBS service bulletins (tab-separated, no header)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadContext, LoadResult
from ingest.metadata import build_document, slug
from ingest.reading import read_text
from knowledge.errors import InputError
from knowledge.records import ParsedDocument, Section

RECALL_FIELDS = (
    "RECORD_ID", "CAMPNO", "MAKETXT", "MODELTXT", "YEARTXT", "MFGCAMPNO", "COMPNAME", "MFGNAME",
    "BGMAN", "ENDMAN", "RCLTYPECD", "POTAFF", "ODATE", "INFLUENCED_BY", "MFGTXT", "RCDATE",
    "DATEA", "RPNO", "FMVSS", "DESC_DEFECT", "CONEQUENCE_DEFECT", "CORRECTIVE_ACTION", "NOTES",
    "RCL_CMPT_ID", "MFR_COMP_NAME", "MFR_COMP_DESC", "MFR_COMP_PTNO", "DO_NOT_DRIVE",
    "PARK_OUTSIDE",
)  # fmt: skip
# The layout grew over the years (fields 23, 24, 25-27 and 28-29 were added); all are valid.
RECALL_FIELD_COUNTS = (23, 24, 27, 29)
BULLETIN_FIELDS = (
    "BULNO", "BULREP", "ODINO", "BULDTE", "COMPNAME", "MAKETXT", "MODELTXT", "YEARTXT", "DATEA",
    "SUMMARY",
)  # fmt: skip
CAMPAIGN_NUMBER = re.compile(r"^\d{2}[VETC]\d{3}(\d{3})?$")
UNKNOWN_MODEL_YEAR = "9999"


def sniff_flat_file(path: Path) -> str | None:
    """'FLAT_RCL', 'FLAT_TSBS' or None, from the first line of a .txt file."""
    try:
        with path.open("rb") as handle:
            first_line = handle.readline(20000).decode("utf-8", errors="replace").rstrip("\r\n")
    except OSError:
        return None
    fields = first_line.split("\t")
    if len(fields) >= 20 and CAMPAIGN_NUMBER.match(fields[1].strip()):
        return "FLAT_RCL"
    if len(fields) == len(BULLETIN_FIELDS) and fields[2].strip().isdigit():
        return "FLAT_TSBS"
    upper = path.name.upper()
    if upper.startswith("FLAT_RCL") or upper.endswith(".RCL.TXT"):
        return "FLAT_RCL"
    if upper.startswith("FLAT_TSBS") or upper.endswith(".TSB.TXT"):
        return "FLAT_TSBS"
    return None


@dataclass
class _Row:
    line: int
    values: dict[str, str]


def _read_rows(
    path: Path, context: LoadContext, names: tuple[str, ...], counts: tuple[int, ...], layout: str
) -> tuple[list[_Row], list[InputError]]:
    text = read_text(path, context.max_file_mb)
    rows: list[_Row] = []
    problems: list[InputError] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        values = line.split("\t")
        if len(values) not in counts:
            allowed = ", ".join(str(count) for count in counts)
            problems.append(
                InputError(
                    context.source,
                    f"row has {len(values)} tab-separated fields; {layout} rows have {allowed} "
                    f"(see the {layout} layout); fix or remove this row",
                    line=number,
                )
            )
            continue
        rows.append(_Row(number, {n: v.strip() for n, v in zip(names, values, strict=False)}))
    if not rows and problems:
        raise InputError(
            context.source,
            f"no row has the {layout} layout ({len(problems)} rows rejected, first at line "
            f"{problems[0].line}); check the file is a {layout} flat file",
        )
    return rows, problems


_GroupKey = tuple[str, str, str]
"""(campaign or bulletin, make, model): the rows of one document."""


def _documents_by_group(
    rows: list[_Row],
    problems: list[InputError],
    context: LoadContext,
    group_of: Callable[[dict[str, str]], _GroupKey | str],
    document_of: Callable[[str, str, str, list[_Row], LoadContext], ParsedDocument],
) -> LoadResult:
    """One document per group of rows. `group_of` gives a row's group, or what is wrong with
    it (that row is skipped and reported); a group `document_of` refuses is reported too."""
    groups: dict[_GroupKey, list[_Row]] = defaultdict(list)
    for row in rows:
        group = group_of(row.values)
        if isinstance(group, str):
            problems.append(InputError(context.source, group, line=row.line))
            continue
        groups[group].append(row)
    documents = []
    for (item, make, model), grouped in groups.items():
        try:
            documents.append(document_of(item, make, model, grouped, context))
        except InputError as error:
            problems.append(error)
    return LoadResult(documents, problems)


def _yyyymmdd(value: str) -> date | None:
    if re.fullmatch(r"\d{8}", value or ""):
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return None
    return None


def display_name(name: str) -> str:
    """NHTSA writes names in capitals; show them the way people write them: 'Grand Cherokee
    4XE', 'MDX', 'CR-V', 'Model Y', 'Kia'. A word with a digit, of one or two letters, or of
    three without a vowel is a code and stays in capitals."""
    if not name.isupper():
        return name
    return re.sub(r"[A-Z0-9]+", lambda match: _word_case(match.group()), name)


def _word_case(word: str) -> str:
    if any(c.isdigit() for c in word) or len(word) <= 2:
        return word
    if len(word) == 3 and not set(word) & set("AEIOUY"):
        return word
    return word.capitalize()


_YEARS_BEFORE = re.compile(r"\b((?:19|20)\d{2})(?:\s*[-–]\s*((?:19|20)\d{2}))?\s+")


def stated_model_years(text: str, model: str) -> list[int]:
    """The model years a notice's own text gives the model ('certain 2022-2026 Carnival
    vehicles', 'Genesis 2022-2026 GV70, 2023-2025 G90'): a feed row often carries one year.
    A variant the text names ('Wrangler 4Xe') counts for its model ('Wrangler')."""
    tokens = re.findall(r"[A-Za-z0-9]+", model)
    if not tokens:
        return []
    name = r"[\s.-]*".join(re.escape(token) for token in tokens)
    years: set[int] = set()
    matches = list(_YEARS_BEFORE.finditer(text))
    for index, match in enumerate(matches):
        # A range covers the models listed after it, up to the next year or the sentence end
        # ('2023-2025 Acura Integra, Civic Type R, CR-V Hybrid, CR-V, HR-V').
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        listed = re.split(r"(?<=[a-z0-9)])\.\s", text[match.end() : end])[0]
        if re.search(rf"(?<![\w-]){name}(?![\w-])", listed, re.IGNORECASE):
            first = int(match.group(1))
            last = int(match.group(2) or first)
            if first <= last <= first + 30:
                years.update(range(first, last + 1))
    return sorted(years)


def _vehicle(make: str, model: str, years: list[int]) -> dict[str, Any]:
    return {
        "make": display_name(make),
        "model": display_name(model) or None,
        "year_first": min(years) if years else None,
        "year_last": max(years) if years else None,
        "market": "US",
    }


def _years(rows: list[_Row]) -> list[int]:
    return sorted(
        {
            int(row.values["YEARTXT"])
            for row in rows
            if row.values.get("YEARTXT", "").isdigit()
            and row.values["YEARTXT"] != UNKNOWN_MODEL_YEAR
        }
    )


def _years_label(years: list[int]) -> str:
    return ", ".join(str(year) for year in years) or "model years not given"


def _yes(value: str) -> bool:
    return value.strip().upper() in {"Y", "YES", "TRUE"}


def short_campaign_number(campaign: str) -> str:
    """NHTSA's '24V210000' is written '24V210' or '24V-210' in letters and calls."""
    return campaign[:6] if CAMPAIGN_NUMBER.match(campaign) else campaign


class FlatRecallLoader:
    """One recall-notice document per (campaign, make, model) covering its model years."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        rows, problems = _read_rows(path, context, RECALL_FIELDS, RECALL_FIELD_COUNTS, "FLAT_RCL")
        return _documents_by_group(rows, problems, context, self._group_of, self._document)

    @staticmethod
    def _group_of(values: dict[str, str]) -> _GroupKey | str:
        if not CAMPAIGN_NUMBER.match(values["CAMPNO"]):
            return (
                f"field CAMPNO {values['CAMPNO']!r} is not an NHTSA campaign number "
                "(like 24V210000); fix or remove this row"
            )
        if not values["MAKETXT"]:
            return "field MAKETXT is empty; add the make"
        return values["CAMPNO"], values["MAKETXT"], values["MODELTXT"]

    def _document(
        self, campaign: str, make: str, model: str, rows: list[_Row], context: LoadContext
    ) -> ParsedDocument:
        first = rows[0].values
        years = _years(rows)
        short = short_campaign_number(campaign)
        vehicle = f"{display_name(make)} {display_name(model)}".strip()
        component = first["COMPNAME"]
        do_not_drive = _yes(first.get("DO_NOT_DRIVE", ""))
        park_outside = _yes(first.get("PARK_OUTSIDE", ""))
        lines = [
            f"NHTSA recall campaign {short} ({campaign})"
            + (f", manufacturer campaign {first['MFGCAMPNO']}" if first["MFGCAMPNO"] else "")
            + ".",
            f"Vehicles: {vehicle}, model years {_years_label(years)}.",
            f"Component: {component}.",
        ]
        if do_not_drive:
            lines.append("Consumer advisory: DO NOT DRIVE these vehicles until the remedy is done.")
        if park_outside:
            lines.append(
                "Consumer advisory: PARK OUTSIDE and away from structures until the remedy is done."
            )
        for label, key in (
            ("Defect", "DESC_DEFECT"),
            ("Consequence", "CONEQUENCE_DEFECT"),
            ("Remedy", "CORRECTIVE_ACTION"),
            ("Notes", "NOTES"),
        ):
            if first.get(key):
                lines.append(f"{label}: {first[key]}")
        fields: dict[str, Any] = {
            "id": f"recall-{campaign}-{slug(make)}-{slug(model)}".lower(),
            "kind": "recall_notice",
            "audience": "public",
            "title": f"Recall {short}: {component} ({vehicle} {_years_label(years)})",
            "vehicle": _vehicle(make, model, years),
            "effective_date": _yyyymmdd(first["RCDATE"]) or _yyyymmdd(first["DATEA"]),
            "version": first["DATEA"] or None,
            **{
                key: value
                for key, value in (context.manifest_fields or {}).items()
                if key in {"audience", "language"}
            },
            "campaign_number": campaign,
            "campaign_short": short,
            "component": component,
            "manufacturer": first["MFGNAME"],
            "manufacturer_campaign": first["MFGCAMPNO"],
            "model_years": [str(year) for year in years],
            "do_not_drive": do_not_drive,
            "park_outside": park_outside,
            "nhtsa_record_ids": [row.values["RECORD_ID"] for row in rows],
        }
        if first.get("MFR_COMP_PTNO"):
            fields["part_numbers"] = [first["MFR_COMP_PTNO"]]
        document = build_document(fields, source=context.source, line=rows[0].line, anchor=campaign)
        section = Section(heading_path=[f"Recall {short}"], text="\n".join(lines), anchor=campaign)
        return ParsedDocument(document=document, sections=[section])


class FlatServiceBulletinLoader:
    """One bulletin document per (bulletin, make, model); agents only unless a manifest says."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        rows, problems = _read_rows(
            path, context, BULLETIN_FIELDS, (len(BULLETIN_FIELDS),), "FLAT_TSBS"
        )
        return _documents_by_group(rows, problems, context, self._group_of, self._document)

    @staticmethod
    def _group_of(values: dict[str, str]) -> _GroupKey | str:
        item = values["ODINO"] or values["BULNO"]
        if not item:
            return "fields BULNO and ODINO are both empty; add the bulletin number"
        return item, values["MAKETXT"], values["MODELTXT"]

    def _document(
        self, item: str, make: str, model: str, rows: list[_Row], context: LoadContext
    ) -> ParsedDocument:
        first = rows[0].values
        years = _years(rows)
        component = re.sub(r"^\d+\s+", "", first["COMPNAME"])
        vehicle = f"{display_name(make)} {display_name(model)}".strip()
        summary = re.sub(r"\s*\*\w+\s*$", "", first["SUMMARY"]).strip()
        bulletin = first["BULNO"] or item
        text = (
            f"Service bulletin {bulletin} (NHTSA item {first['ODINO']}).\n"
            f"Vehicles: {vehicle}, model years {_years_label(years)}.\n"
            f"Component: {component}.\n"
            + (f"Replaces bulletin {first['BULREP']}.\n" if first["BULREP"] else "")
            + f"Summary: {summary or 'no summary given'}"
        )
        fields: dict[str, Any] = {
            "id": f"tsb-{slug(item)}-{slug(make)}-{slug(model)}",
            "kind": "service_bulletin",
            "audience": (context.manifest_fields or {}).get("audience", "internal"),
            "title": f"Service bulletin {bulletin}: {component} ({vehicle})",
            "vehicle": _vehicle(make, model, years) if make else None,
            "effective_date": _yyyymmdd(first["BULDTE"]),
            "version": first["DATEA"] or None,
            "bulletin_number": bulletin,
            "nhtsa_item": first["ODINO"],
            "component": component,
            "model_years": [str(year) for year in years],
        }
        document = build_document(fields, source=context.source, line=rows[0].line, anchor=item)
        return ParsedDocument(
            document=document,
            sections=[Section(heading_path=[f"Bulletin {bulletin}"], text=text, anchor=item)],
        )
