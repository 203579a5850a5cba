"""Nothing a resident writes is public before review; the privacy notice and consent.

A resident's submission (the web form or Open311) waits, private, until staff accept it and
publish a public title and summary of their own: until then no public surface knows it (the
problem page, outcome lists, home, platform and event pages, the Atom feed, the JSON API, for
anonymous and token readers alike, Open311 reads, the open-data ZIP). The resident follows it
with the receipt, where they see the review status and their own words.
"""

from __future__ import annotations

import zipfile
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.exchange.open_data import archive_path, build_open_data
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import EventStatus, Issue, IssueStatus
from consult_hub.public.views import PRIVACY_NOTICE_VERSION
from tests.support import factories
from tests.support import public as support
from tests.support.api import token_for
from tests.support.auth import csrf_token
from tests.support.pages import field_errors, input_value

# The resident's own words: never on a public surface, before or after review.
OWN_TITLE = "居民原话标题甲乙"
OWN_TEXT = "居民原话描述丙丁：楼下路灯坏了，我是张三，电话 13912345678。"
OPEN311_TEXT = "Open311居民原话戊己：东门路灯坏了两周，联系我 13800001111。"
# What staff publish when they accept: their own words.
PUBLIC_TITLE = "东门路灯损坏"
PUBLIC_SUMMARY = "小区东门两盏路灯损坏，夜间出行不便。"
PRIVATE = (OWN_TITLE, "居民原话描述丙丁", "Open311居民原话戊己", "13912345678", "13800001111",
           "张三")


def submit(client: FlaskClient, platform_id: int, **fields: Any):
    return support.submit(client, platform_id, **{"consent": "y", **fields})


def reference_of(app: Flask, **where: Any) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Issue.reference).filter_by(**where))


def open_data(app: Flask) -> str:
    """The open-data archive as built now: every file's text."""
    with app.test_request_context():
        build_open_data()
        with zipfile.ZipFile(archive_path()) as archive:
            return "\n".join(archive.read(name).decode("utf-8-sig")
                             for name in archive.namelist())


def public_surfaces(app: Flask, client: FlaskClient, *, platform_id: int, event_id: int,
                    token: str) -> dict[str, str]:
    """What anyone (or a reader with an API token) gets from every public surface."""
    bearer = {"Authorization": f"Bearer {token}"}
    return {
        "home": client.get("/").text,
        "outcomes": client.get("/outcomes").text,
        "platform": client.get(f"/platforms/{platform_id}").text,
        "event": client.get(f"/events/{event_id}").text,
        "feed": client.get("/feeds/outcomes.atom").text,
        "api list": client.get("/api/v1/issues?per_page=100").text,
        "api list (token)": client.get("/api/v1/issues?per_page=100", headers=bearer).text,
        "api event": client.get(f"/api/v1/events/{event_id}").text,
        "open311 list": client.get("/open311/v2/requests.json").text,
        "open311 xml": client.get("/open311/v2/requests.xml").text,
        "open data": open_data(app),
    }


def accept_and_resolve(app: Flask, reference: str, staff_id: int, *, event_id: int) -> None:
    with app.test_request_context():
        issue = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
        issue.event_id = event_id
        change_status(issue, "accept", actor_id=staff_id, title=PUBLIC_TITLE,
                      description=PUBLIC_SUMMARY, kind="doorstep", category="society")
        change_status(issue, "resolve", actor_id=staff_id, resolution="路灯已更换。")
        db.session.commit()


def test_submissions_are_public_only_once_staff_accept_them_and_only_in_staff_words(
    app: Flask, client: FlaskClient, make
) -> None:
    district = make("district")
    platform = make("platform", district_id=district.id, latitude=30.6, longitude=114.3)
    staff = make("user", role="district_admin", district_id=district.id)
    past = utcnow() - timedelta(days=1)
    event = make("event", platform_id=platform.id, starts_at=past,
                 ends_at=past + timedelta(hours=1), status=EventStatus.HELD, minutes="纪要")
    with app.app_context():
        token = token_for(db.session.get(type(staff), staff.id))
        db.session.commit()

    assert submit(client, platform.id, title=OWN_TITLE, description=OWN_TEXT,
                  phone="13912345678").status_code == 303
    web = reference_of(app, title=OWN_TITLE)
    relayed = support.open311_post(client, platform_id=str(platform.id), description=OPEN311_TEXT)
    assert relayed.status_code == 201
    open311 = relayed.json[0]["service_request_id"]
    # The working titles: the resident's, and the start of the Open311 description.
    with app.app_context():
        for reference in (web, open311):
            issue = db.session.scalar(sa.select(Issue).where(Issue.reference == reference))
            issue.event_id = event.id  # as if raised there: the event page must not list it
            assert issue.status is IssueStatus.PENDING and issue.published_at is None
        db.session.commit()

    for reference in (web, open311):
        for path in (f"/issues/{reference}", f"/issues/{reference.lower()}",
                     f"/api/v1/issues/{reference}", f"/open311/v2/requests/{reference}.json",
                     f"/open311/v2/requests/{reference}.xml"):
            assert client.get(path).status_code == 404, path
        assert client.get(f"/api/v1/issues/{reference}",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 404
    for name, text in public_surfaces(app, client, platform_id=platform.id, event_id=event.id,
                                      token=token).items():
        for reference in (web, open311):
            assert reference not in text, (name, reference)
        for private in PRIVATE:
            assert private not in text, (name, private)

    for reference in (web, open311):
        accept_and_resolve(app, reference, staff.id, event_id=event.id)
    pages = public_surfaces(app, client, platform_id=platform.id, event_id=event.id, token=token)
    for reference in (web, open311):
        pages[f"issue {reference}"] = client.get(f"/issues/{reference}").text
        pages[f"api {reference}"] = client.get(f"/api/v1/issues/{reference}").text
        pages[f"open311 {reference}"] = client.get(f"/open311/v2/requests/{reference}.json").text
    for name, text in pages.items():
        for reference in (web, open311):
            if name in ("open311 list", "open311 xml", "open data", "api list",
                        "api list (token)", "api event", "event", "outcomes", "feed"):
                assert reference in text, (name, reference)
        assert PUBLIC_TITLE in text or PUBLIC_SUMMARY in text, name  # Open311: no title
        for private in PRIVATE:
            assert private not in text, (name, private)
    assert PUBLIC_SUMMARY in pages[f"issue {web}"]


def test_the_receipt_and_tracking_show_the_review_status_and_the_residents_own_words(
    app: Flask, client: FlaskClient, make
) -> None:
    platform = make("platform")
    staff = make("user", role="district_admin", district_id=platform.district_id)
    submit(client, platform.id, title=OWN_TITLE, description=OWN_TEXT, phone="13912345678")
    receipt = client.get("/submit/receipt").text
    assert "经工作人员受理后才会公开显示" in receipt
    with app.app_context():
        issue = db.session.scalar(sa.select(Issue))
        reference, token = issue.reference, issue.tracking_token

    looked_up = client.post("/track", data={"csrf_token": csrf_token(client, "/track"),
                                            "reference": reference, "digits": "5678"})
    assert looked_up.headers["Location"] == f"/track/{token}"
    waiting = client.get(f"/track/{token}").text
    assert "待受理" in waiting and "正在等待工作人员受理" in waiting
    assert "您提交的内容" in waiting and OWN_TEXT in waiting and OWN_TITLE in waiting
    assert f'href="/issues/{reference}"' not in waiting  # no public page yet

    accept_and_resolve(app, reference, staff.id, event_id=None)
    tracked = client.get(f"/track/{token}").text
    assert PUBLIC_TITLE in tracked and PUBLIC_SUMMARY in tracked
    assert "已解决或采纳" in tracked and "正在等待工作人员受理" not in tracked
    assert OWN_TEXT in tracked  # still theirs to read, marked as not public
    assert "只有您能在这个页面看到，不会公开。" in tracked
    assert f'href="/issues/{reference}"' in tracked


def test_a_submission_rejected_in_review_is_never_published(
    app: Flask, client: FlaskClient, make
) -> None:
    platform = make("platform")
    submit(client, platform.id, title=OWN_TITLE, description=OWN_TEXT)
    with app.app_context():
        issue = db.session.scalar(sa.select(Issue))
        change_status(issue, "reject", actor_id=None, reason="不属于协商平台受理范围。")
        db.session.commit()
        reference, token = issue.reference, issue.tracking_token
    assert client.get(f"/issues/{reference}").status_code == 404
    assert client.get(f"/open311/v2/requests/{reference}.json").status_code == 404
    assert reference not in client.get("/api/v1/issues?status=rejected").text
    tracked = client.get(f"/track/{token}").text  # the resident alone learns why
    assert "未予受理" in tracked and "不属于协商平台受理范围。" in tracked


def test_an_unpublished_problem_is_on_no_public_surface_whatever_its_status(
    app: Flask, client: FlaskClient, make
) -> None:
    """Every public read asks for published problems, not only for the statuses that follow
    review: a row without published_at (however it came to be) stays private."""
    platform = make("platform")
    past = utcnow() - timedelta(days=1)
    event = make("event", platform_id=platform.id, starts_at=past,
                 ends_at=past + timedelta(hours=1), status=EventStatus.HELD, minutes="纪要")
    user = make("user", role="district_admin", district_id=platform.district_id)
    with app.test_request_context():
        token = token_for(db.session.get(type(user), user.id))
        issue = factories.issue(platform_id=platform.id, title="未公开的问题庚辛",
                                event_id=event.id)
        change_status(issue, "resolve", actor_id=None, resolution="已办结。")
        db.session.flush()
        db.session.execute(sa.update(Issue).where(Issue.id == issue.id).values(published_at=None))
        db.session.commit()
        reference = issue.reference
    assert client.get(f"/issues/{reference}").status_code == 404
    assert client.get(f"/api/v1/issues/{reference}").status_code == 404
    assert client.get(f"/open311/v2/requests/{reference}.json").status_code == 404
    for name, text in public_surfaces(app, client, platform_id=platform.id, event_id=event.id,
                                      token=token).items():
        assert reference not in text and "未公开的问题庚辛" not in text, name


def test_an_unconfirmed_reply_is_in_progress_to_the_public(app: Flask, client: FlaskClient,
                                                           make) -> None:
    platform = make("platform")
    with app.test_request_context():
        issue = factories.issue(platform_id=platform.id)
        change_status(issue, "assign", actor_id=None, department=factories.department(),
                      due_on=utcnow().date() + timedelta(days=10))
        change_status(issue, "reply", actor_id=None, reply="答复草稿壬癸",
                      proposed_status="resolved")
        db.session.commit()
        reference, token = issue.reference, issue.tracking_token
    api = client.get(f"/api/v1/issues/{reference}").json
    assert (api["status"], api["status_label"]) == ("in_progress", "办理中")
    assert api["resolution"] is None
    listed = client.get("/api/v1/issues?status=in_progress").json["items"]
    assert [i["reference"] for i in listed] == [reference]
    assert client.get("/api/v1/issues?status=replied").json["items"] == []
    for path in (f"/issues/{reference}", f"/track/{token}", f"/api/v1/issues/{reference}",
                 f"/open311/v2/requests/{reference}.json"):
        text = client.get(path).text
        assert "答复草稿壬癸" not in text and "已答复待确认" not in text, path
        assert "办理中" in text, path
    assert "已答复待确认" not in open_data(app)


# -- the privacy notice and consent -----------------------------------------------------------


def test_the_privacy_notice_says_what_who_why_how_long_and_how_to_delete(
    app: Flask, client: FlaskClient, monkeypatch
) -> None:
    page = client.get("/privacy")
    assert page.status_code == 200
    html = page.text
    assert "<h1>个人信息保护说明</h1>" in html and PRIVACY_NOTICE_VERSION in html
    for heading in ("我们收集哪些信息", "为什么收集", "谁能看到", "保存多久", "怎样要求删除"):
        assert heading in html
    for said in ("姓名和联系电话", "回访", "平台联络员", "区政协和市政协的工作人员", "承办单位",
                 "问题办结满 12 个月后", "区的政协办公室", "受理编号"):
        assert said in html, said

    monkeypatch.setitem(app.config, "CONTACT_RETENTION_MONTHS", 6)
    app.extensions["page_cache"].clear()
    assert "问题办结满 6 个月后" in client.get("/privacy").text


def test_the_notice_is_linked_from_the_form_and_every_pages_footer(
    client: FlaskClient, make, auth
) -> None:
    platform = make("platform")
    form = client.get(f"/submit?platform={platform.id}").text
    assert form.count('href="/privacy"') == 2  # beside the consent box, and in the footer
    assert 'name="consent"' in form and "我已阅读并同意《个人信息保护说明》" in form
    for path in ("/", "/outcomes", "/platforms", "/track", "/login", "/privacy"):
        footer = client.get(path).text.split('<footer class="site-footer">')[1]
        assert '<a href="/privacy">个人信息保护说明</a>' in footer, path
    staff = make("user", role="admin")
    auth.login(staff.username)
    footer = client.get("/dashboard").text.split('<footer class="site-footer">')[1]
    assert 'href="/privacy"' in footer


def test_a_submission_without_consent_is_refused_on_that_field_keeping_what_was_typed(
    app: Flask, client: FlaskClient, make
) -> None:
    platform = make("platform")
    answer = submit(client, platform.id, consent="", title=OWN_TITLE, description=OWN_TEXT,
                    name="王小明", phone="13912345678")
    assert answer.status_code == 422
    assert "请阅读并同意个人信息保护说明后再提交" in field_errors(answer.text, "consent")
    assert field_errors(answer.text, "title") == ""
    assert input_value(answer.text, "title") == OWN_TITLE
    assert input_value(answer.text, "name") == "王小明"
    assert input_value(answer.text, "phone") == "13912345678"
    assert OWN_TEXT in answer.text  # the description's text area
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Issue.id))) == 0

    assert submit(client, platform.id, title=OWN_TITLE).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Issue.consent_version)) == PRIVACY_NOTICE_VERSION
