"""HTML service manuals: sections per heading, lists and tables kept readable, manifest metadata."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ingest.loaders.base import LoadContext
from ingest.loaders.html import HtmlLoader
from knowledge.errors import InputError
from knowledge.records import Audience, DocumentKind, ParsedDocument

MANIFEST = {
    "path": "service/karst-brake-service.html",
    "id": "halvard-karst-2022-2025-service-brakes",
    "kind": "service_manual",
    "audience": "internal",
    "vehicle": {"make": "Halvard", "model": "Karst", "year_first": 2022, "year_last": 2025},
    "language": "en",
    "effective_date": "2023-02-01",
    "version": "2.0",
}

PAGE = """\
<!DOCTYPE html>
<html>
<head>
  <title>Karst Brake Service</title>
  <style>h2 { color: red; } .hidden-style-rule { display: none; }</style>
  <script>var trackingSecret = "do-not-index-me";</script>
</head>
<body>
  <h1>Karst Brake Service</h1>
  <p>This chapter covers the front and rear brakes.</p>
  <script>window.analytics.track("page-view-tracker");</script>
  <h2 id="pads">Brake pads</h2>
  <p>Replace the pads below 3 mm.</p>
  <h3>Replacing the front pads</h3>
  <ol>
    <li>Raise the vehicle and remove the wheel.</li>
    <li>Remove the caliper guide bolts.</li>
    <li>Fit the new pads and torque the bolts.</li>
  </ol>
  <style>.late-style-rule { color: blue; }</style>
  <h3>Torque values</h3>
  <table>
    <thead><tr><th>Fastener</th><th>Torque</th></tr></thead>
    <tbody>
      <tr><td>Caliper guide bolt</td><td>35 Nm</td></tr>
      <tr><td>Wheel nut</td><td>140 Nm</td></tr>
    </tbody>
  </table>
  <h2>Brake fluid</h2>
  <ul><li>Use DOT 4 fluid only.</li></ul>
  <ol start="4"><li>Bleed the rear right caliper first.</li></ol>
</body>
</html>
"""


def load(
    tmp_path: Path, html: str = PAGE, manifest: dict[str, Any] | None = MANIFEST
) -> ParsedDocument:
    path = tmp_path / "karst-brake-service.html"
    path.write_text(html, encoding="utf-8")
    result = HtmlLoader().load(
        path, LoadContext(source="service/karst-brake-service.html", manifest_fields=manifest)
    )
    assert result.skipped_parts == []
    assert len(result.documents) == 1
    return result.documents[0]


def section_text(parsed: ParsedDocument, *path: str) -> str:
    matches = [s.text for s in parsed.sections if s.heading_path == list(path)]
    assert len(matches) == 1, [s.heading_path for s in parsed.sections]
    return matches[0]


def test_sections_follow_h1_to_h3_with_heading_paths_and_anchors(tmp_path: Path) -> None:
    parsed = load(tmp_path)

    assert [(s.heading_path, s.anchor) for s in parsed.sections] == [
        ([], "karst-brake-service"),
        (["Brake pads"], "pads"),  # the heading's own id wins
        (["Brake pads", "Replacing the front pads"], "replacing-the-front-pads"),
        (["Brake pads", "Torque values"], "torque-values"),
        (["Brake fluid"], "brake-fluid"),
    ]
    assert section_text(parsed) == "This chapter covers the front and rear brakes."
    assert section_text(parsed, "Brake pads") == "Replace the pads below 3 mm."


def test_ordered_lists_keep_their_numbering(tmp_path: Path) -> None:
    parsed = load(tmp_path)

    assert section_text(parsed, "Brake pads", "Replacing the front pads") == (
        "1. Raise the vehicle and remove the wheel.\n"
        "2. Remove the caliper guide bolts.\n"
        "3. Fit the new pads and torque the bolts."
    )
    fluid = section_text(parsed, "Brake fluid")
    assert fluid == "- Use DOT 4 fluid only.\n4. Bleed the rear right caliper first."


def test_table_rows_become_cell_bar_cell_lines(tmp_path: Path) -> None:
    parsed = load(tmp_path)

    assert section_text(parsed, "Brake pads", "Torque values") == (
        "Fastener | Torque\nCaliper guide bolt | 35 Nm\nWheel nut | 140 Nm"
    )


def test_scripts_and_styles_are_not_text(tmp_path: Path) -> None:
    everything = "\n".join(section.text for section in load(tmp_path).sections)

    for leaked in ("do-not-index-me", "page-view-tracker", "hidden-style-rule", "late-style-rule"):
        assert leaked not in everything


def test_metadata_comes_from_the_manifest_and_the_title_from_the_page(tmp_path: Path) -> None:
    document = load(tmp_path).document

    assert document.id == "halvard-karst-2022-2025-service-brakes"
    assert document.kind is DocumentKind.SERVICE_MANUAL
    assert document.audience is Audience.INTERNAL
    assert document.vehicle is not None
    assert (document.vehicle.make, document.vehicle.model) == ("Halvard", "Karst")
    assert (document.vehicle.year_first, document.vehicle.year_last) == (2022, 2025)
    assert document.effective_date == date(2023, 2, 1)
    assert document.version == "2.0"
    assert document.title == "Karst Brake Service"
    assert document.provenance.source_file == "service/karst-brake-service.html"


def test_a_manifest_title_wins_over_the_page_title(tmp_path: Path) -> None:
    document = load(tmp_path, manifest={**MANIFEST, "title": "Karst brakes (2022–2025)"}).document

    assert document.title == "Karst brakes (2022–2025)"


def test_a_page_without_manifest_metadata_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "orphan.html"
    path.write_text(PAGE, encoding="utf-8")

    with pytest.raises(InputError) as caught:
        HtmlLoader().load(path, LoadContext(source="orphan.html"))

    assert "'kind'" in str(caught.value)
    assert "manifest" in str(caught.value)


def test_a_page_with_no_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><head><title>Blank</title></head><body> </body></html>")

    with pytest.raises(InputError, match="no text"):
        HtmlLoader().load(path, LoadContext(source="blank.html", manifest_fields=MANIFEST))
