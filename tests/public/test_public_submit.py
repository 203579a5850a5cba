"""Residents raise a problem, follow it with a receipt and rate the outcome; nothing private
leaks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import (
    Area,
    Event,
    EventStatus,
    Issue,
    IssueSource,
    IssueStatus,
    IssueUpdate,
    Notification,
    PlatformStatus,
    Satisfaction,
)
from consult_hub.public.operations import notify_unsatisfied
from consult_hub.public.views import PRIVACY_NOTICE_VERSION
from tests.support import public as support
from tests.support.auth import csrf_token
from tests.support.pages import assert_in_layout, assert_no_inline_code
from tests.support.public import closed_issue

NOT_FOUND = "没有找到相符的问题。请核对受理编号和电话后四位。"


def submit(client: FlaskClient, platform_id: int, **fields):
    """The submission form posted as a resident who agrees to the privacy notice."""
    return support.submit(client, platform_id, **{"consent": "y", **fields})


def stored_issues(app: Flask) -> list[Issue]:
    with app.app_context():
        issues = list(db.session.scalars(sa.select(Issue).order_by(Issue.id)))
        db.session.expunge_all()
        return issues


def track_path(issue: Issue) -> str:
    return f"/track/{issue.tracking_token}"


def rate(client: FlaskClient, issue: Issue, satisfaction: str, comment: str = ""):
    path = track_path(issue)
    return client.post(path, data={"csrf_token": csrf_token(client, path),
                                   "satisfaction": satisfaction, "comment": comment})


# -- submitting -------------------------------------------------------------------------------


def test_a_resident_submits_a_problem_and_gets_a_receipt(app: Flask, client: FlaskClient,
                                                         make) -> None:
    platform = make("platform", name="百步亭社区协商议事室")
    form = client.get(f"/submit?platform={platform.id}").text
    assert re.search(rf'<option selected value="{platform.id}">百步亭社区协商议事室[^<]*</option>',
                     form)
    # Plain words: the resident is not asked to classify the problem in programme terms.
    assert 'name="kind"' not in form and 'name="category"' not in form
    assert "问题类型" not in form and "所属领域" not in form
    assert "仅用于回访和短信通知，不会公开" in form
    honeypot = re.search(r'<div class="pub-hp-field" aria-hidden="true">.*?</div>', form, re.S)
    assert (honeypot and 'tabindex="-1"' in honeypot.group()
            and 'autocomplete="off"' in honeypot.group())
    assert_no_inline_code(form)

    answer = submit(client, platform.id, name="王小明", phone="139 1234 5678")
    assert answer.status_code == 303 and answer.headers["Location"] == "/submit/receipt"
    [issue] = stored_issues(app)
    # It waits for review, unpublished, with the resident's words kept as submitted.
    assert issue.source is IssueSource.RESIDENT and issue.status is IssueStatus.PENDING
    assert issue.published_at is None and issue.submitted_title == "小区东门路灯坏了"
    assert issue.platform_id == platform.id and issue.title == "小区东门路灯坏了"
    assert issue.submitter_name == "王小明" and issue.submitter_phone == "13912345678"
    assert issue.consent_version == PRIVACY_NOTICE_VERSION

    receipt = client.get("/submit/receipt")
    assert receipt.headers["Cache-Control"] == "private, no-store"
    html = receipt.text
    assert f'<p class="pub-receipt-code" aria-label="受理编号">{issue.reference}</p>' in html
    assert f"{app.config['SITE_URL']}/track/{issue.tracking_token}" in html
    assert "电话号码后四位" in html
    assert "经工作人员受理后才会公开显示" in html
    assert "王小明" not in html and "5678" not in html


def test_without_a_phone_the_receipt_insists_on_the_link(app: Flask, client: FlaskClient,
                                                         make) -> None:
    platform = make("platform")
    submit(client, platform.id)
    receipt = client.get("/submit/receipt").text
    assert "您没有留下电话，只能通过上面的链接查询" in receipt
    link = re.search(re.escape(f'<a href="{app.config["SITE_URL"]}') + r'(/track/[\w-]+)">',
                     receipt)
    assert link
    page = app.test_client().get(link.group(1))  # another browser: the link alone is enough
    assert page.status_code == 200 and "小区东门路灯坏了" in page.text and "待受理" in page.text


def test_choosing_a_district_lists_its_active_platforms(client: FlaskClient, make) -> None:
    district, other = make("district", name="江岸区"), make("district")
    make("platform", district_id=district.id, name="幸福社区议事室")
    make("platform", district_id=district.id, name="暂停的议事室", status=PlatformStatus.SUSPENDED)
    make("platform", district_id=other.id, name="别区的议事室")
    assert 'name="platform"' not in client.get("/submit").text  # choose a district first
    html = client.get(f"/submit?district={district.id}").text
    assert "幸福社区议事室" in html
    assert "暂停的议事室" not in html and "别区的议事室" not in html
    assert "幸福社区议事室" in client.get("/submit", query_string={"q": "幸福"}).text


def test_a_districts_platforms_are_listed_by_street_with_their_community(
        app: Flask, client: FlaskClient, make) -> None:
    district = make("district", name="江岸区")
    in_community = make("platform", district_id=district.id, name="二号议事室")
    with app.app_context():
        community = db.session.get(Area, in_community.area_id)
        street_id, street, name = community.parent_id, community.parent.name, community.name
    at_street = make("platform", district_id=district.id, name="一号议事室", area_id=street_id)
    html = client.get(f"/submit?district={district.id}").text
    group = re.search(rf'<optgroup label="江岸区 · {street}">(.*?)</optgroup>', html, re.S)
    assert group, html
    assert re.findall(r'<option value="(\d+)">([^<]*)</option>', group.group(1)) == [
        (str(at_street.id), "一号议事室"), (str(in_community.id), f"二号议事室（{name}）")]


def test_the_platform_asked_for_and_chosen_is_offered_once(client: FlaskClient, make) -> None:
    """A search that leaves out the platform in the link still offers it — once, though the
    resident also chose it."""
    platform = make("platform", name="幸福社区议事室")
    answer = client.post(f"/submit?platform={platform.id}&q=没有这个地方", data={
        "csrf_token": csrf_token(client, f"/submit?platform={platform.id}"),
        "platform": str(platform.id), "title": "", "description": "楼道灯坏了。",
        "consent": "y"})
    assert answer.status_code == 422
    select = re.search(r'<select [^>]*name="platform"[^>]*>(.*?)</select>', answer.text, re.S)
    assert select and "幸福社区议事室" in select.group(1)
    assert len(re.findall(rf'<option [^>]*value="{platform.id}"', select.group(1))) == 1


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"title": "  "}, "title", "请填写标题"),
    ({"description": ""}, "description", "请填写问题描述"),
    ({"phone": "call me"}, "phone", "请填写有效的手机号"),
    ({"platform": ""}, "platform", "请选择问题所在的地方"),
    ({"subject": "nonsense"}, "subject", "无效的取值"),
    ({"sms": "y"}, "sms", "要接收短信通知，请在上面填写手机号"),
    ({"sms": "y", "phone": "027-85612345"}, "sms", "要接收短信通知，请在上面填写手机号"),
])
def test_a_bad_submission_names_the_field_and_stores_nothing(
    app: Flask, client: FlaskClient, make, fields: dict, field: str, message: str
) -> None:
    platform = make("platform")
    answer = submit(client, platform.id, **fields)
    assert answer.status_code == 422
    errors = re.search(rf'<div class="field-errors" id="{field}-error">(.*?)</div>', answer.text,
                       re.S)
    assert errors and message in errors.group(1)
    assert stored_issues(app) == []


def test_a_suspended_platform_takes_no_submissions(app: Flask, client: FlaskClient, make) -> None:
    active = make("platform")
    suspended = make("platform", status=PlatformStatus.SUSPENDED)
    path = f"/submit?platform={active.id}"
    answer = client.post(path, data={
        "csrf_token": csrf_token(client, path), "platform": suspended.id,
        "title": "标题", "description": "描述", "consent": "y"})
    assert answer.status_code == 422 and "请选择问题所在的地方" in answer.text
    assert stored_issues(app) == []


def test_the_honeypot_pretends_success_and_stores_nothing(app: Flask, client: FlaskClient,
                                                          make) -> None:
    platform = make("platform")
    answer = submit(client, platform.id, website="http://spam.example", name="机器人")
    assert answer.status_code == 303 and answer.headers["Location"] == "/submit/receipt"
    assert stored_issues(app) == []
    html = client.get("/submit/receipt").text
    assert "提交成功" in html and "/track/" not in html


def test_submissions_are_rate_limited_per_client(
    app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SUBMISSION_RATE_LIMIT", "2 per hour")
    platform = make("platform")
    assert [submit(client, platform.id).status_code for _ in range(2)] == [303, 303]
    refused = submit(client, platform.id, title="第三次")
    assert refused.status_code == 429
    assert_in_layout(refused.text)
    assert "操作太频繁了" in refused.text and "请过一段时间再试" in refused.text
    assert len(stored_issues(app)) == 2
    assert client.get("/submit").status_code == 200  # reading the form is not limited


# -- tracking ---------------------------------------------------------------------------------


def test_tracking_by_code_and_last_four_digits_leads_to_the_progress_page(
    app: Flask, client: FlaskClient, make
) -> None:
    issue = closed_issue(app, make("platform").id, phone="139-0000-1234")
    token = csrf_token(client, "/track")
    answer = client.post("/track", data={"csrf_token": token, "reference": issue.reference.lower(),
                                         "digits": "1234"})
    assert answer.status_code == 303 and answer.headers["Location"] == track_path(issue)
    page = client.get(track_path(issue))
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert issue.reference in page.text and "已修复路灯。" in page.text
    assert "已解决或采纳" in page.text and "评价办理结果" in page.text


def test_wrong_digits_and_unknown_codes_get_the_same_answer(app: Flask, client: FlaskClient,
                                                            make) -> None:
    issue = closed_issue(app, make("platform").id, phone="13900001234")
    no_phone = closed_issue(app, make("platform").id, phone="")

    def look_up(reference: str, digits: str):
        return client.post("/track", data={"csrf_token": csrf_token(client, "/track"),
                                           "reference": reference, "digits": digits})

    answers = [look_up(issue.reference, "4321"), look_up("WH99-99999", "1234"),
               look_up(no_phone.reference, "0000")]
    assert {a.status_code for a in answers} == {422}
    notices = [re.search(r'<div class="pub-notice[^>]*role="alert">(.*?)</div>', a.text, re.S)
               for a in answers]
    assert all(notices) and len({n.group(1) for n in notices}) == 1
    assert NOT_FOUND in answers[0].text
    assert issue.tracking_token not in answers[0].text


def test_tracking_looks_ups_are_rate_limited(
    app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "TRACKING_RATE_LIMIT", "3 per hour")
    issue = closed_issue(app, make("platform").id)
    token = csrf_token(client, "/track")
    statuses = [client.post("/track", data={"csrf_token": token, "reference": issue.reference,
                                            "digits": f"{n:04d}"}).status_code for n in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_an_unknown_secret_link_is_not_found(client: FlaskClient) -> None:
    assert client.get("/track/not-a-real-token").status_code == 404


# -- rating -----------------------------------------------------------------------------------


def test_a_resident_rates_once_only(app: Flask, client: FlaskClient, make) -> None:
    issue = closed_issue(app, make("platform").id)
    first = rate(client, issue, "satisfied", comment="师傅很负责")
    assert first.status_code == 303
    page = client.get(track_path(issue)).text
    assert "感谢您的评价。" in page and "评价办理结果" not in page
    assert '<span class="badge badge-success">满意</span>' in page

    path = track_path(issue)
    again = client.post(path, data={"csrf_token": csrf_token(client, "/track"),
                                    "satisfaction": "unsatisfied"})
    assert again.status_code == 409 and "已经评价过了" in again.text
    [stored] = stored_issues(app)
    assert stored.satisfaction is Satisfaction.SATISFIED and stored.status is IssueStatus.RESOLVED
    with app.app_context():
        comments = db.session.scalars(sa.select(IssueUpdate).where(
            IssueUpdate.note.contains("师傅很负责"))).all()
        assert [u.is_public for u in comments] == [False]
    public_page = client.get(f"/issues/{issue.reference}").text
    assert '<span class="badge badge-success">满意</span>' in public_page
    assert "师傅很负责" not in public_page


def test_an_open_problem_cannot_be_rated(app: Flask, client: FlaskClient, make) -> None:
    issue = make("issue")
    assert "评价办理结果" not in client.get(track_path(issue)).text
    answer = rate(client, issue, "satisfied")
    assert answer.status_code == 422 and "问题办结后才能评价" in answer.text
    assert stored_issues(app)[0].satisfaction is None


def test_unsatisfied_reopens_the_problem_and_tells_its_staff_once(
    app: Flask, client: FlaskClient, make
) -> None:
    district, other = make("district"), make("district")
    platform = make("platform", district_id=district.id)
    coordinator = make("user", role="coordinator", platform_ids=[platform.id])
    staff = make("user", role="district_admin", district_id=district.id)
    make("user", role="district_admin", district_id=district.id, is_active=False)
    make("user", role="district_admin", district_id=other.id)
    make("user", role="coordinator", platform_ids=[make("platform", district_id=district.id).id])
    issue = closed_issue(app, platform.id, action="constrain")

    answer = rate(client, issue, "unsatisfied", comment="路灯还是不亮")
    assert answer.status_code == 303
    assert "问题已重新办理" in client.get(track_path(issue)).text
    [stored] = stored_issues(app)
    assert stored.status is IssueStatus.RECEIVED
    with app.app_context():
        reopen = db.session.scalars(sa.select(IssueUpdate).where(
            IssueUpdate.issue_id == issue.id, IssueUpdate.action == "reopen")).one()
        assert reopen.is_public and reopen.from_status is IssueStatus.CONSTRAINED
        notes = db.session.scalars(sa.select(Notification).order_by(Notification.user_id)).all()
        assert sorted(n.user_id for n in notes) == sorted([coordinator.id, staff.id])
        assert {n.kind for n in notes} == {"issue_unsatisfied"}
        assert len({n.dedupe_key for n in notes}) == 1
        assert notes[0].dedupe_key.startswith(f"issue_unsatisfied:{issue.id}:")
        assert issue.reference in notes[0].subject and "不满意" in notes[0].body
        assert notes[0].link
    with app.test_request_context():
        # Telling them again about the same rating adds nothing.
        rated_at = datetime.fromisoformat(notes[0].dedupe_key.split(":", 2)[2])
        assert notify_unsatisfied(db.session.get(Issue, issue.id), rated_at=rated_at) == 0
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 2
    assert "路灯还是不亮" not in client.get(f"/issues/{issue.reference}").text


# -- privacy ----------------------------------------------------------------------------------


def test_no_public_page_shows_a_residents_name_phone_private_note_or_staff(
    app: Flask, client: FlaskClient, make, auth
) -> None:
    name, phone, note = "隐私测试张三丰", "13912345678", "内部备注：已与居民当面核实"
    district = make("district")
    platform = make("platform", district_id=district.id, name="隐私测试平台")
    coordinator = make("user", role="coordinator", name="联络员钱多多", email="qian@example.org",
                       platform_ids=[platform.id])
    staff = make("user", role="district_admin", district_id=district.id, name="区工作人员孙悟净")
    past = utcnow() - timedelta(days=1)
    event = make("event", platform_id=platform.id, starts_at=past,
                 ends_at=past + timedelta(hours=1), status=EventStatus.HELD, minutes="会议纪要")

    assert submit(client, platform.id, name=name, phone=phone).status_code == 303
    receipt = client.get("/submit/receipt").text
    [issue] = stored_issues(app)
    with app.app_context():
        stored = db.session.get(Issue, issue.id)
        stored.event_id = event.id
        change_status(stored, "accept", actor_id=staff.id, title="东门路灯损坏",
                      description="东门两盏路灯损坏。", kind="doorstep", category="society")
        change_status(stored, "note", actor_id=staff.id, note=note, is_public=False)
        change_status(stored, "resolve", actor_id=staff.id, resolution="已修好。")
        db.session.commit()
        assert db.session.get(Event, event.id) is not None

    looked_up = client.post("/track", data={"csrf_token": csrf_token(client, "/track"),
                                            "reference": issue.reference, "digits": phone[-4:]})
    assert looked_up.status_code == 303
    pages = {
        "receipt": receipt,
        "home": client.get("/").text,
        "directory": client.get("/platforms").text,
        "platform": client.get(f"/platforms/{platform.id}").text,
        "events": client.get("/events?when=past").text,
        "event": client.get(f"/events/{event.id}").text,
        "outcomes": client.get("/outcomes").text,
        "outcome": client.get(f"/issues/{issue.reference}").text,
        "track": client.get("/track").text,
        "tracking": client.get(track_path(issue)).text,
        "tracking after look-up": client.get(looked_up.headers["Location"]).text,
    }
    # Every page shows the problem (or its receipt), so the test looks where the data would be.
    for key in ("home", "platform", "event", "outcomes", "outcome", "tracking"):
        assert issue.reference in pages[key], key
    for key, html in pages.items():
        for secret in (name, phone, phone[-4:], note, coordinator.name, "qian@example.org",
                       staff.name):
            assert secret not in html, (key, secret)
        if key not in ("receipt", "tracking", "tracking after look-up"):
            assert issue.tracking_token not in html, key
