"""Writes residents make: rating an outcome. They flush but do not commit: the view commits once."""

from __future__ import annotations

from datetime import datetime

from consult_hub.auth.models import User
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import N_
from consult_hub.core.i18n import gettext as _
from consult_hub.issues.models import Issue, Satisfaction
from consult_hub.issues.operations import change_status, rate_issue
from consult_hub.notifications.operations import Message, notify
from consult_hub.notifications.recipients import coordinators_by_platform, district_staff, link

# Kept in the record in the programme's language, whatever the resident's page language
# (pages show it in theirs: the |stored_text filter).
REOPEN_REASON = N_("居民对办理结果不满意，重新办理")


def rate_outcome(
    issue: Issue, satisfaction: Satisfaction | str, comment: str | None = None, *,
    now: datetime | None = None,
) -> None:
    """Record the resident's one rating; "unsatisfied" reopens the problem and tells its staff.

    The rating itself is the staff's ``rate_issue`` (the comment stays a private note).
    """
    now = now or utcnow()
    rate_issue(issue, satisfaction, actor_id=None, note=comment, now=now)
    if issue.satisfaction is Satisfaction.UNSATISFIED:
        change_status(issue, "reopen", actor_id=None, now=now, reason=REOPEN_REASON)
        notify_unsatisfied(issue, rated_at=now)


def notify_unsatisfied(issue: Issue, *, rated_at: datetime) -> int:
    """Tell the platform's coordinators and the district's staff, once per rating."""
    recipients = {user.id: user for user in [
        *coordinators_by_platform([issue.platform_id]).get(issue.platform_id, []),
        *district_staff([issue.district_id]).get(issue.district_id, []),
    ]}

    def compose(user: User) -> Message:
        return Message(
            _("居民不满意，已重新办理：%(ref)s %(title)s", ref=issue.reference, title=issue.title),
            _("居民对问题 %(ref)s“%(title)s”（%(platform)s）的办理结果评价为不满意。"
              "问题已重新办理，回到“已受理”，请重新交办并答复居民。", ref=issue.reference,
              title=issue.title, platform=issue.platform.name),
            link("issues.detail", ("public.issue", {"reference": issue.reference}),
                 issue_id=issue.id),
        )

    return notify(recipients.values(),
                  dedupe_key=f"issue_unsatisfied:{issue.id}:{rated_at.isoformat()}",
                  kind="issue_unsatisfied", compose=compose, now=rated_at)
