"""Retention of residents' contact details: erased a while after their problem closes.

The privacy notice (/privacy) promises that a submitter's name and phone are erased
``CONTACT_RETENTION_MONTHS`` (default 12) months after the problem closes, and the phone and
ID-card numbers in their own words with them. The scheduler runs ``erase_expired_contacts``
daily; like every sweeper it asks "what is due and not yet done?" at ``now``, so a rerun, a
missed day or a second process does no harm.

What is erased: ``submitter_name``, ``submitter_phone``, ``submitter_email``, the reported
``submitted_address`` and ``media_url`` (set to NULL), and
``submitted_title`` / ``submitted_text`` passed through ``privacy.redact`` (phone and ID-card
numbers), with the submitter's name taken out of them too while it is still known. The public text,
the answer, the timeline, ratings and the tallies stay as they are, and so do the problem's
``updated_at`` and ``version``: nothing the public or staff work with has changed. Each
problem that held something personal gets one audit row (``issue_contact_erased``, no
actor, the fields named but never their values).

Every closed problem the sweep passes is stamped ``contact_erased_at``, with or without
anything to erase: the partial index ``ix_issues_closed_at_contact`` (closed_at WHERE
contact_erased_at IS NULL) then holds only what a sweep still has to look at, so a daily run
reads the day's newly expired problems, not every problem ever closed. A reopened problem
has no ``closed_at`` and is left alone until it closes again.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import load_only

from consult_hub.audit.operations import record
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.issues.privacy import redact

# Problems read and written per transaction: a nation's first run (years of closed problems)
# must not hold them all in memory or one transaction.
BATCH = 500
ERASED_ACTION = "issue_contact_erased"
CONTACT_FIELDS = ("submitter_name", "submitter_phone", "submitter_email", "submitted_title",
                  "submitted_text", "submitted_address", "media_url")
REMOVED = "［已删除］"  # the mark privacy.redact puts in place of a number


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the 31st → the month's last)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))


def retention_cutoff(now: datetime, months: int | None = None) -> datetime:
    """Problems closed before this moment have their contact details erased."""
    return months_before(now, months or current_app.config["CONTACT_RETENTION_MONTHS"])


def _without_name(text: str | None, name: str | None) -> str | None:
    """``text`` with the submitter's name (two characters or more, as privacy.segments marks
    it) replaced by the same mark as the numbers."""
    needle = (name or "").strip()
    if text is None or len(needle) < 2:
        return text
    return text.replace(needle, REMOVED)


def _erased_values(issue: Issue) -> dict[str, Any]:
    # The reported address and photo link (Open311) go too: the published ``address`` is
    # staff's wording and stays.
    return {"submitter_name": None, "submitter_phone": None, "submitter_email": None,
            "submitted_address": None, "media_url": None,
            **{name: redact(_without_name(getattr(issue, name), issue.submitter_name))
               for name in ("submitted_title", "submitted_text")}}


def erase_expired_contacts(now: datetime, *, months: int | None = None,
                           batch: int = BATCH) -> dict[str, int]:
    """Erase the contact details of problems closed more than ``months`` months before
    ``now``; commits after each batch. Returns how many problems were checked and how many
    held contact details that are now erased."""
    months = months or current_app.config["CONTACT_RETENTION_MONTHS"]
    cutoff = retention_cutoff(now, months)
    checked = erased = 0
    after: tuple[datetime, int] | None = None
    while True:
        # The WHERE repeats the partial index's condition so that both databases use it.
        stmt = (sa.select(Issue)
                .options(load_only(Issue.id, Issue.closed_at, *(getattr(Issue, name)
                                                                for name in CONTACT_FIELDS)))
                .where(Issue.closed_at < cutoff, Issue.contact_erased_at.is_(None))
                .order_by(Issue.closed_at, Issue.id).limit(batch))
        if after is not None:  # onwards even if a row could not be written this time
            stmt = stmt.where(sa.tuple_(Issue.closed_at, Issue.id) > sa.tuple_(*after))
        issues = list(db.session.scalars(stmt))
        if not issues:
            return {"checked": checked, "erased": erased}
        for issue in issues:
            values = _erased_values(issue)
            held = [name for name in CONTACT_FIELDS if getattr(issue, name) != values[name]]
            # Core UPDATE: the problem's updated_at and version stay (set to themselves so the
            # column's onupdate does not fire): staff and the public see no change.
            db.session.execute(
                sa.update(Issue).where(Issue.id == issue.id)
                .values(**values, contact_erased_at=now, updated_at=Issue.updated_at)
                .execution_options(synchronize_session=False))
            if held:
                record(ERASED_ACTION, issue, {
                    "fields": held, "closed_at": issue.closed_at,
                    "retention_months": months,
                }, actor_id=None)
                erased += 1
        checked += len(issues)
        after = (issues[-1].closed_at, issues[-1].id)
        db.session.commit()  # the batch's objects go with it (the identity map is weak)
