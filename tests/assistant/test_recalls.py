"""Which recall questions list a vehicle's recalls and which are answered from the passages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.recalls import (
    RecallLookup,
    asks_what_campaign_is,
    campaign_named,
    is_recall_lookup,
    listing,
    listing_lead,
    names_a_campaign,
    rank_for_question,
)
from assistant.records import Channel, Passage, Vehicle
from assistant.retrieval import KeywordIndex
from knowledge.filters import ChunkFilter
from knowledge.records import MetadataValue
from knowledge.store import ChunkWrite, StoredChunk
from tests.concurrency import run_at_once
from tests.fakes import InMemoryKnowledgeStore


@pytest.mark.parametrize(
    "question",
    [
        "Is there a recall on my car?",
        "any open recalls for a 2023 karst?",
        "Has my Brisa ever been recalled?",
        "Which recalls affect VIN 7HVT1A2EXRA204117?",
        "Are there any recalls for my Tessel? Which parts?",
    ],
)
def test_asking_which_recalls_a_car_has_is_a_lookup(question: str) -> None:
    assert is_recall_lookup(question)


@pytest.mark.parametrize(
    "question",
    [
        "Do I have to pay to get a recall fixed?",
        "How do I find out if a recall applies to me?",
        "Why was my car recalled twice?",
        "What does 'remedy not yet available' mean for a recall?",
        "What does recall 21V455 fix?",
        "Tell me about 24V-210",
        "How do I change a tire?",
    ],
)
def test_questions_about_recalls_in_general_or_one_campaign_are_not_lookups(
    question: str,
) -> None:
    assert not is_recall_lookup(question)


def test_a_campaign_number_is_spotted_with_or_without_its_dash() -> None:
    assert names_a_campaign("is 21V455 done on mine?") and names_a_campaign("24v-210")
    assert not names_a_campaign("P0420 on a 2020 Brisa")


def test_a_campaign_number_is_read_in_its_short_form() -> None:
    assert campaign_named("what about 24v-210000?") == "24V210"
    assert campaign_named("Is there a recall on my car?") is None


@pytest.mark.parametrize(
    ("question", "what_it_is"),
    [
        ("What is recall 22V174 about?", True),
        ("24V210", True),
        ("What’s 22V174?", True),
        ("explain campaign 21V455 please", True),
        ("Do I have to pay for 23V289?", False),
        ("What should I do until 24V210 is fixed?", False),
    ],
)
def test_asking_what_a_campaign_is_differs_from_asking_about_it(
    question: str, what_it_is: bool
) -> None:
    assert asks_what_campaign_is(question) is what_it_is


@pytest.mark.parametrize(
    "written", ["24V210", "24v-210", "24V 210", "24V210000", "recall 24V-210000 letter"]
)
def test_a_campaign_number_is_found_in_every_printed_form(written: str) -> None:
    assert campaign_named(written) == "24V210"


def test_an_agents_framing_still_asks_what_the_campaign_is() -> None:
    question = "Customer is quoting campaign 25V-808. What is it and which vehicles does it cover?"
    assert asks_what_campaign_is(question)


@pytest.mark.parametrize(
    "question", ["recals on 2024 crv??", "caller has a 2022 atlas, anything open on it?"]
)
def test_recall_lookups_typed_loosely_are_still_lookups(question: str) -> None:
    assert is_recall_lookup(question)


def notice(campaign: str, component: str, *, do_not_drive: bool = False) -> Passage:
    text = "\n".join(
        [
            f"NHTSA recall campaign {campaign}.",
            "Vehicles: Acme Roadster, model years 2024.",
            f"Component: {component}.",
            f"Consequence: {component.lower()} trouble can increase the risk of a crash.",
            "Remedy: Dealers will fix it free of charge.",
        ]
    )
    return Passage(f"{campaign}:0", text, {"do_not_drive": do_not_drive})


def test_the_recall_a_question_is_about_comes_first_then_a_do_not_drive_one() -> None:
    notices = [
        notice("26V001", "REAR CAMERA"),
        notice("26V002", "FUEL PUMP"),
        notice("26V003", "AIR BAGS", do_not_drive=True),
    ]

    about_fuel = rank_for_question(notices, "is there a recall about the fuel pump on my car?")
    general = rank_for_question(notices, "any recalls on my car?")

    assert about_fuel[0].chunk_id == "26V002:0"
    assert general[0].chunk_id == "26V003:0"


def test_a_listing_gives_the_first_recall_whole_and_the_others_in_a_line_or_two() -> None:
    notices = [notice("26V001", "REAR CAMERA"), notice("26V002", "FUEL PUMP", do_not_drive=True)]

    draft = listing(notices, "rear camera recall?")
    lead = listing_lead(draft, "2024 Acme Roadster")

    first = [s.text for s in draft.sentences if s.citations == [1]]
    others = [s.text for s in draft.sentences if s.citations == [2]]
    assert any(line.startswith("Remedy:") for line in first)
    assert others == ["NHTSA recall campaign 26V002.", "Component: FUEL PUMP."]
    assert lead == "2 recalls for the 2024 Acme Roadster (1 says do not drive):"
    assert listing_lead(listing(notices[:1]), "2024 Acme Roadster") == ""


def test_a_notices_sections_are_read_whole_wherever_their_label_starts() -> None:
    from assistant.recalls import notice_sections

    text = (
        "NHTSA recall campaign 20V766 (20V766000).\nVehicles: Brisa, model years 2020.\n"
        'Defect: the wiper motor may stop. As such, they fail FMVSS 104, "Wiping." Consequence: '
        "Loss of wiper function can reduce\nthe driver's visibility.\nRemedy: Dealers will replace"
        " the motor.\nNotes: Call us."
    )

    sections = notice_sections(text)

    assert sections["Consequence"] == ("Loss of wiper function can reduce the driver's visibility.")
    assert sections["Remedy"] == "Dealers will replace the motor."
    assert sections["Defect"].endswith('"Wiping."')


# ---------------------------------------------------------------- reading the store


def recall_chunk(
    chunk_id: str, campaign: str, audience: str, model: str, years: list[int]
) -> ChunkWrite:
    document = chunk_id.split(":")[0]
    metadata: dict[str, MetadataValue] = {
        "document_id": document, "kind": "recall_notice", "audience": audience,
        "vehicle_scope": "specific", "make": "halvard", "model": model,
        "year_first": min(years), "year_last": max(years), "model_years": [str(y) for y in years],
        "campaign_short": campaign, "position": int(chunk_id.split(":")[1]),
        "effective_date": f"20{campaign[:2]}-01-01",
    }  # fmt: skip
    return ChunkWrite(chunk_id, f"NHTSA recall campaign {campaign} ({chunk_id})", metadata, [1.0])


@pytest.fixture
def recall_store() -> InMemoryKnowledgeStore:
    store = InMemoryKnowledgeStore()
    faq = ChunkWrite("faq:0", "Recalls are free.", {"document_id": "faq", "kind": "faq",
                     "audience": "public", "vehicle_scope": "general"}, [1.0])  # fmt: skip
    store.write(
        [
            recall_chunk("r-karst:0", "24V210", "public", "karst", [2022, 2023]),
            recall_chunk("r-karst:1", "24V210", "public", "karst", [2022, 2023]),
            recall_chunk("r-karst-old:0", "21V455", "public", "karst", [2019, 2020]),
            recall_chunk("r-tessel:0", "24V210", "public", "tessel", [2023]),
            recall_chunk("r-internal:0", "23V001", "internal", "karst", [2023]),
            faq,
        ]
    )
    return store


def test_a_vehicles_recalls_are_its_own_for_the_askers_audience(
    recall_store: InMemoryKnowledgeStore,
) -> None:
    lookup = RecallLookup(KeywordIndex(recall_store))
    karst_2023 = Vehicle("Halvard", "Karst", 2023)
    assert [p.chunk_id for p in lookup.recalls_for(karst_2023, Channel.DRIVER)] == ["r-karst:0"]
    agent_view = lookup.recalls_for(karst_2023, Channel.AGENT)
    assert [p.chunk_id for p in agent_view] == ["r-karst:0", "r-internal:0"]
    [notice] = lookup.notices_for(karst_2023, Channel.DRIVER)
    assert notice.text == "NHTSA recall campaign 24V210 (r-karst:0)\n" + (
        "NHTSA recall campaign 24V210 (r-karst:1)"
    )
    assert lookup.recalls_for(Vehicle("Halvard", "Karst", 2021), Channel.DRIVER) == []


def test_a_campaign_is_known_only_to_the_audiences_it_is_for(
    recall_store: InMemoryKnowledgeStore,
) -> None:
    lookup = RecallLookup(KeywordIndex(recall_store))
    assert lookup.knows_campaign("24V210", Channel.DRIVER)
    assert not lookup.knows_campaign("23V001", Channel.DRIVER)
    assert lookup.knows_campaign("23V001", Channel.AGENT)
    draft = lookup.campaign("24V210", Channel.DRIVER)
    assert {p.chunk_id for p in draft.passages} == {"r-karst:0", "r-tessel:0"}
    assert lookup.data_through() == "2024-01-01"


class CountingFinder(KeywordIndex):
    def __init__(self, store: InMemoryKnowledgeStore) -> None:
        super().__init__(store)
        self.reads = 0

    def latest_value(self, field: str, where: ChunkFilter) -> Any:
        self.reads += 1
        time.sleep(0.05)  # a read of every recall notice's date takes time
        return super().latest_value(field, where)


def test_recall_questions_arriving_together_read_the_notices_dates_once() -> None:
    store = InMemoryKnowledgeStore()
    store.write([recall_chunk("r-karst:0", "24V210", "public", "karst", [2022, 2023])])
    finder = CountingFinder(store)
    lookup = RecallLookup(finder)
    assert run_at_once(6, lookup.data_through) == ["2024-01-01"] * 6
    assert finder.reads == 1


class StoreWithoutMetadataReads(InMemoryKnowledgeStore):
    """Counts reads that filter on metadata, the pass over the store a lookup must not make."""

    def __init__(self) -> None:
        super().__init__()
        self.filtered_reads = 0

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        if where is not None:
            self.filtered_reads += 1
        yield from super().iter_chunks(where)


def test_a_recall_lookup_reads_the_keyword_index_not_the_store() -> None:
    store = StoreWithoutMetadataReads()
    store.write([recall_chunk("r-karst:0", "24V210", "public", "karst", [2022, 2023])])
    lookup = RecallLookup(KeywordIndex(store))
    assert [
        p.chunk_id for p in lookup.recalls_for(Vehicle("Halvard", "Karst", 2023), Channel.DRIVER)
    ] == ["r-karst:0"]
    assert lookup.knows_campaign("24V210", Channel.DRIVER)
    assert lookup.data_through() == "2024-01-01"
    assert store.filtered_reads == 0
