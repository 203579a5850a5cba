"""A resident raises a problem in plain words (where, what, an everyday subject, photos), staff
classify it at review, and the resident follows it by QR code, tracking page and text message.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
import segno
import sqlalchemy as sa
from PIL import Image

from consult_hub.core.db import utcnow
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.models import Issue, IssuePhoto, IssueStatus, TextMessage
from consult_hub.notifications import sms
from tests.support import public as support
from tests.support.auth import csrf_token, signed_in
from tests.support.issues import act, stored
from tests.support.pages import field_errors

GPS_IFD = 0x8825


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (30.0, 35.0, 12.0), 3: "E", 4: (114.0, 17.0, 45.0)}
    buffer = BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def submit(client, platform_id: int, photos: list[bytes] = (), **fields):
    files = [(BytesIO(data), f"IMG_{n}.jpg") for n, data in enumerate(photos)]
    path = f"/submit?platform={platform_id}"
    data = {"csrf_token": csrf_token(client, path), "platform": platform_id,
            "title": "小区东门路灯坏了", "description": "东门两盏路灯不亮已有一周，晚上出行不便。",
            "website": "", "consent": "y", **fields}
    if files:
        data["photos"] = files
    return client.post(path, data=data, content_type="multipart/form-data")


def the_issue(app) -> Issue:
    with app.app_context():
        issue = db.session.scalars(sa.select(Issue).order_by(Issue.id.desc())).first()
        issue.photos  # noqa: B018 (loaded before detaching)
        db.session.expunge_all()
        return issue


@pytest.fixture()
def staff(app, make):
    """A district's staff member, signed in, and a platform of that district."""
    district = make("district")
    platform = make("platform", district_id=district.id, name="百步亭社区协商议事室")
    make("user", role="district_admin", district_id=district.id, username="reviewer")
    return signed_in(app, "reviewer"), platform


def test_a_plain_submission_is_classified_by_staff_from_the_subjects_suggestion(app, staff):
    client, platform = staff
    resident = app.test_client()
    form = resident.get(f"/submit?platform={platform.id}").text
    assert 'value="streetlight"' in form and "路灯" in form  # everyday subjects, kept as data
    assert submit(resident, platform.id, subject="streetlight").status_code == 303
    issue = the_issue(app)
    assert issue.status is IssueStatus.PENDING and issue.subject == "streetlight"
    assert issue.kind is None and issue.category is None

    page = client.get(f"/manage/issues/{issue.id}").text
    assert "居民选择的常见问题：路灯" in page and "建议分类：房前屋后实事 · 社会建设" in page
    accept = page.split(f'action="/manage/issues/{issue.id}/act/accept"')[1].split("</form>")[0]
    assert re.search(r'<option selected value="doorstep">', accept)
    assert re.search(r'<option selected value="society">', accept)

    answer = act(client, issue.id, "accept", title="东门路灯不亮", description="东门两盏路灯不亮。",
                 kind="urgent", category="society")
    assert answer.status_code == 303
    accepted = stored(app, issue.id)
    assert accepted.is_published and accepted.kind.value == "urgent"


def test_staff_cannot_accept_a_submission_without_a_kind_and_category(app, staff):
    client, platform = staff
    submit(app.test_client(), platform.id)  # no subject: nothing to suggest
    issue = the_issue(app)
    answer = act(client, issue.id, "accept", title="东门路灯不亮", description="东门两盏路灯不亮。",
                 kind="", category="")
    assert answer.status_code == 422
    assert "请选择问题类型" in field_errors(answer.text, "accept-kind")
    assert "请选择类别" in field_errors(answer.text, "accept-category")
    after = stored(app, issue.id)
    assert after.status is IssueStatus.PENDING and after.published_at is None
    with app.app_context(), pytest.raises(Exception, match="请选择问题类型"):
        change_status(db.session.get(Issue, issue.id), "accept", actor_id=None,
                      title="东门路灯不亮", description="东门两盏路灯不亮。")


def test_photos_are_cleaned_and_private_until_the_problem_is_published(app, staff):
    client, platform = staff
    resident = app.test_client()
    assert submit(resident, platform.id, photos=[jpeg_with_gps(), jpeg_with_gps()]).status_code \
        == 303
    issue = the_issue(app)
    first, second = issue.photos
    path = Path(app.config["UPLOAD_FOLDER"]) / "event-photos" / first.stored_name
    with Image.open(path) as saved:
        assert dict(saved.getexif()) == {}  # camera and GPS position gone
    url = f"/problem-photos/{first.id}"

    def status(who, address=url):
        answer = who.get(address)
        answer.close()  # a file answer: closed, as a server would
        return answer.status_code, answer.headers.get("Cache-Control")
    # Before publication: nobody but staff (no "forbidden": its existence is not confirmed).
    assert status(resident)[0] == 404 and status(app.test_client())[0] == 404
    assert status(client) == (200, "private, no-store")
    assert f'src="{url}"' in client.get(f"/manage/issues/{issue.id}").text

    # Staff withhold the second one, then publish the problem: the first is public now.
    token = csrf_token(client, f"/manage/issues/{issue.id}")
    assert client.post(f"/manage/issues/photos/{second.id}/public",
                       data={"csrf_token": token, "show": "no"}).status_code == 303
    act(client, issue.id, "accept", title="东门路灯不亮", description="东门两盏路灯不亮。",
        kind="doorstep", category="society")
    public = app.test_client()
    assert status(public)[0] == 200
    assert status(public, f"/problem-photos/{second.id}")[0] == 404
    page = public.get(f"/issues/{issue.reference}").text
    assert f'src="{url}"' in page and f"/problem-photos/{second.id}" not in page


def test_a_refused_submission_keeps_the_words_and_says_to_choose_photos_again(app, staff):
    _client, platform = staff
    answer = submit(app.test_client(), platform.id, photos=[b"not an image"],
                    description="东门路灯坏了，照片在下面。")
    assert answer.status_code == 422
    refused = field_errors(answer.text, "photos")
    assert "第 1 张照片：只能上传 JPEG、PNG 或 WebP 格式的照片" in refused
    assert "东门路灯坏了，照片在下面。" in answer.text and "重新选择照片" in answer.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IssuePhoto)) == 0


def test_more_than_three_photos_are_refused(app, staff):
    _client, platform = staff
    answer = submit(app.test_client(), platform.id, photos=[jpeg_with_gps()] * 4)
    assert answer.status_code == 422 and "最多上传 3 张照片" in field_errors(answer.text, "photos")


def test_near_me_lists_the_nearest_platforms_with_their_distance(app, client, make):
    here = (30.600, 114.300)
    names = {}
    for n, (dlat, dlon) in enumerate([(0.001, 0), (0.01, 0), (0.02, 0.02), (0.05, 0), (0.1, 0),
                                      (0.3, 0.3), (0, 0.004)]):
        names[n] = make("platform", name=f"议事室{n}号", latitude=here[0] + dlat,
                        longitude=here[1] + dlon).name
    make("platform", name="没有坐标的议事室")
    html = client.get("/submit", query_string={"lat": "30.600", "lon": "114.300"}).text
    assert "离您最近的 5 个平台已列在下面" in html
    group = html.split('<optgroup label="离您最近">')[1].split("</optgroup>")[0]
    listed = re.findall(r">(议事室\d号)（约 ([^）]+)）<", group)
    assert [name for name, _ in listed] == [names[0], names[6], names[1], names[2], names[3]]
    assert listed[0][1] == "110 米" and listed[2][1] == "1.1 公里"
    # No position given (or a nonsense one): nothing listed, the search still works.
    assert '<optgroup label="离您最近">' not in client.get("/submit?lat=abc&lon=114").text


def test_a_street_or_community_name_finds_its_platforms(app, client, make):
    platform = make("platform", name="幸福议事室")
    with app.app_context():
        from consult_hub.platforms.models import Platform

        community = db.session.get(Platform, platform.id).area
        community_name, street_name = community.name, community.parent.name
    for words in (community_name, street_name):
        assert "幸福议事室" in client.get("/submit", query_string={"q": words}).text


def test_the_receipt_offers_the_tracking_link_as_a_qr_code_and_a_copy_button(app, client, make):
    platform = make("platform")
    support.submit(client, platform.id)
    receipt = client.get("/submit/receipt").text
    issue = the_issue(app)
    url = f"{app.config['SITE_URL']}/track/{issue.tracking_token}"
    src = re.search(r'<img src="([^"]+)" alt="查询链接的二维码"', receipt).group(1)
    # The same link drawn again gives the same picture: the code holds exactly the link.
    assert src.replace("&amp;", "&") == segno.make(url, error="m").svg_data_uri(scale=5, border=2)
    assert src.startswith("data:image/svg+xml")  # drawn here, no outside service
    assert f'data-copy="{url}"' in receipt and "复制查询链接" in receipt


def test_the_tracking_page_says_what_happens_next_and_by_when(app, client, make):
    platform = make("platform")
    support.submit(client, platform.id)
    issue = the_issue(app)
    page = client.get(f"/track/{issue.tracking_token}").text
    assert "接下来" in page and "3 个工作日内" in page and "预计在" in page


class Recorder:
    """The test double of an SMS provider's adapter: keeps what it was asked to send."""

    sent: list[tuple[str, str]] = []
    fail = False

    def __init__(self, config):
        self.config = config

    def send(self, phone: str, text: str) -> None:
        if Recorder.fail:
            raise sms.SendFailed("provider unavailable")
        Recorder.sent.append((phone, text))


@pytest.fixture()
def recorder(app):
    Recorder.sent, Recorder.fail = [], False
    app.config["SMS_SENDER"] = f"{__name__}:Recorder"
    yield Recorder
    app.config["SMS_SENDER"] = "log"


def run_sms(app) -> dict:
    with app.test_request_context():
        return sms.run(utcnow())


def test_with_consent_each_public_step_is_texted_once(app, staff, recorder):
    client, platform = staff
    submit(app.test_client(), platform.id, phone="139 1234 5678", sms="y")
    issue = the_issue(app)
    assert issue.sms_consent_at is not None
    run_sms(app)
    assert len(recorder.sent) == 1 and recorder.sent[0][0] == "13912345678"
    assert issue.reference in recorder.sent[0][1]
    assert f"/track/{issue.tracking_token}" in recorder.sent[0][1]

    act(client, issue.id, "accept", title="东门路灯不亮", description="东门两盏路灯不亮。",
        kind="doorstep", category="society")
    act(client, issue.id, "note", note="内部记录：已电话联系。", is_public="")  # internal: no SMS
    run_sms(app)
    run_sms(app)  # again: nothing new
    assert len(recorder.sent) == 2 and "已受理并公开" in recorder.sent[1][1]


def test_a_failed_text_is_retried_later_and_never_blocks_the_request(app, staff, recorder):
    _client, platform = staff
    recorder.fail = True
    assert submit(app.test_client(), platform.id, phone="13912345678", sms="y").status_code == 303
    assert run_sms(app)["retry"] == 1
    with app.app_context():
        message = db.session.scalars(sa.select(TextMessage)).one()
        assert message.status.value == "pending" and message.next_attempt_at > utcnow()
        assert "provider unavailable" in message.last_error


def test_without_consent_nothing_is_texted(app, staff, recorder):
    client, platform = staff
    submit(app.test_client(), platform.id, phone="13912345678")
    issue = the_issue(app)
    act(client, issue.id, "accept", title="东门路灯不亮", description="东门两盏路灯不亮。",
        kind="doorstep", category="society")
    run_sms(app)
    assert recorder.sent == []
