"""Problem references (receipts), e.g. ``WH24-00123``: the one place that spells them.

A reference is the city code and the two-digit year of receipt, a hyphen and a number of at
least five digits. Residents read them out on the phone and type them on any keyboard, so
every surface that takes one (tracking, the API, Open311, imports) reads it with ``parse``
or ``normalise``; the demo, the bench and ``next_reference`` write them with ``format``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from flask import current_app

from consult_hub.core.timefmt import to_local

DIGITS = 5
# The prefix fits ReferenceCounter.prefix (8 characters): up to six letters and the year.
PATTERN = re.compile(r"([A-Z]{1,6}\d{2})-?(\d{1,8})")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")  # dashes a phone keyboard may offer


def reference_prefix(when: datetime) -> str:
    """``WH24`` for a problem received in 2024 in Wuhan (year in the people's zone)."""
    return f"{current_app.config['CITY_CODE']}{to_local(when).year % 100:02d}"


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number:0{DIGITS}d}"


def normalise_reference(text: str | None) -> str:
    """``wh24 00123`` or full-width ``ＷＨ２４－００１２３`` → ``WH24-00123``
    (unchanged if not one)."""
    plain = re.sub(r"\s", "", unicodedata.normalize("NFKC", text or "").upper())
    plain = _DASHES.sub("-", plain)
    return parse_reference(plain) or plain


def parse_reference(text: str | None) -> str | None:
    """The reference ``text`` spells, in its canonical form; None if it spells none."""
    match = PATTERN.fullmatch(text or "")
    if not match:
        return None
    prefix, number = match.groups()
    return format_reference(prefix, int(number))


def is_reference(text: str) -> bool:
    """Whether ``text`` is a reference in its canonical form (as ``normalise`` returns it)."""
    return parse_reference(text) == text


def is_this_citys(reference: str) -> bool:
    """Whether a canonical reference carries this city's code (an import may bring new ones)."""
    match = PATTERN.fullmatch(reference)
    return match is not None and match.group(1)[:-2] == current_app.config["CITY_CODE"]
