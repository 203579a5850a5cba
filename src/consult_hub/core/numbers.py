"""Shares and percentages as reports print them."""

from __future__ import annotations


def percent(part: int, whole: int, places: int = 1) -> str | None:
    """``part / whole`` as a percentage rounded half up (573 / 708 → "80.9%"); None for 0."""
    if not whole:
        return None
    scale = 10 ** places
    scaled = (2 * part * 100 * scale + whole) // (2 * whole)  # exact, half up
    whole_part, fraction = divmod(scaled, scale)
    text = f"{whole_part:,}" + (f".{fraction:0{places}d}" if places else "")
    return f"{text}%"


def share(part: int, whole: int) -> float | None:
    """``part / whole`` to four places, for machines (the API, open data); None for 0."""
    return round(part / whole, 4) if whole else None
