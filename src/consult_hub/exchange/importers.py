"""The four kinds of import file, by name (as on the command line and in upload URLs)."""

from __future__ import annotations

from consult_hub.exchange.import_events import EventImporter
from consult_hub.exchange.import_issues import IssueImporter
from consult_hub.exchange.import_members import MemberImporter
from consult_hub.exchange.import_platforms import PlatformImporter
from consult_hub.exchange.importing import Importer

IMPORTERS: dict[str, Importer] = {
    importer.kind: importer
    for importer in (PlatformImporter(), MemberImporter(), EventImporter(), IssueImporter())
}
