"""Atom (RFC 4287) of outcomes, written with ElementTree so every text is escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from consult_hub.core.categories import Category
from consult_hub.issues.models import IssueStatus

ATOM_NS = "http://www.w3.org/2005/Atom"
# The date in a tag: URI only has to be a day the authority owned the name; fixed, so ids
# never move.
TAG_DATE = "2024"
# Characters XML 1.0 cannot carry even escaped; a pasted control character must not break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedInfo:
    title: str
    author: str
    domain: str
    self_url: str
    site_url: str
    lang: str


class Outcome(Protocol):
    """What an entry shows of a problem: a row of these columns (feeds/queries.py) or the
    problem itself."""

    reference: str
    title: str
    status: IssueStatus
    category: Category
    resolution: str | None
    created_at: datetime
    closed_at: datetime | None
    updated_at: datetime


def outcome_id(domain: str, reference: str) -> str:
    return f"tag:{domain},{TAG_DATE}:issue/{reference}"


def outcome_time(issue: Outcome) -> datetime:
    """When the outcome was reached (closed), or last changed while planned."""
    return issue.closed_at or issue.updated_at


def build_outcomes_feed(outcomes: Sequence[Outcome], info: FeedInfo,
                        issue_url: Callable[[str], str | None]) -> bytes:
    """Serialise the outcomes, newest first, as one Atom feed."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": info.lang})
    _text(feed, "id", f"tag:{info.domain},{TAG_DATE}:outcomes")
    _text(feed, "title", info.title)
    updated = max((outcome_time(o) for o in outcomes), default=EMPTY_FEED_UPDATED)
    _text(feed, "updated", _rfc3339(updated))
    ET.SubElement(feed, "link", rel="self", type="application/atom+xml", href=info.self_url)
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=info.site_url)
    author = ET.SubElement(feed, "author")
    _text(author, "name", info.author)
    _text(feed, "generator", "Consult Hub")
    for outcome in outcomes:
        feed.append(_entry(outcome, info, issue_url(outcome.reference)))
    # Serialised as text, then encoded once: the same bytes as encoding="utf-8", which sends
    # each of some 2,000 small writes through an encoder (a fifth of the feed's time).
    return (b'<?xml version="1.0" encoding="utf-8"?>\n'
            + ET.tostring(feed, encoding="unicode").encode("utf-8"))


def _entry(outcome: Outcome, info: FeedInfo, url: str | None) -> ET.Element:
    entry = ET.Element("entry")
    _text(entry, "id", outcome_id(info.domain, outcome.reference))
    _text(entry, "title", f"{outcome.title}（{outcome.status.label}）")
    _text(entry, "updated", _rfc3339(outcome_time(outcome)))
    _text(entry, "published", _rfc3339(outcome.created_at))
    ET.SubElement(entry, "category", term=outcome.status.value, label=outcome.status.label)
    ET.SubElement(entry, "category", term=outcome.category.value, label=outcome.category.label)
    summary = outcome.resolution or outcome.status.label
    _text(entry, "summary", summary, type="text")
    if url:
        ET.SubElement(entry, "link", rel="alternate", type="text/html", href=url)
    else:  # Atom wants either a link or content; the outcome page may not be built yet
        _text(entry, "content", summary, type="text")
    return entry


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = _NOT_XML.sub("", text)
    return element


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
