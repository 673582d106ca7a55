"""A carmaker's profile: its brands, VIN tables, market and the words its surfaces show.

Loaded from a YAML or JSON file (`GLOVEBOX_PROFILE_PATH`); without one, Glovebox is a plain
assistant for whatever was ingested: the vehicle catalogue comes from the documents'
metadata and a VIN gives its model year and region. The sample carmaker's profile ships
beside its knowledge base (`knowledge/sample/profile.yaml`).

    profile = CarmakerProfile.load(Path("knowledge/sample/profile.yaml"))
    profile.vin_make("1ABC...")  # the make whose WMI the VIN starts with, or None
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from knowledge.errors import ConfigurationError, validation_problems

MAX_STARTERS = 6
MAX_STARTER_CHARS = 120
"""Starter questions are chips under the welcome: a few, each short enough for one."""


class VinTable(BaseModel):
    """The VINs one make's factories issue: their WMI codes and, where the maker publishes
    it, the model each letter at `model_position` stands for."""

    model_config = ConfigDict(extra="forbid")

    make: str = Field(min_length=1)
    wmi: list[str] = Field(min_length=1)
    model_position: int = Field(default=4, ge=4, le=8)
    """1-based VIN position of the model letter (within the vehicle descriptor, 4-8)."""
    model_letters: dict[str, str] = Field(default_factory=dict)

    @field_validator("wmi")
    @classmethod
    def _three_characters(cls, codes: list[str]) -> list[str]:
        bad = [code for code in codes if len(code.strip()) != 3]
        if bad:
            raise ValueError(f"a WMI is the VIN's first 3 characters; {bad} is not")
        return [code.strip().upper() for code in codes]

    @field_validator("model_letters")
    @classmethod
    def _one_letter(cls, letters: dict[str, str]) -> dict[str, str]:
        bad = [key for key in letters if len(key) != 1]
        if bad:
            raise ValueError(f"model_letters keys are single VIN characters; {bad} are not")
        return {key.upper(): value for key, value in letters.items()}


class SurfaceText(BaseModel):
    """What the widget and help texts say, in one language."""

    model_config = ConfigDict(extra="forbid")

    title: str = "Customer care assistant"
    welcome: str = "Hi! Ask me about your vehicle: maintenance, warning lights, recalls."
    placeholder: str = "Ask about your vehicle…"
    starters: list[str] = Field(default_factory=list)
    """Questions the widget offers before the first one; without, the public FAQ's give them."""

    @field_validator("starters")
    @classmethod
    def _a_few_short_questions(cls, starters: list[str]) -> list[str]:
        cleaned = [" ".join(starter.split()) for starter in starters]
        if len(cleaned) > MAX_STARTERS:
            raise ValueError(
                f"at most {MAX_STARTERS} starter questions, not {len(cleaned)}; keep the ones "
                "drivers ask most"
            )
        for number, starter in enumerate(cleaned, 1):
            if not starter:
                raise ValueError(f"starter {number} is empty; write the question or remove it")
            if len(starter) > MAX_STARTER_CHARS:
                raise ValueError(
                    f"starter {number} is {len(starter)} characters; keep each to "
                    f"{MAX_STARTER_CHARS}"
                )
        return cleaned


DEFAULT_TEXT = {
    "en": SurfaceText(),
    "es": SurfaceText(
        title="Asistente de atención al cliente",
        welcome="¡Hola! Pregúntame sobre tu vehículo: mantenimiento, testigos, revisiones.",
        placeholder="Pregunta sobre tu vehículo…",
    ),
}


class CarmakerProfile(BaseModel):
    """Everything about one carmaker that is data, not code."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    """How replies name the carmaker ('Example Motors'); empty without a profile."""
    brands: list[str] = Field(default_factory=list)
    """The makes this carmaker sells; another make's car is out of scope when set."""
    market: str = "US"
    emergency_number: str = "911"
    vin: list[VinTable] = Field(default_factory=list)
    vehicle_example: str = "model and year, e.g. 'Corolla 2022'"
    """How a help text shows the asker what to type for a vehicle."""
    text: dict[str, SurfaceText] = Field(default_factory=lambda: dict(DEFAULT_TEXT))
    demo_page: str | None = None
    """An HTML page, relative to the profile file, that the demo server shows."""
    source: Path | None = Field(default=None, exclude=True)

    def surface_text(self, language: str) -> SurfaceText:
        return self.text.get(language) or self.text.get("en") or DEFAULT_TEXT["en"]

    def vin_table(self, vin: str) -> VinTable | None:
        prefix = vin[:3].upper()
        return next((table for table in self.vin if prefix in table.wmi), None)

    def demo_page_path(self) -> Path | None:
        if not self.demo_page:
            return None
        base = self.source.parent if self.source else Path.cwd()
        return (base / self.demo_page).resolve()

    @classmethod
    def load(cls, path: Path) -> CarmakerProfile:
        where = f"the carmaker profile {path}"
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise ConfigurationError(
                f"{where} does not exist; fix GLOVEBOX_PROFILE_PATH, or unset it to run without "
                "a profile"
            ) from error
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"{where} cannot be read ({error})") from error
        data = _parse(raw, path)
        try:
            profile = cls.model_validate(data)
        except ValidationError as error:
            problems = validation_problems(error, "profile")
            raise ConfigurationError(f"{where} is invalid: {problems}") from error
        text = {**DEFAULT_TEXT, **profile.text}
        return profile.model_copy(update={"source": path.resolve(), "text": text})


def _parse(raw: str, path: Path) -> Any:
    import yaml

    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"the carmaker profile {path} is not valid "
            f"{'JSON' if path.suffix.lower() == '.json' else 'YAML'} ({error}); fix it"
        ) from error
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"the carmaker profile {path} must be a mapping (name:, brands:, vin:, ...)"
        )
    return data


NO_PROFILE = CarmakerProfile()


def load_profile(path: Path | None) -> CarmakerProfile:
    """The profile at `path` (GLOVEBOX_PROFILE_PATH), or none."""
    return NO_PROFILE if path is None else CarmakerProfile.load(path)
