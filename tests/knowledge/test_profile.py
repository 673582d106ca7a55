"""The carmaker profile: data, loaded with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import ConfigurationError
from knowledge.profile import NO_PROFILE, CarmakerProfile, load_profile
from tests.conftest import SAMPLE_PROFILE


def test_the_sample_profile_loads_with_its_vin_table_and_words() -> None:
    profile = CarmakerProfile.load(SAMPLE_PROFILE)

    table = profile.vin_table("7HVT1A2E7NA123456")
    assert table is not None and table.model_letters["T"] == "Tessel"
    assert profile.surface_text("es").title == "Asistente Halvard"
    assert profile.demo_page_path() == SAMPLE_PROFILE.parent / "demo.html"
    assert profile.demo_page_path().is_file()  # type: ignore[union-attr]


def test_without_a_profile_the_words_are_plain() -> None:
    profile = load_profile(None)

    assert profile is NO_PROFILE
    assert profile.vin_table("7HVT1A2E7NA123456") is None
    assert profile.surface_text("en").title == "Customer care assistant"
    assert profile.surface_text("fr").title == "Customer care assistant"  # falls back to en


def test_a_profile_may_give_only_some_words(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("name: Acme\ntext:\n  en:\n    title: Acme help\n", encoding="utf-8")

    profile = CarmakerProfile.load(path)

    assert profile.surface_text("en").title == "Acme help"
    assert profile.surface_text("en").placeholder == "Ask about your vehicle…"
    assert profile.surface_text("es").title == "Asistente de atención al cliente"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("brands: [Acme\n", "is not valid YAML"),
        ("- just a list\n", "must be a mapping"),
        ("brandz: [Acme]\n", "brandz: Extra inputs are not permitted"),
        ("vin:\n  - make: Acme\n    wmi: [1A]\n", "vin.0.wmi"),
        ("vin:\n  - make: Acme\n    wmi: [1AC]\n    model_letters: {RX: R}\n", "single VIN"),
    ],
)
def test_a_bad_profile_names_the_file_and_the_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigurationError) as raised:
        CarmakerProfile.load(path)

    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_starter_questions_are_a_few_short_ones_per_language(tmp_path: Path) -> None:
    assert CarmakerProfile.load(SAMPLE_PROFILE).surface_text("en").starters[0].endswith("?")
    path = tmp_path / "profile.yaml"
    path.write_text(
        "text:\n  en:\n    starters: ['  How do I pair\n my phone? ']\n", encoding="utf-8"
    )

    assert CarmakerProfile.load(path).surface_text("en").starters == ["How do I pair my phone?"]
    assert NO_PROFILE.surface_text("en").starters == []  # the knowledge base supplies them


@pytest.mark.parametrize(
    ("starters", "message"),
    [
        ([f"Question {n}?" for n in range(7)], "text.en.starters: Value error, at most 6"),
        (["W" * 120 + "?"], "starter 1 is 121 characters; keep each to 120"),
        (["How?", " "], "starter 2 is empty; write the question or remove it"),
    ],
)
def test_too_many_or_too_long_starters_name_the_field(
    tmp_path: Path, starters: list[str], message: str
) -> None:
    import json

    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"text": {"en": {"starters": starters}}}), encoding="utf-8")

    with pytest.raises(ConfigurationError, match=r"text\.en\.starters: ") as raised:
        CarmakerProfile.load(path)

    assert message in str(raised.value)


def test_a_missing_profile_says_which_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GLOVEBOX_PROFILE_PATH"):
        load_profile(tmp_path / "nowhere.yaml")
