"""What the rendering shortcuts keep from changing: one process serves Chinese and English
side by side, one user's navigation (unread count, name, current page) never reaches another,
a list's remembered total follows new records, and remembered Markdown stays each text's own.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.markdown import render_markdown
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import Issue
from consult_hub.notifications.models import Notification
from tests.support.auth import AuthActions


def nav(html: str) -> str:
    return html[html.index('<nav class="site-nav"'):html.index("</nav>", html.index("site-nav"))]


def resolved(make: Any, platform_id: int, title: str) -> Issue:
    issue = make("issue", platform_id=platform_id, title=title)
    with db.session.no_autoflush:
        found = db.session.get(Issue, issue.id)
        change_status(found, "resolve", actor_id=None, resolution="已解决。")
        db.session.commit()
    return issue


def test_chinese_and_english_visitors_alternate_in_one_process(
        app: Flask, make: Any) -> None:
    platform = make("platform", name="百步亭社区协商议事室")
    with app.app_context():
        resolved(make, platform.id, "楼道灯不亮")
    chinese, english = app.test_client(), app.test_client()
    english.get("/locale/en?next=/")
    for _ in range(2):  # each answer in its reader's language, whoever asked just before
        for client, words, absent in (
                (chinese, ["办理成果", "已解决或采纳", "协商平台"], "Outcomes"),
                (english, ["Outcomes", "Resolved or adopted", "Consultation platforms"],
                 "办理成果")):
            page = client.get("/outcomes").text
            for word in words:  # template text, a lazy enum label, the navigation
                assert word in page
            assert absent not in nav(page)
            assert client.get(f"/platforms/{platform.id}").status_code == 200


def test_the_navigation_shows_each_user_their_own_count_name_and_page(
        app: Flask, make: Any) -> None:
    platform = make("platform")
    users = {}
    with app.app_context():
        for name, unread in (("陈丽", 3), ("张慧", 0)):
            user = make("user", role="coordinator", name=name, platform_ids=[platform.id])
            db.session.add_all(Notification(user_id=user.id, dedupe_key=f"t:{name}:{n}",
                                            kind="event_upcoming", subject="提醒", body="正文")
                               for n in range(unread))
            db.session.commit()
            users[name] = user.username
    clients = {}
    for name, username in users.items():
        client = clients[name] = app.test_client()
        AuthActions(client).login(username)
    for _ in range(2):
        first = nav(clients["陈丽"].get("/dashboard").text)
        second = nav(clients["张慧"].get("/dashboard").text)
        assert ('<span class="nav-count">3<span class="visually-hidden">条未读</span></span>'
                in first)
        assert "nav-count" not in second
        assert '<span class="nav-more-name">陈丽</span>' in first
        assert '<span class="nav-more-name">张慧</span>' in second and "陈丽" not in second
        events = nav(clients["陈丽"].get("/manage/events/").text)
        assert '<a href="/manage/events/" aria-current="page">活动</a>' in events
        assert '<a href="/dashboard" aria-current="page">' not in events
        assert '<a href="/dashboard" aria-current="page">工作台</a>' in nav(
            clients["张慧"].get("/dashboard").text)
    public = nav(app.test_client().get("/events").text)  # a signed-out visitor after them
    assert "/dashboard" not in public and "nav-count" not in public and "陈丽" not in public
    assert '<a href="/events" aria-current="page">活动</a>' in public
    assert "csrf_token" not in public


def test_a_signed_in_users_logout_form_in_the_menu_works(
        app: Flask, client: FlaskClient, make: Any, auth: Any) -> None:
    user = make("user", role="admin")
    auth.login(user.username)
    for _ in range(2):  # the second page's menu is the remembered one
        menu = nav(client.get("/dashboard").text)
    token = re.search(r'<form class="nav-logout".*?name="csrf_token" value="([^"]+)"', menu, re.S)
    assert token is not None
    assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code in (302, 303)
    assert client.get("/dashboard").status_code in (302, 401, 403)


def test_the_outcome_count_follows_new_outcomes(app: Flask, client: FlaskClient,
                                                make: Any) -> None:
    platform = make("platform")
    with app.app_context():
        resolved(make, platform.id, "路灯不亮")
    assert "共 1 项办理成果" in client.get("/outcomes").text
    assert "共 1 项办理成果" in client.get("/outcomes").text
    with app.app_context():
        resolved(make, platform.id, "井盖松动")
    assert "共 2 项办理成果" in client.get("/outcomes").text
    assert "共 2 项办理成果" in client.get(f"/outcomes?platform={platform.id}").text
    assert "共 0 项办理成果" in client.get("/outcomes?status=planned").text


def test_markdown_renders_each_text_as_its_own() -> None:
    listed = render_markdown("1. 第一\n2. 第二\n\n| 甲 | 乙 |\n|---|---|\n| 1 | 2 |")
    plain = render_markdown("会议纪要：*通过*。")
    assert "<ol>" in listed and "<table>" in listed
    assert str(plain) == "<p>会议纪要：<em>通过</em>。</p>"
    assert render_markdown("1. 第一\n2. 第二\n\n| 甲 | 乙 |\n|---|---|\n| 1 | 2 |") == listed
    assert "<script" not in render_markdown("<script>alert(1)</script>")


def test_links_put_together_from_their_shape_are_flasks_own(app: Flask) -> None:
    """Templates' ``url_for`` builds a link to one record of many from its shape, learnt once:
    every link is the one Flask builds; a route whose defaults choose the rule, and values
    that are not plain, are built by Flask every time."""
    from flask import url_for as flask_url_for

    remembered = app.jinja_env.globals["url_for"]
    with app.test_request_context("/"):
        cases = [("public.event", {"event_id": n}) for n in (1, 7, 12345, 0)]
        cases += [("public.issue", {"reference": ref}) for ref in ("WH24-00001", "WH26-12345")]
        cases += [("public.issue", {"reference": "含 空格/斜线?"})]
        cases += [("public.platforms", {"district": n, "page": 3}) for n in (2, 40)]
        cases += [("public.events", {"when": "past", "platform": n}) for n in (5, 6)]
        cases += [("public.outcomes", {"platform": 9, "q": "路灯 不亮"})]
        for endpoint, values in cases * 2:  # the second round from the learnt shapes
            assert remembered(endpoint, **values) == flask_url_for(endpoint, **values)
    with app.test_request_context("/", base_url="http://localhost/sub"):  # another script root
        assert remembered("public.event", event_id=3) == "/sub/events/3"


def test_a_route_whose_defaults_choose_the_rule_is_never_shaped() -> None:
    from flask import url_for as flask_url_for

    from consult_hub.core.templating import url_shape

    def pages(page: int) -> str:
        return str(page)

    other = Flask(__name__)
    other.add_url_rule("/pages/", "pages", pages, defaults={"page": 1})
    other.add_url_rule("/pages/<int:page>", "pages", pages)
    other.add_url_rule("/items/<int:item_id>", "item", lambda item_id: str(item_id))
    with other.test_request_context("/"):
        assert url_shape(other, "pages", {"page": 2}, flask_url_for("pages", page=2)) is None
        assert url_shape(other, "item", {"item_id": 2}, "/items/2") == ("/items/", "")
        assert url_shape(other, "item", {"item_id": 2}, "/items/3") is None  # not Flask's


def test_literal_translations_in_templates_follow_each_requests_language(app: Flask) -> None:
    """A template's ``_("…")`` is compiled as a filter call (core/i18n.py, LiteralGettext):
    translated on each render in that request's language, never once when compiled."""
    from flask import render_template_string, session

    template = '{{ _("办理成果") }}|{{ _("共 %(n)s 项办理成果", n=3) }}|{{ _("%(q)s", q="<b>") }}'
    with app.test_request_context("/"):
        chinese = render_template_string(template)
    with app.test_request_context("/"):
        session["locale"] = "en"
        english = render_template_string(template)
    assert chinese == "办理成果|共 3 项办理成果|&lt;b&gt;"
    assert english.startswith("Outcomes|") and "3" in english and "办理" not in english
    assert english.endswith("|&lt;b&gt;")
    assert "translated" in app.jinja_env.compile(template, raw=True)
