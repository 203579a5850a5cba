"""Personal data in residents' words: found for the reviewer, refused in public text.

Residents write their names, phone numbers, ID-card numbers and door numbers into problems.
Review (受理) shows the resident's text with these marked; publishing refuses a public title or
description that still holds a phone or ID-card number (the clear-cut, harmful ones). Door
numbers and names are only marked: "3号楼" can be the building everyone means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consult_hub.core.i18n import lazy_gettext as _l

# Mainland mobile numbers (optionally +86, with spaces or hyphens in between), landlines with
# an area code, and 18-digit resident ID numbers (the last may be X). Digits next to other
# digits do not count, so a long reference or amount is not mistaken for one.
_SEP = r"[\s\-]?"
PHONE = re.compile(
    r"(?<!\d)(?:(?:\+?86)" + _SEP + r")?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?!\d)"
    r"|(?<!\d)0\d{2,3}[\s\-—]?\d{7,8}(?!\d)"
)
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])"
                       r"(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])")
# An address down to a door: 12号, 3栋, 2单元, 501室, 6号楼, 3-2-501.
DOOR = re.compile(r"\d+\s*(?:号楼|号院|号|栋|幢|单元|室|楼\d+)"
                  r"|(?<!\d)\d{1,3}-\d{1,3}-\d{3,4}(?!\d)")

KINDS = {
    "id_number": _l("身份证号"),
    "phone": _l("电话号码"),
    "door": _l("门牌号"),
    "name": _l("反映人姓名"),
}
# Found in the public text, these refuse publishing; the rest are marked for the reviewer.
REFUSED = ("id_number", "phone")


@dataclass(frozen=True)
class Segment:
    """A piece of text; ``kind`` names the personal data it is (None: plain text)."""

    text: str
    kind: str | None = None

    @property
    def label(self) -> Any:
        return KINDS.get(self.kind or "")


def _spans(text: str, name: str | None) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in (("id_number", ID_NUMBER), ("phone", PHONE), ("door", DOOR)):
        spans += [(m.start(), m.end(), kind) for m in pattern.finditer(text)]
    if name and len(name.strip()) >= 2:
        needle = name.strip()
        start = text.find(needle)
        while start != -1:
            spans.append((start, start + len(needle), "name"))
            start = text.find(needle, start + len(needle))
    # The earliest first and, among those, the longest (an ID number holds phone-like digits).
    spans.sort(key=lambda span: (span[0], -(span[1] - span[0])))
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def segments(text: str | None, name: str | None = None) -> list[Segment]:
    """``text`` cut into plain pieces and likely personal data, for a template to mark."""
    text = text or ""
    pieces: list[Segment] = []
    at = 0
    for start, end, kind in _spans(text, name):
        if start > at:
            pieces.append(Segment(text[at:start]))
        pieces.append(Segment(text[start:end], kind))
        at = end
    if at < len(text):
        pieces.append(Segment(text[at:]))
    return pieces


def found(text: str | None, name: str | None = None) -> set[str]:
    """The kinds of personal data in ``text``."""
    return {kind for _start, _end, kind in _spans(text or "", name)}


def public_text_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """An error per public field (title, description) that holds a phone or ID-card number."""
    errors: dict[str, str] = {}
    for name in ("title", "description"):
        kinds = [kind for kind in REFUSED if kind in found(values.get(name))]
        if kinds:
            errors[name] = str(_l("公开内容中含有%(what)s，请删除后再公开",
                                  what="、".join(str(KINDS[k]) for k in kinds)))
    return errors


def redact(text: str | None) -> str | None:
    """``text`` with phone and ID-card numbers replaced by a mark (the retention sweep)."""
    if text is None:
        return None
    text = ID_NUMBER.sub("［已删除］", text)
    return PHONE.sub("［已删除］", text)
