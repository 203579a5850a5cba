"""Every model, imported in one place so that metadata (and Alembic) sees them all."""

from consult_hub.apikeys.models import ApiKey
from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.models import AuditLog
from consult_hub.auth.models import ApiToken, Role, User
from consult_hub.core.categories import Category
from consult_hub.core.heartbeat import SchedulerHeartbeat
from consult_hub.core.pagecache import SiteVersion
from consult_hub.departments.models import Department
from consult_hub.events.models import (
    Event,
    EventFormat,
    EventPhoto,
    EventStatus,
    event_attendees,
)
from consult_hub.issues.models import (
    Issue,
    IssueKind,
    IssuePhoto,
    IssueSource,
    IssueStatus,
    IssueUpdate,
    ReferenceCounter,
    Satisfaction,
)
from consult_hub.members.models import Member, MemberLevel
from consult_hub.notifications.models import EmailStatus, Notification, TextMessage
from consult_hub.opinions.models import (
    OpinionReport,
    OpinionStatus,
    opinion_report_events,
    opinion_report_issues,
)
from consult_hub.platforms.models import (
    Platform,
    PlatformKind,
    PlatformStatus,
    PlatformStatusChange,
    platform_coordinators,
    platform_members,
)
from consult_hub.proposals.models import (
    Proposal,
    ProposalDepartment,
    ProposalMember,
    ProposalStatus,
    ProposalUpdate,
    proposal_issues,
    proposal_opinion_reports,
)
from consult_hub.tallies.models import MonthlyTally, TallyScope

__all__ = [
    "ApiKey", "ApiToken", "Area", "AreaLevel", "AuditLog", "Category", "Department", "EmailStatus",
    "Event", "EventFormat", "EventPhoto", "EventStatus", "Issue", "IssueKind", "IssuePhoto",
    "IssueSource", "IssueStatus", "IssueUpdate", "Member", "MemberLevel", "MonthlyTally",
    "Notification", "OpinionReport", "OpinionStatus", "Proposal", "ProposalDepartment",
    "ProposalMember", "ProposalStatus", "ProposalUpdate", "TextMessage",
    "Platform", "PlatformKind", "PlatformStatus", "PlatformStatusChange",
    "ReferenceCounter", "Role", "Satisfaction",
    "SchedulerHeartbeat", "SiteVersion", "TallyScope", "User",
    "event_attendees", "opinion_report_events", "opinion_report_issues",
    "platform_coordinators", "platform_members", "proposal_issues", "proposal_opinion_reports",
]
