"""The demo page: the profile's own page and words, or a plain page without a profile; the
demo key on loopback."""

from __future__ import annotations

import pytest

from knowledge.errors import ConfigurationError
from knowledge.profile import NO_PROFILE, CarmakerProfile
from knowledge.settings import GloveboxSettings
from tests.conftest import SAMPLE_PROFILE
from ui.demo import demo_key, demo_page, with_loopback_demo_origins


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


def test_on_loopback_the_shipped_demo_key_allows_the_ports_chosen() -> None:
    settings = with_loopback_demo_origins(GloveboxSettings(), "127.0.0.1", 28600, 28601)

    assert demo_key(settings, "http://127.0.0.1:28601") == "pk_demo_local"
    assert "http://localhost:28600" in settings.widget_keys["pk_demo_local"]
    with pytest.raises(ConfigurationError, match="GLOVEBOX_WIDGET_KEYS"):
        demo_key(GloveboxSettings(), "http://127.0.0.1:28601")  # what failed before


def test_keys_the_operator_set_and_public_hosts_are_left_as_they_are() -> None:
    own = GloveboxSettings(widget_keys={"pk_site": ["https://www.example.com"]})

    assert with_loopback_demo_origins(own, "127.0.0.1", 28600, 28601) is own
    public = GloveboxSettings()
    assert with_loopback_demo_origins(public, "0.0.0.0", 28600, 28601) is public
