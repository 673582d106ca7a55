"""Small source corpora the sync tests write into tmp folders."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

MANUAL = dedent(
    """\
    ---
    id: test-tessel-manual
    kind: owner_manual
    audience: public
    title: Test Tessel 2023 Owner's Manual
    vehicle: {make: Halvard, model: Tessel, year_first: 2023, year_last: 2025, market: US}
    effective_date: 2022-08-01
    version: "1.0"
    ---
    # Test Tessel 2023 Owner's Manual
    ## Tire pressure
    ### Checking tire pressure
    Check the cold tire pressure once a month. The placard on the driver's door pillar gives
    38 psi front and 36 psi rear for 225/45R18 tires.
    ### Resetting the TPMS
    1. Inflate all tires to the placard pressure.
    2. On the touchscreen open Settings > Vehicle > Tires > Reset TPMS.
    3. Drive for 20 minutes above 25 mph.
    ## Charging
    ### Home charging
    The 11 kW onboard charger fills the 77 kWh battery from 10 to 100 percent in about 8 hours
    on a 48 A Level 2 wall box.
    """
)

FAQ = dedent(
    """\
    defaults:
      audience: public
      effective_date: 2024-01-15
      version: "3"
    faqs:
      - id: faq-roadside
        category: Roadside Assistance
        question: How do I reach Roadside Assistance?
        answer: Call 1-800-555-0199 at any hour; have your VIN and location ready.
      - id: faq-warranty
        category: Warranty
        question: How long is the powertrain warranty?
        answer: The powertrain warranty lasts 5 years or 60,000 miles, whichever comes first.
    """
)

BULLETIN_OLD = dedent(
    """\
    ---
    id: tsb-hv-22-003
    kind: service_bulletin
    audience: internal
    title: TSB-HV-22-003 Infotainment reboot loop
    bulletin_number: TSB-HV-22-003
    ---
    # TSB-HV-22-003 Infotainment reboot loop
    ## Correction
    Reflash the head unit to software 4.2.1 with the dealer scan tool.
    """
)

BULLETIN_NEW = dedent(
    """\
    ---
    id: tsb-hv-23-011
    kind: service_bulletin
    audience: internal
    title: TSB-HV-23-011 Infotainment reboot loop (supersedes TSB-HV-22-003)
    bulletin_number: TSB-HV-23-011
    supersedes: TSB-HV-22-003
    ---
    # TSB-HV-23-011 Infotainment reboot loop
    ## Correction
    Reflash the head unit to software 4.3.0; 4.2.1 did not fix every case.
    """
)


def write_corpus(folder: Path) -> Path:
    """A manual, an FAQ file and a bulletin: 3 files, 4 documents."""
    (folder / "manuals").mkdir(parents=True)
    (folder / "faq").mkdir()
    (folder / "bulletins").mkdir()
    (folder / "manuals" / "tessel.md").write_text(MANUAL)
    (folder / "faq" / "care.faq.yaml").write_text(FAQ)
    (folder / "bulletins" / "tsb-hv-22-003.md").write_text(BULLETIN_OLD)
    return folder
