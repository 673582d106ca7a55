"""Which vehicle the asker means: VIN decoding and spotting a model or model year in a message.

catalog = VehicleCatalog([("Acme", "Roadster", 2021, 2025)])
catalog.find_in_text("My 2022 roadster shows a yellow light")  # Acme Roadster 2022
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.records import Vehicle
from knowledge.errors import InputError
from knowledge.keywords.terms import keyword_tokens
from knowledge.profile import NO_PROFILE, CarmakerProfile
from knowledge.records import (
    UNKNOWN_YEAR_FIRST,
    UNKNOWN_YEAR_LAST,
    compact_name,
    normalise_vehicle_name,
)

VIN_LENGTH = 17
VIN_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
"""Digits and capital letters without I, O and Q (too easy to mistake for 1 and 0)."""

_TRANSLITERATION = {
    **{digit: int(digit) for digit in "0123456789"},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_CHECK_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_CHECK_DIGIT_INDEX = 8
_MODEL_YEAR_INDEX = 9
_MODEL_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
"""Position 10 codes in order from 1980; the sequence repeats every 30 years."""
_FIRST_CODED_YEAR = 1980

_WMI_REGIONS = (
    ("ABCDEFGH", "Africa"), ("JKLMNPR", "Asia"), ("STUVWXYZ", "Europe"),
    ("12345", "North America"), ("67", "Oceania"), ("890", "South America"),
)  # fmt: skip
"""The region a VIN's first character (the WMI's) assigns, after ISO 3780."""

MAKE_NAMED = 3
"""The strongest cue that a name is meant as a model: its make is named too."""
TYPO_LOOKUPS_REMEMBERED = 65_536
"""Words already looked up among the model names for a typo (each one a few hundred bytes)."""
MAX_CHOICES = 5
"""Never more choices than this in a question put back to the asker."""
EARLIEST_MENTIONED_YEAR = 1980
LATEST_MENTIONED_YEAR = 2035

CatalogEntry = tuple[str, str | None, int | None, int | None]
"""(make, model, year_first, year_last); model None means every model of the make."""


def vin_check_digit(vin: str) -> str:
    """The North-American check digit (VIN position 9) for a 17-character VIN."""
    total = sum(
        _TRANSLITERATION[character] * weight
        for character, weight in zip(vin.upper(), _CHECK_WEIGHTS, strict=True)
    )
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def decode_vin(
    vin: str, *, profile: CarmakerProfile = NO_PROFILE, current_year: int | None = None
) -> Vehicle:
    """Validate a VIN and read its model year, and its make and model where the carmaker
    profile has a table for its WMI.

    The model year code repeats every 30 years; the most recent year not later than next
    year is chosen (a car can be sold as next year's model). Raises `InputError` naming
    what is wrong with the VIN and where to find the right one.
    """
    normalised = vin.strip().upper()
    _validate_vin(normalised)
    this_year = date.today().year if current_year is None else current_year
    year = _model_year(normalised[_MODEL_YEAR_INDEX], this_year)
    table = profile.vin_table(normalised)
    if table is None:
        return Vehicle(year=year, vin=normalised)
    letter = normalised[table.model_position - 1]
    return Vehicle(
        make=table.make, model=table.model_letters.get(letter), year=year, vin=normalised
    )


def vin_region(vin: str) -> str | None:
    """'North America' for a VIN starting 1-5, and so on (ISO 3780); None if not a VIN."""
    first = vin.strip().upper()[:1]
    return next((region for codes, region in _WMI_REGIONS if first and first in codes), None)


def make_vin(model_letter: str, year: int, serial: str = "123456", *, wmi: str) -> str:
    """A valid VIN (correct check digit) for a model letter and model year.

    Years more than 30 years back share a code with a later year, so `decode_vin` reads
    them as the later one. `wmi` is the maker's 3-character code.
    """
    if year < _FIRST_CODED_YEAR:
        raise ValueError(f"model year {year} has no VIN year code: codes start at 1980")
    year_code = _MODEL_YEAR_CODES[(year - _FIRST_CODED_YEAR) % len(_MODEL_YEAR_CODES)]
    without_check = f"{wmi}{model_letter}1A2E0{year_code}A{serial}".upper()
    if len(without_check) != VIN_LENGTH or not set(without_check) <= VIN_ALPHABET:
        raise ValueError(
            f"cannot build a VIN from wmi {wmi!r}, model letter {model_letter!r} and serial "
            f"{serial!r}: use a 3-character WMI, 1 letter and 6 characters, none of them I, O, Q"
        )
    check = vin_check_digit(without_check)
    return without_check[:_CHECK_DIGIT_INDEX] + check + without_check[_CHECK_DIGIT_INDEX + 1 :]


def describe_vehicle(vehicle: Vehicle | None) -> str:
    """A short label for replies and tickets: '2022 Acme Roadster', 'Acme Roadster'."""
    if vehicle is None:
        return "unknown vehicle"
    name = " ".join(part for part in (vehicle.make, vehicle.model) if part)
    if vehicle.year and name:
        return f"{vehicle.year} {name}"
    region = vin_region(vehicle.vin) if vehicle.vin else None
    if vehicle.year and region:
        return f"{vehicle.year} vehicle built in {region} (make and model unknown)"
    if vehicle.year:
        return f"{vehicle.year} vehicle (make and model unknown)"
    return name or "unknown vehicle"


@dataclass(frozen=True)
class _Coverage:
    make: str
    model: str | None
    year_first: int | None
    year_last: int | None

    def applies_to(self, make: str | None, model: str | None, year: int | None) -> bool:
        """Names are normalised; None means the asker's vehicle does not say."""
        if make and make != self.make:
            return False
        make_wide = self.model is None and make is not None
        if model and model != self.model and not make_wide:
            return False
        after_first = not year or self.year_first is None or year >= self.year_first
        before_last = not year or self.year_last is None or year <= self.year_last
        return after_first and before_last


@dataclass(frozen=True)
class _Mention:
    key: str
    start: int
    end: int


@dataclass(frozen=True)
class _YearMention:
    year: int
    start: int
    end: int
    marked: bool
    """Said to be a model year ('MY2023', '2024 model'), so it beats other years."""


class VehicleCatalog:
    """The vehicles the knowledge base has documents for, and spotting them in a message.

    catalog = VehicleCatalog.from_metadata(store_metadata_rows, profile=profile)
    catalog.find_in_text("it's a roadster, 2024 model")  # Vehicle("Acme", "Roadster", 2024)
    """

    METADATA_FIELDS = ("make", "model", "vehicle", "vehicle_scope", "year_first", "year_last")
    """The chunk metadata `from_metadata` reads."""

    def __init__(
        self,
        vehicles: Iterable[CatalogEntry],
        *,
        profile: CarmakerProfile = NO_PROFILE,
        everyday_names: Iterable[str] = (),
    ) -> None:
        """`everyday_names`: model names (normalised) that need a cue as the everyday words
        of `EVERYDAY_WORD_MODELS` do; `names_used_for_other_things` finds a knowledge base's."""
        self.profile = profile
        self._everyday_names = EVERYDAY_WORD_MODELS | frozenset(everyday_names)
        self._coverage: dict[_Coverage, None] = {}  # in first-seen order, each once
        self._coverage_of_model: dict[str | None, list[_Coverage]] = {}
        self._make_names: dict[str, str] = {}
        self._model_names: dict[str, str] = {}
        self._makes_of_model: dict[str, set[str]] = {}
        for make, model, year_first, year_last in vehicles:
            make_key = normalise_vehicle_name(make)
            if not make_key:
                raise ValueError(
                    f"catalog entry {(make, model)!r} has no make: every entry needs one"
                )
            model_key = normalise_vehicle_name(model or "") or None
            self._make_names.setdefault(make_key, " ".join(make.split()))
            if model_key and model:
                self._model_names.setdefault(model_key, " ".join(model.split()))
                self._makes_of_model.setdefault(model_key, set()).add(make_key)
            coverage = _Coverage(
                make_key, model_key, _known_year(year_first), _known_year(year_last)
            )
            if coverage not in self._coverage:
                self._coverage[coverage] = None
                self._coverage_of_model.setdefault(model_key, []).append(coverage)
        self._model_pattern = _names_pattern(self._model_names)
        aliases = {
            alias: target for alias, target in MAKE_ALIASES.items() if target in self._make_names
        }
        self._make_pattern = _names_pattern({**self._make_names, **aliases})
        self._model_keys = {compact_name(key): key for key in sorted(self._model_names)}
        self._model_keys_by_shape: dict[tuple[str, int], list[str]] = {}
        for compact in self._model_keys:
            if compact:
                self._model_keys_by_shape.setdefault((compact[0], len(compact)), []).append(compact)
        self._typo_models: dict[tuple[str, frozenset[str]], str | None] = {}
        self._models_per_make: dict[str, int] = {}
        for makes in self._makes_of_model.values():
            for make in makes:
                self._models_per_make[make] = self._models_per_make.get(make, 0) + 1
        dated = {c.model for c in self._coverage if c.year_first or c.year_last}
        # Models no document gives a model year: equipment in a recall feed (a parts maker's
        # 'Air Bag', 'Fuel Pump'). Named without their make, they are words, not models.
        self._yearless_models = {key for key in self._model_names if key not in dated}
        self._make_keys = {compact_name(key): key for key in sorted(self._make_names)}
        self._make_keys.update({compact_name(alias): target for alias, target in aliases.items()})
        self._other_make_names = {
            normalise_vehicle_name(make): make
            for make in WELL_KNOWN_MAKES
            if normalise_vehicle_name(make) not in self._make_names
            and MAKE_ALIASES.get(normalise_vehicle_name(make)) not in self._make_names
        }
        self._other_make_pattern = _names_pattern(self._other_make_names)
        self._close_cache: dict[tuple[str, int], list[tuple[str, float]]] = {}

    @classmethod
    def from_metadata(
        cls,
        rows: Iterable[Mapping[str, Any]],
        *,
        profile: CarmakerProfile = NO_PROFILE,
        everyday_names: Iterable[str] = (),
    ) -> VehicleCatalog:
        """Build from stored chunk metadata; general (vehicle-less) chunks add nothing."""
        names: dict[tuple[str, str], tuple[str, str | None]] = {}
        spans: dict[tuple[str, str], set[tuple[int | None, int | None]]] = {}
        for row in rows:
            make = str(row.get("make") or "")
            if row.get("vehicle_scope") == "general" or not normalise_vehicle_name(make):
                continue
            model = str(row.get("model") or "")
            make_name, model_name = _display_names(make, model, str(row.get("vehicle") or ""))
            key = (normalise_vehicle_name(make), normalise_vehicle_name(model))
            years = (_optional_int(row.get("year_first")), _optional_int(row.get("year_last")))
            names.setdefault(key, (make_name, model_name or None))
            spans.setdefault(key, set()).add(years)
        entries = [
            (*names[key], first, last)
            for key in names
            for first, last in sorted(spans[key], key=lambda span: (span[0] or 0, span[1] or 0))
        ]
        return cls(entries, profile=profile, everyday_names=everyday_names)

    def decode_vin(self, vin: str) -> Vehicle:
        """`decode_vin` with this carmaker's VIN tables."""
        return decode_vin(vin, profile=self.profile)

    def makes(self) -> list[str]:
        """Display names of the makes the knowledge base has documents for, sorted."""
        return sorted(self._make_names.values(), key=str.lower)

    def models(self) -> list[str]:
        """Display names of the models the knowledge base has documents for, sorted."""
        return sorted(self._model_names.values(), key=str.lower)

    def model_choices(self, text: str = "", *, limit: int = MAX_CHOICES) -> list[str]:
        """At most `limit` models to offer back: all of them when there are that few, else
        the ones closest to what the asker wrote (none when nothing is close)."""
        models = self.models()
        if len(models) <= limit:
            return models

        words = [w for w in re.findall(r"[a-z0-9-]+", text.lower()) if not w.isdigit()]
        close: dict[str, float] = {}
        for word in words:
            for key, ratio in self._close_models(normalise_vehicle_name(word), limit):
                close[key] = max(close.get(key, 0.0), ratio)
        best = sorted(close, key=lambda key: -close[key])[:limit]
        return [self._model_names[key] for key in best]

    def _close_models(self, word: str, limit: int) -> list[tuple[str, float]]:
        """The model names within a small edit of one word, with their similarity; kept per
        word, since drivers' words repeat and the catalogue does not change."""
        import difflib

        cached = self._close_cache.get((word, limit))
        if cached is None:
            matches = difflib.get_close_matches(word, self._model_names, limit, 0.75)
            cached = [(key, difflib.SequenceMatcher(None, word, key).ratio()) for key in matches]
            if len(self._close_cache) > 4096:
                self._close_cache.clear()
            self._close_cache[(word, limit)] = cached
        return cached

    def without_vehicle_words(self, text: str) -> str:
        """The text without its VINs, model years and model names (the topic of a question)."""
        topic = self._vehicle_words.sub(" ", text)
        return re.sub(r"\s+", " ", topic).strip() or text

    @functools.cached_property
    def _vehicle_words(self) -> re.Pattern[str]:
        names = [re.escape(name) for name in self.models()]
        patterns = [r"\b[A-HJ-NPR-Z0-9]{17}\b", r"\b(19|20)\d{2}\b", r"'\d{2}\b"]
        if names:
            patterns.append(r"\b(" + "|".join(names) + r")\b")
        return re.compile("|".join(patterns), re.IGNORECASE)

    def choices_phrase(self, text: str = "") -> str:
        """' (Roadster, Coupe or Van)' to put after 'the model', or '' to ask in words."""
        choices = self.model_choices(text)
        if not choices:
            return ""
        if len(choices) == 1:
            return f" ({choices[0]}?)"
        return f" ({', '.join(choices[:-1])} or {choices[-1]})"

    def coverage_summary(self, limit: int = MAX_CHOICES) -> str:
        """What the knowledge base covers, in a line: 'Acme Roadster and Coupe', or
        '212 models of 31 makes, for example ...'."""
        makes, models = self.makes(), self.models()
        if not makes:
            return "no particular vehicle"
        if len(models) <= limit:
            return f"{' and '.join(makes[:limit])} {', '.join(models)}".strip()
        return (
            f"{len(models)} models of {len(makes)} make{'s' if len(makes) > 1 else ''} "
            f"({', '.join(makes[:limit])}{', ...' if len(makes) > limit else ''})"
        )

    def other_make_in(self, text: str, *, owned: bool = False) -> str | None:
        """A well-known maker the text names that no document here is for ('Toyota').

        With `owned`, only one said to be the asker's car ('my 2020 Toyota', 'I drive a
        Honda'), so 'can I charge at a Tesla Supercharger?' is still a question for us.
        """
        for mention in _mentions(self._other_make_pattern, text):
            if not owned or (
                _OWNED_BEFORE.search(text[: mention.start])
                and not _ACCESSORY_AFTER.match(text[mention.end :])
            ):
                return self._other_make_names[mention.key]
        return None

    def model_years(self, model: str) -> tuple[int, int] | None:
        """First and last model year of the model's own documents; None if they don't say."""
        key = normalise_vehicle_name(model)
        spans = self._coverage_of_model.get(key, [])
        if not spans or any(c.year_first is None or c.year_last is None for c in spans):
            return None
        return min(c.year_first or 0 for c in spans), max(c.year_last or 0 for c in spans)

    def knows_model_year(self, vehicle: Vehicle) -> bool:
        """False for a model year the model's documents don't reach (a 2027 of a 2021-2025
        model)."""
        years = self.model_years(vehicle.model) if vehicle.model and vehicle.year else None
        return years is None or years[0] <= (vehicle.year or 0) <= years[1]

    def covers(self, vehicle: Vehicle | None) -> bool:
        """Whether any document applies to this vehicle, judged on the fields it knows.

        A make-wide document covers every model of that make only when the make is known,
        so a model from another maker is never 'covered' by it. Nothing known: False.
        """
        if vehicle is None or not (vehicle.make or vehicle.model or vehicle.year):
            return False
        make_key = normalise_vehicle_name(vehicle.make) if vehicle.make else None
        model_key = normalise_vehicle_name(vehicle.model) if vehicle.model else None
        # A model's own documents, or make-wide ones; nothing else can apply to it.
        candidates: Iterable[_Coverage] = (
            [*self._coverage_of_model.get(model_key, []), *self._coverage_of_model.get(None, [])]
            if model_key
            else self._coverage
        )
        return any(
            coverage.applies_to(make_key, model_key, vehicle.year) for coverage in candidates
        )

    def find_in_text(self, text: str) -> Vehicle | None:
        """The vehicle a message mentions (model, model year, VIN), or None if it names none.

        A valid VIN wins over words; an invalid one is ignored here (`decode_vin` is the
        place to tell the user what is wrong with it). Two different models in one message
        leave the model unknown rather than guessing which one the question is about.
        """
        vin_vehicle: Vehicle | None = None
        for match in _VIN_TOKEN.finditer(text):
            try:
                vin_vehicle = self.decode_vin(match.group())
            except InputError:
                continue
            break
        words = _VIN_TOKEN.sub(lambda match: " " * len(match.group()), text)

        make_mentions = _mentions(self._make_pattern, words, self._make_keys)
        makes_named = {mention.key for mention in make_mentions}
        model_mentions = [
            self._without_make(m, makes_named)
            for m in _mentions(self._model_pattern, words, self._model_keys)
        ]
        model_mentions = self._likeliest(model_mentions, makes_named, words) or self._misspelled(
            words, makes_named
        )
        model_keys = {mention.key for mention in model_mentions}
        model_key = model_keys.pop() if len(model_keys) == 1 else None
        model_mention = next((m for m in model_mentions if m.key == model_key), None)
        year = _pick_year(_year_mentions(words), model_mention) or _bare_year_after(
            words, model_mention
        )
        make = self._make_for(model_key, makes_named)

        from_words = Vehicle(
            make=make,
            model=self._model_names[model_key] if model_key else None,
            year=year,
        )
        found = from_words.merged_with(vin_vehicle)
        if not (found.make or found.model or found.year or found.vin):
            return None
        return found

    def _likeliest(
        self, mentions: list[_Mention], makes_named: set[str], text: str
    ) -> list[_Mention]:
        """Of the models a message names, the best attested: said with its make, then
        written as a code or in several words ('F-150', 'Model S'), then beside a model
        year or capitalised. A name that is an everyday word or a letter or two ('Charger',
        'Fuel', 'A') is no model at all without one of those cues."""
        scored = [(self._cue(m, makes_named, text), m) for m in mentions]
        kept = [
            (cue, m)
            for cue, m in scored
            if cue >= MAKE_NAMED
            or (
                m.key not in self._yearless_models
                and len(compact_name(m.key)) > 2  # 'A', 'tC': only with their make
                and (cue or not self._needs_a_cue(m.key))
            )
        ]
        if not kept:
            return []
        best = max(cue for cue, _ in kept)
        top = [m for cue, m in kept if cue == best]
        if len({m.key for m in top}) > 1:
            # Equally attested: a major maker's model over a niche one's ('camry' over a
            # trailer called 'Fuel'), when one maker has far more models here.
            size = {m.key: self._maker_size(m.key) for m in top}
            ranked = sorted(size.values(), reverse=True)
            if ranked[0] >= 2 * ranked[1]:
                top = [m for m in top if size[m.key] == ranked[0]]
        return top

    def _maker_size(self, model_key: str) -> int:
        return max(
            (
                self._models_per_make.get(make, 0)
                for make in self._makes_of_model.get(model_key, ())
            ),
            default=0,
        )

    def _without_make(self, mention: _Mention, makes_named: set[str]) -> _Mention:
        """'Chevrolet Silverado 1500' is also a converter's model name; with Chevrolet named,
        it is Chevrolet's Silverado 1500."""
        for make in makes_named:
            rest = mention.key[len(make) + 1 :]
            if mention.key.startswith(f"{make} ") and make in self._makes_of_model.get(rest, ()):
                return _Mention(rest, mention.start, mention.end)
        return mention

    def _needs_a_cue(self, key: str) -> bool:
        return key in self._everyday_names or len(compact_name(key)) <= 2

    def _cue(self, mention: _Mention, makes_named: set[str], text: str) -> int:
        if self._makes_of_model.get(mention.key, set()) & makes_named:
            return MAKE_NAMED
        if any(c.isdigit() for c in mention.key) or " " in mention.key:
            return 2
        written = text[mention.start : mention.end]
        year_before = re.search(r"((19|20)\d{2}|['’]\d{2})\s*$", text[: mention.start])
        year_after = re.match(r"\s*((19|20)\d{2}|['’]?\d{2})\b", text[mention.end :])
        capitalised = written[:1].isupper() and not written.isupper() and mention.start > 0
        return 1 if year_before or year_after or capitalised else 0

    def _misspelled(self, text: str, makes_named: set[str]) -> list[_Mention]:
        """A model written with a small typo ('modle y', 'wrangeler'): one or two words
        within an edit or so of a name of four letters or more, with a cue that a model is
        meant (its make, a model year beside it, a capital, a code). Among thousands of
        names, everyday words are a typo away from some ('for the': 'Forte')."""
        tokens = list(re.finditer(r"[a-z0-9]+", text.lower()))
        found = []
        for size in (2, 1):
            for index in range(len(tokens) - size + 1):
                group = tokens[index : index + size]
                written = "".join(token.group() for token in group)
                if len(written) < 4 or written.isdigit():
                    continue
                model_key = self._typo_of_model(written, makes_named)
                if model_key is None:
                    continue
                mention = _Mention(model_key, group[0].start(), group[-1].end())
                if self._cue(mention, makes_named, text):
                    found.append(mention)
            if found:
                return found
        return found

    def _typo_of_model(self, written: str, makes_named: set[str]) -> str | None:
        """The model key `written` is a typo of, if any. Remembered per word: messages share
        their words, and the search among a large catalogue's names takes milliseconds."""
        import difflib

        makes = frozenset(makes_named)
        if (written, makes) in self._typo_models:
            return self._typo_models[written, makes]
        candidates = [
            key
            for length in (len(written) - 1, len(written), len(written) + 1)
            for key in self._model_keys_by_shape.get((written[0], length), ())
            if not self._needs_a_cue(self._model_keys[key])
            or self._makes_of_model.get(self._model_keys[key], set()) & makes_named
        ]
        close = difflib.get_close_matches(written, candidates, n=1, cutoff=0.8)
        if len(self._typo_models) >= TYPO_LOOKUPS_REMEMBERED:
            self._typo_models.clear()
        self._typo_models[written, makes] = self._model_keys[close[0]] if close else None
        return self._typo_models[written, makes]

    def _make_for(self, model_key: str | None, mentioned_makes: set[str]) -> str | None:
        if model_key:
            candidates = self._makes_of_model.get(model_key, set())
            if len(candidates) > 1:
                candidates = candidates & mentioned_makes
        else:
            candidates = mentioned_makes
        if len(candidates) != 1:
            return None
        return self._make_names[next(iter(candidates))]


_WHERE_TO_FIND_THE_VIN = (
    "the lower left corner of the windshield, the driver's door jamb label "
    "or the registration document"
)


def _validate_vin(vin: str) -> None:
    if not vin:
        raise InputError(
            source="vin", problem=f"no VIN was given: copy it from {_WHERE_TO_FIND_THE_VIN}"
        )
    if len(vin) != VIN_LENGTH:
        raise InputError(
            source="vin",
            problem=f"a VIN has {VIN_LENGTH} characters; this one has {len(vin)}: "
            f"check {_WHERE_TO_FIND_THE_VIN}",
        )
    for position, character in enumerate(vin, start=1):
        if character in VIN_ALPHABET:
            continue
        if character in "IOQ":
            looks_like = "1" if character == "I" else "0"
            problem = (
                f"position {position} is the letter {character}, which VINs never use: "
                f"it is probably the digit {looks_like}; check the VIN and type it again"
            )
        else:
            problem = (
                f"position {position} is {character!r}, which a VIN never contains: a VIN "
                "has only digits and capital letters (no I, O or Q); type it again"
            )
        raise InputError(source="vin", problem=problem)
    expected = vin_check_digit(vin)
    if vin[_CHECK_DIGIT_INDEX] != expected:
        raise InputError(
            source="vin",
            problem=f"the check digit (position 9) is {vin[_CHECK_DIGIT_INDEX]} but the other "
            f"characters need {expected}, so a character was misread or mistyped: compare "
            f"it with {_WHERE_TO_FIND_THE_VIN} and type it again",
        )
    if vin[_MODEL_YEAR_INDEX] not in _MODEL_YEAR_CODES:
        raise InputError(
            source="vin",
            problem=f"position 10 is {vin[_MODEL_YEAR_INDEX]}, which is not a model-year code "
            "(U, Z and 0 are never used): check the VIN and type it again",
        )


def _model_year(code: str, current_year: int) -> int:
    first_year = _FIRST_CODED_YEAR + _MODEL_YEAR_CODES.index(code)
    cycles = max(0, (current_year + 1 - first_year) // len(_MODEL_YEAR_CODES))
    return first_year + cycles * len(_MODEL_YEAR_CODES)


def _known_year(year: int | None) -> int | None:
    """The store writes 0 and 9999 for open-ended ranges; here they mean 'no limit'."""
    if year is None or year in (UNKNOWN_YEAR_FIRST, UNKNOWN_YEAR_LAST):
        return None
    return year


def _optional_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _display_names(make: str, model: str, label: str) -> tuple[str, str]:
    """Take 'Acme' and 'Roadster' from the label 'Acme Roadster 2021–2022' when it agrees."""
    label_words = label.split()
    make_words = len(make.split())
    model_words = len(model.split())
    display_make = " ".join(label_words[:make_words])
    display_model = " ".join(label_words[make_words : make_words + model_words])
    if normalise_vehicle_name(display_make) != normalise_vehicle_name(make):
        display_make = _capitalised(make)
    if normalise_vehicle_name(display_model) != normalise_vehicle_name(model):
        display_model = _capitalised(model)
    return display_make, display_model


def _capitalised(name: str) -> str:
    """The stored names are lowercase; without a label this is the best display guess."""
    return " ".join(word[:1].upper() + word[1:] for word in name.split())


def _names_pattern(names: Mapping[str, str]) -> re.Pattern[str] | None:
    if not names:
        return None
    # Longest first, so 'Model S Plaid' is found before 'Model S' when both are models.
    alternatives = sorted(names, key=len, reverse=True)
    spelled = "|".join(
        r"[\s.\-]*".join(map(re.escape, re.findall(r"[a-z]+|[0-9]+", name)))
        for name in alternatives
    )
    return re.compile(rf"(?<![\w-])(?:{spelled})(?![\w-])", re.IGNORECASE)


def _mentions(
    pattern: re.Pattern[str] | None, text: str, keys: Mapping[str, str] | None = None
) -> list[_Mention]:
    """Each name the pattern finds, as its key in `keys` (by compact spelling)."""
    if pattern is None:
        return []
    return [
        _Mention(
            (keys or {}).get(compact_name(match.group())) or normalise_vehicle_name(match.group()),
            match.start(),
            match.end(),
        )
        for match in pattern.finditer(text)
    ]


# Model names that are also everyday words: "my charger won't work" is about an EV charger,
# "the air conditioning" about the air. Such a name counts as a model only when its make is
# named, a model year stands right before it, or it is written capitalised ('my Charger').
EVERYDAY_WORD_MODELS = frozenset(
    "air one edge escape ranger pilot passport journey compass patriot trailer transit focus"
    " fusion fit insight clarity element soul spark sonic volt bolt express terrain encore"
    " voyager challenger charger renegade gladiator frontier rogue leaf titan kicks accord"
    " civic crown legacy maverick expedition flex ascent envoy"
    " acadia equinox traverse trax blazer colorado canyon".split()
)


def names_used_for_other_things(
    model_chunks: Mapping[str | None, int], word_documents: Mapping[str, int]
) -> frozenset[str]:
    """The one-word model names a knowledge base mostly uses for something else: 'Fuel', a
    trailer with a few chunks of its own, is a word of thousands of fuel-pump recalls. Such a
    name needs a cue (its make, a model year, a capital) to be meant as a model.

    `model_chunks` counts the chunks of each model (any spelling, any make, None for none);
    `word_documents` the chunks each keyword token is in (the keyword index's document
    frequencies)."""
    own: dict[str, int] = {}
    for model, chunks in model_chunks.items():
        key = normalise_vehicle_name(str(model or ""))
        if key:
            own[key] = own.get(key, 0) + chunks
    everyday = set()
    for key, chunks in own.items():
        words = keyword_tokens(key)
        if len(words) != 1:
            continue
        elsewhere = word_documents.get(words[0], 0)
        if elsewhere >= max(EVERYDAY_NAME_MIN_CHUNKS, EVERYDAY_NAME_FACTOR * chunks):
            everyday.add(key)
    return frozenset(everyday)


EVERYDAY_NAME_FACTOR = 20
"""A model name in twenty times as many chunks as the model has is mostly another word. At
ten, distinctive names that multi-model recall notices repeat ('Venza', 'Panamera') were
caught too (seen in the 10k recall-notice tier's catalogue; 'Fuel' is at 186, 'Bus' 294)."""
EVERYDAY_NAME_MIN_CHUNKS = 20
"""Below this many chunks a name's count says nothing (a small knowledge base, a new model)."""

# Makers a driver may name instead of ours. Names that are also common words ("Mini",
# "Ram", "Genesis", "Smart") are left out: a false alarm would refuse a real question.
WELL_KNOWN_MAKES = (
    "Acura", "Alfa Romeo", "Aston Martin", "Audi", "Bentley", "BMW", "Buick", "BYD",
    "Cadillac", "Chevrolet", "Chevy", "Chrysler", "Citroen", "Dacia", "Dodge", "Ferrari",
    "Fiat", "Ford", "GMC", "Honda", "Hyundai", "Infiniti", "Isuzu", "Kia", "Lamborghini",
    "Land Rover", "Lexus", "Lincoln", "Lucid", "Maserati", "Mazda", "Mercedes",
    "Mercedes-Benz", "Mitsubishi", "Nissan", "Opel", "Peugeot", "Polestar", "Porsche",
    "Renault", "Rivian", "Rolls-Royce", "Skoda", "Subaru", "Suzuki", "Tesla",
    "Toyota", "Vauxhall", "Volkswagen", "VW", "Volvo",
    "Bugatti", "Chery", "Cupra", "Daewoo", "Daihatsu", "Fisker", "Geely", "Great Wall",
    "Holden", "Hummer", "Jaguar", "Jeep", "Karma", "Lada", "Lancia", "Lotus", "Mahindra",
    "McLaren", "Mercury", "Nio", "Oldsmobile", "Plymouth", "Pontiac", "Proton", "Saab",
    "Saturn", "Scion", "SsangYong", "Tata", "VinFast", "Xpeng", "Zeekr",
)  # fmt: skip

MAKE_ALIASES = {
    "chevy": "chevrolet", "vw": "volkswagen", "mercedes": "mercedes-benz", "benz": "mercedes-benz",
    "merc": "mercedes-benz", "mercedes benz": "mercedes-benz", "land rover": "land rover",
    "caddy": "cadillac", "alfa": "alfa romeo",
}  # fmt: skip
"""What people call a make: 'Chevy' is the Chevrolet of the catalogue (normalised names)."""

_OWNED_BEFORE = re.compile(
    r"\b(my|our|i (have|drive|own|bought|leased|rented)( an?)?|it'?s an?|is an?)\s+"
    r"((19|20)\d{2}\s+|'\d{2}\s+)?$",
    re.IGNORECASE,
)
"""Words just before a maker's name that make it the asker's car."""

_ACCESSORY_AFTER = re.compile(
    r"\s+(super ?chargers?|chargers?|charging|adapters?|app|wall ?(box|connector|charger)"
    r"|plugs?|cables?|connectors?|stations?|network)\b",
    re.IGNORECASE,
)
"""'My Tesla adapter' is a charging accessory, not the asker's car."""

_VIN_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*\d)[A-Za-z0-9]{17}(?![A-Za-z0-9])")
"""17 letters and digits standing alone, at least one of them a digit (no word is a VIN)."""

_UNITS = (
    r"lbs?|pounds?|kgs?|tons?|rpm|km/h|kmh|kph|mph|kms?|mi|miles?|psi|bar|kpa|nm|n·m|n-m|n\.m"
    r"|ft|feet|ft-lbs?|lb-ft|kwh?|hp|cc|ml|qt|gal|volts?|amps?|watts?|hrs?|hours?|mins?"
    r"|minutes?|dollars?|usd|%|°"
)
_NOT_A_UNIT_AFTER = rf"(?!\s*(?:{_UNITS})(?!\w))"
_NOT_PART_OF_A_NUMBER_AFTER = r"(?!\w)(?![.,]\d)"
_YEAR_PATTERN = re.compile(
    rf"""
    (?:
        (?<![\w$#/.,'’-])(?P<full>\d{{4}})
      | (?<!\w)MY(?P<marked>\d{{4}}|\d{{2}})
      | (?<!\w)['’‘](?P<short>\d{{2}})
    )
    {_NOT_PART_OF_A_NUMBER_AFTER}{_NOT_A_UNIT_AFTER}
    """,
    re.IGNORECASE | re.VERBOSE,
)
_MODEL_WORD_AFTER = re.compile(r"\s*model\b", re.IGNORECASE)
_MODEL_YEAR_WORDS_BEFORE = re.compile(r"model[\s-]+year\s*$", re.IGNORECASE)


def _year_mentions(text: str) -> list[_YearMention]:
    found: list[_YearMention] = []
    for match in _YEAR_PATTERN.finditer(text):
        digits = match.group("full") or match.group("marked") or match.group("short")
        year = int(digits) if len(digits) == 4 else _two_digit_year(int(digits))
        if not EARLIEST_MENTIONED_YEAR <= year <= LATEST_MENTIONED_YEAR:
            continue
        marked = (
            match.group("marked") is not None
            or _MODEL_WORD_AFTER.match(text, match.end()) is not None
            or _MODEL_YEAR_WORDS_BEFORE.search(text[: match.start()]) is not None
        )
        found.append(_YearMention(year, match.start(), match.end(), marked))
    return found


def _bare_year_after(text: str, model: _Mention | None) -> int | None:
    """'grand cherokee 4xe 22': two digits right after the model are its year."""
    if model is None:
        return None
    match = re.match(r"\s+(\d{2})(?![\w.,%])(?!\s*(?:" + _UNITS + r")\b)", text[model.end :])
    return _two_digit_year(int(match.group(1))) if match else None


def _two_digit_year(digits: int) -> int:
    year = 2000 + digits
    return year if year <= LATEST_MENTIONED_YEAR else 1900 + digits


def _pick_year(years: list[_YearMention], model: _Mention | None) -> int | None:
    """A year called a model year first, then the one nearest the model's name, then the first."""
    if not years:
        return None
    candidates = [mention for mention in years if mention.marked] or years
    if model is None:
        return candidates[0].year

    def distance(mention: _YearMention) -> int:
        return max(model.start - mention.end, mention.start - model.end, 0)

    return min(candidates, key=distance).year


class CatalogOnFirstUse:
    """A knowledge base's catalogue, built when first asked for, once: a server answers
    /healthz while its warm-up reads it, and requests that need it first wait for that read.

        catalog = CatalogOnFirstUse(lambda: VehicleCatalog.from_metadata(rows))
        catalog.get().find_in_text("my 2024 roadster")
    """

    def __init__(self, build: Callable[[], VehicleCatalog]) -> None:
        self._build = build
        self._catalog: VehicleCatalog | None = None
        self._lock = threading.Lock()

    def get(self) -> VehicleCatalog:
        catalog = self._catalog
        if catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._catalog = self._build()
                catalog = self._catalog
        return catalog
