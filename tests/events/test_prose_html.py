"""Markdown fields (an event's agenda, minutes, opinions and outcome, a platform's description)
are rendered and sanitised once, when saved: the HTML is stored beside the text
(core/prose.py), and the pages show the stored HTML (recording and editing: tests in
test_events_record.py and test_events.py)."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.core.prose import render_missing
from consult_hub.extensions import db
from consult_hub.models import Event, Platform
from tests.support.records import load


def test_the_pages_show_the_stored_html_and_render_only_a_row_written_without_it(
        app, client, make):
    platform = make("platform", description="社区**议事**平台")
    event = make("event", platform_id=platform.id, agenda="一、通报")
    assert load(app, Platform, platform.id).description_html == (
        "<p>社区<strong>议事</strong>平台</p>")
    with app.app_context():
        # What the page shows is what was stored when saved, not the text converted again …
        db.session.execute(sa.update(Event).where(Event.id == event.id)
                           .values(agenda_html="<p>保存时的议程</p>"))
        # … and a row written without its HTML (by SQL, a loader that skips it) still shows
        # the text, converted on the page.
        db.session.execute(sa.update(Platform).where(Platform.id == platform.id)
                           .values(description="平台*简介*", description_html=None))
        db.session.commit()
    assert "保存时的议程" in client.get(f"/events/{event.id}").text
    assert "平台<em>简介</em>" in client.get(f"/platforms/{platform.id}").text
    with app.app_context():
        assert render_missing(db.session.connection()) == 1  # the platform, nothing else
        db.session.commit()
        assert db.session.get(Platform, platform.id).description_html == "<p>平台<em>简介</em></p>"
        assert db.session.get(Event, event.id).agenda_html == "<p>保存时的议程</p>"
        assert render_missing(db.session.connection()) == 0
        # When the Markdown rules change, a migration renders every stored text again.
        assert render_missing(db.session.connection(), everything=True) == 2
        db.session.commit()
        assert db.session.get(Event, event.id).agenda_html == "<p>一、通报</p>"
