"""The sample carmaker is not the customer: its names live only beside its knowledge base."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

SAMPLE_NAMES = re.compile(r"halvard|tessel|brisa|karst|7HV", re.IGNORECASE)
PRODUCT_PACKAGES = ("assistant", "ingest", "evals", "ui", "knowledge")
CODE_SUFFIXES = {".py", ".js", ".html", ".css", ".yaml", ".yml", ".json", ".toml"}
SAMPLE_HOME = PROJECT_ROOT / "knowledge" / "sample"
EVAL_DATA = PROJECT_ROOT / "evals" / "datasets"
"""Cases written about the sample (the golden set) are data about it, not product code."""


def product_files() -> list:
    files = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*")):
            if (
                path.suffix in CODE_SUFFIXES
                and path.is_file()
                and SAMPLE_HOME not in path.parents
                and EVAL_DATA not in path.parents
                and "__pycache__" not in path.parts
            ):
                files.append(path)
    return files


def test_product_code_names_no_sample_carmaker() -> None:
    found = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()[:80]}"
        for path in product_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SAMPLE_NAMES.search(line)
    ]

    assert found == [], "sample names in product code (move them to knowledge/sample/):\n" + (
        "\n".join(found)
    )


def test_the_scan_reads_the_product_and_would_see_a_name() -> None:
    files = product_files()

    assert any(path.name == "chain.py" for path in files)
    assert any(path.name == "widget.js" for path in files)
    assert SAMPLE_NAMES.search("the 2022 Tessel")
