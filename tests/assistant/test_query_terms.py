"""The knowledge base's own words: spelling correction and query expansion."""

from __future__ import annotations

from collections import Counter

from assistant.query_terms import SpellingCorrector, expansion_terms

FREQUENCY = Counter({"bluetooth": 40, "navigation": 30, "pair": 12, "phone": 50, "volume": 9,
                     "guidance": 8, "voice": 10, "p0420": 2})  # fmt: skip


def test_misspelt_words_become_the_knowledge_bases_words() -> None:
    corrector = SpellingCorrector(FREQUENCY)
    assert corrector.run(["bluetooh", "navagation", "pair"]) == ["bluetooth", "navigation", "pair"]


def test_codes_short_words_and_far_words_are_left_alone() -> None:
    corrector = SpellingCorrector(FREQUENCY)
    assert corrector.correct("p0421") == "p0421"
    assert corrector.correct("car") == "car"
    assert corrector.correct("zebra") == "zebra"


def test_expansion_takes_words_the_feedback_passages_share() -> None:
    feedback = [["voice", "guidance", "volume", "adjust"], ["voice", "guidance", "volume", "map"]]
    terms = expansion_terms(["nav", "lady", "loud"], feedback, FREQUENCY, documents=100)
    assert set(terms) >= {"voice", "guidance", "volume"}
    assert "map" not in terms and "adjust" not in terms  # in one passage only
