"""Write routes of the inbox: every signed-in user acts on their own notifications only."""

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.notifications.models import Notification
from consult_hub.notifications.operations import Message, notify
from tests.support.access import LOGIN, OK, Route, World, everyone


def _one_for_coordinator(world: World) -> None:
    notify([world.users["coordinator"]], dedupe_key="k", kind="test",
           compose=lambda _u: Message("s", "b", "/dashboard"))
    world.objects["note"] = db.session.scalars(sa.select(Notification)).one()


EVERYONE = everyone()
ROUTES = [
    Route("notifications.mark_read", lambda w: "/inbox/read", expect=EVERYONE),
    Route("notifications.open_one", lambda w: f"/inbox/{w.note.id}/open",
          setup=_one_for_coordinator,
          expect={**{role: 404 for role in EVERYONE}, "anonymous": LOGIN, "coordinator": OK}),
]
