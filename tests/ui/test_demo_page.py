"""The demo page: the profile's own page and words, or a plain page without a profile."""

from __future__ import annotations

from knowledge.profile import NO_PROFILE, CarmakerProfile
from tests.conftest import SAMPLE_PROFILE
from ui.demo import demo_page


def test_the_sample_profile_shows_its_own_page_and_widget_words() -> None:
    page = demo_page("http://127.0.0.1:8000/", "pk_x", CarmakerProfile.load(SAMPLE_PROFILE))

    assert 'src="http://127.0.0.1:8000/widget.js"' in page
    assert 'data-key="pk_x"' in page
    assert 'data-title="Halvard Assistant"' in page
    assert "{{" not in page


def test_without_a_profile_the_page_and_words_are_plain() -> None:
    page = demo_page("http://127.0.0.1:8000", "pk_x", NO_PROFILE)

    assert 'data-title="Customer care assistant"' in page
    assert "Halvard" not in page
    assert "{{" not in page
