"""A corpus with one file for every kind of bad input the ingest job must survive."""

from __future__ import annotations

import io
from pathlib import Path

from tests.ingest.corpus import write_corpus

RECALL_ROW = "\t".join(
    ["1", "24V210000", "HALVARD", "TESSEL", "2022", "HV-24-007",
     "ELECTRICAL SYSTEM:12V BATTERY:CABLES", "Halvard Motor Company, LLC", "20210801", "20220630",
     "V", "1200", "20240501", "MFR", "Halvard Motor Company, LLC", "20240315", "20240320", "573",
     "", "THE 12 V BATTERY CABLE MAY CHAFE.", "A CHAFED CABLE CAN SHORT AND CAUSE A FIRE.",
     "DEALERS WILL REROUTE THE CABLE FREE OF CHARGE.", "CALL 1-800-555-0142.",
     "000000000000000000000000001", "CABLE", "12V BATTERY CABLE", "HV-32410-TS1-A01", "No", "Yes"]
)  # fmt: skip


def _pdf_bytes(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def _encrypted_pdf(text: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(_pdf_bytes(text))).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# file name -> (line the report must name, or None; a word the reason must contain)
EXPECTED_SKIPS: dict[str, tuple[int | None, str]] = {
    "bad/empty.md": (None, "empty"),
    "bad/binary.md": (None, "binary"),
    "bad/truncated.pdf": (None, "truncated"),
    "bad/encrypted.pdf": (None, "password"),
    "bad/latin1.md": (5, "UTF-8"),
    "bad/broken.faq.yaml": (3, "YAML"),
    "bad/rows.faq.csv": (3, "answer"),
    "bad/rows.rcl.txt": (2, "fields"),
    "bad/huge.md": (None, "MB limit"),
    "bad/no-metadata.md": (None, "audience"),
}


def write_bad_corpus(folder: Path) -> Path:
    """The good corpus of tests/ingest/corpus.py plus a `bad/` folder with every bad input."""
    write_corpus(folder)
    bad = folder / "bad"
    bad.mkdir()
    (bad / "empty.md").write_bytes(b"")
    (bad / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    good_pdf = _pdf_bytes("Brake fluid: DOT 4, replace every 2 years.")
    (bad / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    (bad / "encrypted.pdf").write_bytes(_encrypted_pdf("Secret dealer pricing."))
    latin1 = "---\nkind: faq\naudience: public\n---\nCaf\u00e9 ol\u00e9: d\u00e9j\u00e0 vu.\n"
    (bad / "latin1.md").write_bytes(latin1.encode("cp1252"))
    (bad / "broken.faq.yaml").write_text("faqs:\n  - id: faq-x\n    question: [unclosed\n")
    (bad / "rows.faq.csv").write_text(
        "id,category,question,answer\n"
        'faq-good-row,Warranty,Is rust covered?,"Yes, 7 years against perforation."\n'
        "faq-no-answer,Warranty,What about paint?,\n"
    )
    (bad / "rows.rcl.txt").write_text(RECALL_ROW + "\n" + "1\t25V001000\tHALVARD\ttoo few\n")
    with (bad / "huge.md").open("wb") as huge:
        huge.truncate(100 * 1024 * 1024)  # 100 MB; refused by size before it is read
    (bad / "no-metadata.md").write_text(
        "---\nkind: faq\n---\n# A page\nText without an audience.\n"
    )
    return folder
