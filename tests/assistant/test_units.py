"""Cutting a passage into the units an answer quotes whole."""

from __future__ import annotations

from assistant.units import split_units

PROCEDURE = """If you smell fuel or smoke:

1. Stop as soon as it is safe.
2. Switch off and get everyone out.
   - Move at least 50 ft away, upwind.
3. Call 911.

Do not restart the vehicle."""


def kinds(text: str, kind: str = "") -> list[str]:
    return [unit.kind for unit in split_units(1, text, kind=kind)]


def test_a_procedure_is_one_unit_with_its_lead_steps_and_notes() -> None:
    units = split_units(1, PROCEDURE)
    procedure = next(unit for unit in units if unit.kind == "procedure")
    assert procedure.lines == [
        "If you smell fuel or smoke:",
        "1. Stop as soon as it is safe.",
        "2. Switch off and get everyone out.",
        "   - Move at least 50 ft away, upwind.",
        "3. Call 911.",
    ]
    assert [step[:2] for step in procedure.steps] == ["1.", "2.", "3."]
    assert units[-1].lines == ["Do not restart the vehicle."]


def test_steps_that_do_not_start_at_one_or_skip_one_are_fragments() -> None:
    assert kinds("2. Select the item.\n3. Select OK.") == ["fragment"]
    assert kinds("1. Press MAP.\n2. Select Home.\n4. Select OK.") == ["fragment", "fragment"]
    assert kinds("1. Press MAP.\n2. Select Home.\n1. Press MENU.\n2. Select Phone.") == [
        "procedure",
        "procedure",
    ]


def test_a_led_list_a_warning_and_table_rows_with_their_header() -> None:
    assert kinds("Check these items:\n- tires\n- lights") == ["list"]
    assert kinds("**WARNING:** Never leave a child in the vehicle.") == ["warning"]
    table = (
        "Cold pressures:\n\n| Tire | Pressure |\n|---|---|\n| Front | 36 psi |\n| Rear | 33 psi |"
    )
    units = split_units(1, table)
    rows = [line for unit in units for line in unit.lines]
    assert "Tire: Front; Pressure: 36 psi" in rows and "Tire: Rear; Pressure: 33 psi" in rows


def test_an_faq_answer_is_one_unit() -> None:
    answer = "Yes. Maintenance by any qualified shop keeps the warranty.\nKeep the receipts."
    [unit] = split_units(1, answer, kind="faq")
    assert unit.kind == "faq"
    assert unit.lines == [
        "Yes.",
        "Maintenance by any qualified shop keeps the warranty.",
        "Keep the receipts.",
    ]
