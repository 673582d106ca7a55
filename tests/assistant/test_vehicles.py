"""Knowing the asker's vehicle: VINs, and models and years named in a message."""

from __future__ import annotations

import pytest

from assistant.records import Vehicle
from assistant.vehicles import (
    VehicleCatalog,
    decode_vin,
    describe_vehicle,
    make_vin,
    names_used_for_other_things,
    vin_check_digit,
    vin_region,
)
from knowledge.errors import InputError
from knowledge.profile import CarmakerProfile, VinTable
from knowledge.records import (
    Audience,
    DocumentKind,
    MetadataValue,
    Provenance,
    SourceDocument,
    VehicleApplicability,
)
from tests.conftest import SAMPLE_PROFILE, sample_vin

HALVARD_VEHICLES = [
    ("Halvard", "Tessel", 2021, 2022),
    ("Halvard", "Tessel", 2023, 2025),
    ("Halvard", "Brisa", 2019, 2022),
    ("Halvard", "Brisa", 2023, 2025),
    ("Halvard", "Karst", 2022, 2023),
    ("Halvard", "Karst", 2024, 2025),
]


SAMPLE = CarmakerProfile.load(SAMPLE_PROFILE)


@pytest.fixture
def catalog() -> VehicleCatalog:
    return VehicleCatalog(HALVARD_VEHICLES, profile=SAMPLE)


@pytest.mark.parametrize(
    ("letter", "year", "model"),
    [
        ("T", 2021, "Tessel"),
        ("T", 2025, "Tessel"),
        ("B", 2019, "Brisa"),
        ("B", 2023, "Brisa"),
        ("K", 2022, "Karst"),
        ("K", 2024, "Karst"),
    ],
)
def test_a_vin_the_profile_has_a_table_for_gives_make_model_and_year(
    letter: str, year: int, model: str
) -> None:
    vin = sample_vin(letter, year, serial="400123")

    vehicle = decode_vin(vin, profile=SAMPLE, current_year=2025)

    assert vehicle == Vehicle(make="Halvard", model=model, year=year, vin=vin)


def test_without_a_profile_a_vin_gives_its_year_and_region() -> None:
    vin = sample_vin("T", 2022)

    vehicle = decode_vin(vin, current_year=2025)

    assert vehicle == Vehicle(year=2022, vin=vin)
    assert vin_region(vin) == "Oceania"
    assert describe_vehicle(vehicle) == "2022 vehicle built in Oceania (make and model unknown)"


@pytest.mark.parametrize(
    ("vin", "region"),
    [("1HGCM82633A004352", "North America"), ("JH4KA7561PC008269", "Asia"),
     ("WVWZZZ1JZXW000001", "Europe"), ("9BWZZZ377VT004251", "South America")],
)  # fmt: skip
def test_the_first_character_gives_the_region(vin: str, region: str) -> None:
    assert vin_region(vin) == region


def test_a_model_letter_may_sit_elsewhere_in_the_descriptor() -> None:
    profile = CarmakerProfile(
        vin=[VinTable(make="Acme", wmi=["1AC"], model_position=5, model_letters={"R": "Roadster"})]
    )
    vin = make_vin("1", 2024, wmi="1AC")
    table_vin = vin[:4] + "R" + vin[5:]
    fixed = table_vin[:8] + vin_check_digit(table_vin) + table_vin[9:]

    vehicle = decode_vin(fixed, profile=profile, current_year=2025)

    assert (vehicle.make, vehicle.model, vehicle.year) == ("Acme", "Roadster", 2024)


def test_a_vin_is_read_however_it_was_typed() -> None:
    vin = sample_vin("K", 2024)

    assert decode_vin(f"  {vin.lower()}\n", current_year=2025).vin == vin


def test_the_model_year_is_the_latest_one_not_after_next_year() -> None:
    vin = sample_vin("B", 2026)  # code T: 1996, 2026, 2056...

    assert decode_vin(vin, current_year=2025).year == 2026
    assert decode_vin(vin, current_year=2024).year == 1996
    assert decode_vin(vin, current_year=2055).year == 2056


def test_the_check_digit_follows_the_north_american_rule() -> None:
    # The worked example of the check-digit rule, with X for a remainder of 10.
    assert decode_vin("1M8GDM9AXKP042788", current_year=2000).year == 1989


def test_another_makers_vin_gives_the_year_only() -> None:
    vin = make_vin("C", 2023, wmi="1HG")

    vehicle = decode_vin(vin, profile=SAMPLE, current_year=2025)

    assert vehicle == Vehicle(make=None, model=None, year=2023, vin=vin)


@pytest.mark.parametrize(
    ("vin", "problem"),
    [
        ("7HVT1A2E7NA123", "a VIN has 17 characters; this one has 14"),
        ("7HVT1A2E7NA1234567", "this one has 18"),
        ("", "no VIN was given"),
        ("7HVT1A2E7NA12345O", "position 17 is the letter O"),
        ("7HVTIA2E7NA123456", "position 5 is the letter I"),
        ("7HVT1A2E7NA1Q3456", "position 13 is the letter Q"),
        ("7HVT1A2E7NA12-456", "position 14 is '-'"),
        ("7HVT1A2E5NA123456", "the check digit (position 9) is 5 but the other characters need 7"),
    ],
)
def test_a_bad_vin_says_what_is_wrong(vin: str, problem: str) -> None:
    with pytest.raises(InputError) as raised:
        decode_vin(vin)

    assert raised.value.source == "vin"
    assert problem in raised.value.problem


def test_a_bad_vin_says_what_to_do() -> None:
    with pytest.raises(InputError) as raised:
        decode_vin("7HVT1A2E7NA123")

    assert "windshield" in raised.value.problem


def test_a_vin_needs_a_model_year_code() -> None:
    with_u = sample_vin("T", 2022)[:9] + "U" + "A123456"
    vin = with_u[:8] + vin_check_digit(with_u) + with_u[9:]

    with pytest.raises(InputError, match="position 10 is U"):
        decode_vin(vin)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "My 2022 Tessel shows a yellow light",
            Vehicle(make="Halvard", model="Tessel", year=2022),
        ),
        ("it's a karst, 2024 model", Vehicle(make="Halvard", model="Karst", year=2024)),
        ("I drive a '21 Brisa", Vehicle(make="Halvard", model="Brisa", year=2021)),
        ("MY2023 Halvard Karst, how do I relearn TPMS?", Vehicle("Halvard", "Karst", 2023)),
        ("tow 5,000 lb with my Karst", Vehicle(make="Halvard", model="Karst")),
        ("is 2000 rpm at idle normal on a BRISA?", Vehicle(make="Halvard", model="Brisa")),
        ("I bought my 2022 Tessel in 2024", Vehicle("Halvard", "Tessel", 2022)),
        ("which oil for a 2020?", Vehicle(year=2020)),
    ],
)
def test_a_message_names_the_vehicle(
    catalog: VehicleCatalog, message: str, expected: Vehicle
) -> None:
    assert catalog.find_in_text(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "tire pressure is 36 psi",
        "the cable is rated 2,000 W and I drove 12000 miles",
        "my compressor only reaches 2000 psi",
        "the jack lifts 1990 kg",
        "the invoice says 2019.50",
        "what does the warranty cover?",
        "my vin is 7HVT1A2E5NA123456",  # wrong check digit: not a vehicle we can trust
        "how do I tessellate the floor mats",
    ],
)
def test_a_message_without_a_vehicle_gives_none(catalog: VehicleCatalog, message: str) -> None:
    assert catalog.find_in_text(message) is None


def test_a_vin_in_a_message_is_decoded(catalog: VehicleCatalog) -> None:
    vin = sample_vin("B", 2024)

    found = catalog.find_in_text(f"Hi, VIN {vin}, the hybrid light is on")

    assert found is not None
    assert (found.make, found.model, found.year, found.vin) == ("Halvard", "Brisa", 2024, vin)


def test_a_vin_beats_the_words_around_it(catalog: VehicleCatalog) -> None:
    vin = sample_vin("K", 2023)

    found = catalog.find_in_text(f"my 2021 tessel, vin {vin.lower()}")

    assert found == Vehicle(make="Halvard", model="Karst", year=2023, vin=vin)


def test_two_models_leave_the_model_unknown(catalog: VehicleCatalog) -> None:
    assert catalog.find_in_text("should I buy a Brisa or a Karst?") is None


def test_covers_models_and_years_with_documents(catalog: VehicleCatalog) -> None:
    assert catalog.covers(Vehicle(make="Halvard", model="Tessel", year=2024))
    assert catalog.covers(Vehicle(model="karst"))
    assert catalog.covers(Vehicle(year=2019))
    assert not catalog.covers(Vehicle(make="Halvard", model="Tessel", year=2020))
    assert not catalog.covers(Vehicle(model="Karst", year=2021))
    assert not catalog.covers(Vehicle(make="Honda", model="Civic", year=2022))
    assert not catalog.covers(Vehicle())
    assert not catalog.covers(None)


def test_a_model_year_beyond_the_models_documents_is_not_known(catalog: VehicleCatalog) -> None:
    assert catalog.model_years("tessel") == (2021, 2025)
    assert catalog.knows_model_year(Vehicle(model="Tessel", year=2023))
    assert not catalog.knows_model_year(Vehicle(model="Tessel", year=2027))
    assert not catalog.knows_model_year(Vehicle(model="Karst", year=2021))
    assert catalog.knows_model_year(Vehicle(model="Karst"))  # no year said: nothing to doubt


def test_a_make_wide_document_covers_that_makes_models_only() -> None:
    catalog = VehicleCatalog([("Halvard", None, None, None)])

    assert catalog.covers(Vehicle(make="Halvard", model="Brisa", year=2020))
    assert not catalog.covers(Vehicle(model="Civic"))


def _document_metadata(model: str, first: int, last: int) -> dict[str, MetadataValue]:
    document = SourceDocument(
        id=f"halvard-{model.lower()}-{first}-{last}-owner-manual",
        kind=DocumentKind.OWNER_MANUAL,
        audience=Audience.PUBLIC,
        title=f"Halvard {model} {first}–{last} Owner's Manual",
        vehicle=VehicleApplicability(make="Halvard", model=model, year_first=first, year_last=last),
        provenance=Provenance(source_file="manual.md"),
    )
    return dict(document.flat_metadata())


def test_a_catalog_from_stored_metadata_keeps_display_names() -> None:
    general = SourceDocument(
        id="faq-warranty",
        kind=DocumentKind.FAQ,
        audience=Audience.PUBLIC,
        title="Warranty",
        provenance=Provenance(source_file="faq.yaml"),
    )
    rows = [
        _document_metadata("Tessel", 2021, 2022),
        _document_metadata("Tessel", 2021, 2022),
        _document_metadata("Tessel", 2023, 2025),
        _document_metadata("Karst", 2024, 2025),
        dict(general.flat_metadata()),
    ]
    assert rows[0]["model"] == "tessel"  # stored lowercase; the label has the casing

    catalog = VehicleCatalog.from_metadata(rows)

    assert catalog.models() == ["Karst", "Tessel"]
    assert catalog.find_in_text("my tessel") == Vehicle(make="Halvard", model="Tessel")
    assert catalog.covers(Vehicle(model="Tessel", year=2025))
    assert not catalog.covers(Vehicle(model="Karst", year=2022))


def test_describe_vehicle() -> None:
    assert describe_vehicle(Vehicle("Halvard", "Tessel", 2022)) == "2022 Halvard Tessel"
    assert describe_vehicle(Vehicle(make="Halvard", model="Karst")) == "Halvard Karst"
    assert "2021" in describe_vehicle(Vehicle(year=2021))
    assert describe_vehicle(None) == "unknown vehicle"


@pytest.mark.parametrize(
    ("message", "owned", "make"),
    [
        ("Toyota Camry 2020", False, "Toyota"),
        ("how do I reset the TPMS on my 2019 Honda?", True, "Honda"),
        ("I drive a Ford, does this apply?", True, "Ford"),
        ("it's a '21 Mercedes-Benz", True, "Mercedes-Benz"),
        ("Can I charge at a Tesla Supercharger?", True, None),
        ("Can I use my Tesla adapter to charge?", True, None),
        ("I have a Ford charger at home", True, None),
        ("How do I reset the TPMS on my Halvard?", True, None),
        ("How do I reset the TPMS?", False, None),
    ],
)
def test_another_makers_car_is_spotted(
    catalog: VehicleCatalog, message: str, owned: bool, make: str | None
) -> None:
    assert catalog.other_make_in(message, owned=owned) == make


@pytest.fixture
def big_catalog() -> VehicleCatalog:
    return VehicleCatalog(
        [
            ("Honda", "CR-V", 2020, 2025), ("Ford", "F-150", 2020, 2025),
            ("Direct Line", "Trailer", 2001, 2001), ("Tesla", "Model Y", 2020, 2026),
            ("Jeep", "Grand Cherokee 4XE", 2022, 2025), ("Dodge", "Charger", 2019, 2025),
            ("Mazda", "MX-5", 2019, 2025), ("Jeep", "Wrangler", 2018, 2025),
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("message", "model", "year"),
    [
        ("recals on 2024 crv??", "CR-V", 2024),
        ("cr v 2021", "CR-V", 2021),
        ("f 150 '23", "F-150", 2023),
        ("Mazda MX5 2019", "MX-5", 2019),
        ("2022 jeep grand cherokee 4xe", "Grand Cherokee 4XE", 2022),
        ("tesla modle y 2022 recall tire pressure", "Model Y", 2022),
        ("my '22 wrangeler", "Wrangler", 2022),
    ],
)
def test_models_are_found_however_they_are_typed(
    big_catalog: VehicleCatalog, message: str, model: str, year: int
) -> None:
    found = big_catalog.find_in_text(message)

    assert found is not None and (found.model, found.year) == (model, year)


def test_a_word_is_looked_up_among_the_model_names_once(
    big_catalog: VehicleCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    import difflib

    looked_up: list[str] = []
    close_matches = difflib.get_close_matches

    def counted(word: str, names: list[str], n: int, cutoff: float) -> list[str]:
        looked_up.append(word)
        return close_matches(word, names, n=n, cutoff=cutoff)

    monkeypatch.setattr(difflib, "get_close_matches", counted)
    first = big_catalog.find_in_text("my '22 wrangeler has a recall letter")
    again = big_catalog.find_in_text("is the recall on my wrangeler 2022 done?")

    assert first is not None and again is not None
    assert (first.model, again.model, again.year) == ("Wrangler", "Wrangler", 2022)
    assert looked_up.count("wrangeler") == 1 and looked_up.count("recall") == 1


@pytest.mark.parametrize(
    "message",
    ["what is the remedy for the seat belt pretensioner recall",
     "my check engine light came on, is that a known recall"],
)  # fmt: skip
def test_everyday_words_a_typo_away_from_a_model_name_are_no_vehicle(message: str) -> None:
    catalog = VehicleCatalog([("Kia", "Forte", 2019, 2024), ("Crossroads", "Cameo", 2018, 2022)])

    assert catalog.find_in_text(message) is None
    found = catalog.find_in_text("the 2021 forrte has a recall")
    assert found is not None and (found.model, found.year) == ("Forte", 2021)


def test_a_code_named_model_wins_over_an_everyday_word_that_is_also_a_model(
    big_catalog: VehicleCatalog,
) -> None:
    found = big_catalog.find_in_text("my 2024 f150 got a letter about the trailer brake controller")

    assert found is not None and found.model == "F-150"


@pytest.mark.parametrize(
    ("message", "model"),
    [
        ("my charger wont work", None),
        ("My Charger stalls", "Charger"),
        ("my 2021 charger", "Charger"),
    ],
)
def test_an_everyday_word_is_a_model_only_with_a_cue(
    big_catalog: VehicleCatalog, message: str, model: str | None
) -> None:
    found = big_catalog.find_in_text(message)

    assert (found.model if found else None) == model


def test_never_more_than_a_handful_of_models_offered_back(big_catalog: VehicleCatalog) -> None:
    assert len(big_catalog.model_choices("which one")) <= 5
    assert big_catalog.model_choices("wrangle") == ["Wrangler"]
    assert "8 models of 7 makes" in big_catalog.coverage_summary()


def test_a_name_the_knowledge_base_mostly_uses_for_something_else_needs_a_cue() -> None:
    everyday = names_used_for_other_things(
        {"Fuel": 2, "Odyssey": 40, "odyssey": 5, "Sorento": 1, "F-150": 1, None: 900},
        {"fuel": 900, "odyssey": 60, "sorento": 12, "f-150": 400},
    )
    catalog = VehicleCatalog(
        [("Heartland", "Fuel", 2019, 2022), ("Honda", "Odyssey", 2018, 2025)],
        everyday_names=everyday,
    )

    assert everyday == {"fuel"}  # a few chunks of its own say nothing; nor do codes
    assert catalog.find_in_text("got a letter about a fuel pump recall") is None
    fuel = catalog.find_in_text("my 2020 fuel toy hauler has a recall")
    assert fuel is not None and fuel.model == "Fuel"
    odyssey = catalog.find_in_text("the sliding door on the odyssey")
    assert odyssey is not None and odyssey.model == "Odyssey"
