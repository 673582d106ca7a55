"""What the keyword index finds a chunk by: its words and codes, and its title's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

TOKEN = re.compile(r"[a-z0-9]+(?:[-./][a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i if in is it its me my of on or our "
    "should so that the their there this to was what when where which who why will with you "
    "your".split()
)
INDEXED_FIELDS = ("title", "section", "campaign_number", "campaign_short", "bulletin_number")
INDEXED_LIST_FIELDS = ("fault_codes", "part_numbers")


def keyword_tokens(text: str) -> list[str]:
    """Lowercase words and codes. '24V-210', 'P0420' and 'HV-45022-KR2-A00' stay whole too."""
    tokens: list[str] = []
    for token in TOKEN.findall(text.lower()):
        if token in STOPWORDS:
            continue
        tokens.append(token)
        if "-" in token or "." in token or "/" in token:
            tokens.extend(part for part in re.split(r"[-./]", token) if part)
            tokens.append(re.sub(r"[-./]", "", token))
    return tokens


def indexed_terms(metadata: Mapping[str, Any], text: str) -> list[str]:
    """What a chunk is found by: its title, section and codes as well as its text."""
    extras = [str(metadata.get(key, "")) for key in INDEXED_FIELDS]
    for key in INDEXED_LIST_FIELDS:
        value = metadata.get(key)
        if isinstance(value, list):
            extras.extend(str(item) for item in value)
    return keyword_tokens(" ".join([*extras, text]))
