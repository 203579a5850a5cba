"""Staff create, list and revoke their own API tokens; the database only ever holds a hash."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from consult_hub.auth.models import ApiToken
from consult_hub.extensions import db
from tests.support.api import bearer
from tests.support.auth import csrf_token

# Each test builds its own people and tokens, in a savepoint rolled back after it, on a database
# left empty for the module (tests/api/conftest.py): nothing is committed, `rolled_back`.
pytestmark = pytest.mark.rolled_back

EVENT_BODY = {"topic": "x"}  # incomplete on purpose: a valid token gets 422, not 401


def _create(client, name: str):
    token = csrf_token(client, "/manage/tokens/")
    return client.post("/manage/tokens/", data={"name": name, "csrf_token": token})


def _shown_token(page: str) -> str:
    match = re.search(r">(ch_[A-Za-z0-9_-]{43})<", page)
    assert match, "the new token is not on the page"
    return match.group(1)


def _everything_stored(app) -> str:
    """Every value in every table, as text, to search for a secret."""
    with app.app_context(), db.engine.connect() as conn:
        return "\n".join(repr(row) for table in db.metadata.sorted_tables
                         for row in conn.execute(sa.select(table)))


def test_a_new_token_is_shown_once_and_stored_hashed(app, client, auth, make):
    user = make("user", role="coordinator")
    auth.login(user.username)
    created = _create(client, "区网格系统")
    assert created.status_code == 201
    token = _shown_token(created.text)
    listing = client.get("/manage/tokens/")
    assert token not in listing.text
    assert "区网格系统" in listing.text and token[:11] in listing.text
    stored = _everything_stored(app)
    assert token not in stored and token[11:] not in stored
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.prefix == token[:11] and row.revoked_at is None
    response = client.post("/api/v1/events", json=EVENT_BODY, headers=bearer(token))
    assert response.status_code == 422  # authenticated; the body is what is wrong


def test_the_list_shows_only_my_tokens_with_their_use(app, client, auth, make):
    me, other = make("user", role="admin"), make("user", role="admin")
    auth.login(other.username)
    _create(client, "别人的令牌")
    auth.logout()
    auth.login(me.username)
    token = _shown_token(_create(client, "我的令牌").text)
    client.post("/api/v1/events", json=EVENT_BODY, headers=bearer(token))
    page = client.get("/manage/tokens/").text
    assert "我的令牌" in page and "别人的令牌" not in page
    assert "从未使用" not in page  # it has just been used
    assert 'href="/manage/tokens/"' in client.get("/account/tools").text  # on the tools page


def test_revoking_stops_the_token_at_once(app, client, auth, make):
    user = make("user", role="admin")
    auth.login(user.username)
    token = _shown_token(_create(client, "临时").text)
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user.id))
    revoked = client.post(f"/manage/tokens/{token_id}/revoke",
                          data={"csrf_token": csrf_token(client, "/manage/tokens/")})
    assert revoked.status_code == 303
    assert "已吊销" in client.get("/manage/tokens/").text
    response = client.post("/api/v1/events", json=EVENT_BODY, headers=bearer(token))
    assert response.status_code == 401
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None


def test_nobody_revokes_someone_elses_token(app, client, auth, make):
    owner, admin = make("user", role="coordinator"), make("user", role="admin")
    auth.login(owner.username)
    token = _shown_token(_create(client, "联络员的").text)
    auth.logout()
    auth.login(admin.username)
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    response = client.post(f"/manage/tokens/{token_id}/revoke",
                           data={"csrf_token": csrf_token(client, "/manage/tokens/")})
    assert response.status_code == 404
    assert client.post("/api/v1/events", json=EVENT_BODY,
                       headers=bearer(token)).status_code == 422


def test_a_token_needs_a_name(app, client, auth, make):
    auth.login(make("user", role="admin").username)
    for name in ("   ", "长" * 65):
        response = _create(client, name)
        assert response.status_code == 422
        assert 'aria-invalid="true"' in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_creating_and_revoking_are_audited(app, client, auth, make):
    from consult_hub.models import AuditLog

    user = make("user", role="district_admin")
    auth.login(user.username)
    token = _shown_token(_create(client, "审计").text)
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    client.post(f"/manage/tokens/{token_id}/revoke",
                data={"csrf_token": csrf_token(client, "/manage/tokens/")})
    with app.app_context():
        rows = db.session.execute(sa.select(AuditLog.action, AuditLog.actor_id, AuditLog.changes)
                                  .where(AuditLog.entity_type == "api_tokens")
                                  .order_by(AuditLog.id)).all()
    assert [(r.action, r.actor_id) for r in rows] == [("api_token_create", user.id),
                                                      ("api_token_revoke", user.id)]
    assert token not in repr(rows)


# ---- tokens die with the account's trust (issue 12, item 4) --------------------------------


def _token_for(app, user, name: str = "对接", *, days_ago: int = 0) -> tuple[int, str]:
    from datetime import timedelta

    from consult_hub.auth.models import User
    from consult_hub.auth.tokens import issue_token
    from consult_hub.core.db import utcnow

    with app.test_request_context():
        row, token = issue_token(db.session.get(User, user.id), name,
                                 now=utcnow() - timedelta(days=days_ago))
        db.session.commit()
        return row.id, token


def _works(client, token: str) -> bool:
    status = client.post("/api/v1/events", json=EVENT_BODY, headers=bearer(token)).status_code
    assert status in (401, 422)
    return status == 422


def test_tokens_expire_after_180_days_and_say_so(app, client, auth, make):
    user = make("user", role="coordinator")
    _old_id, old = _token_for(app, user, "去年的", days_ago=181)
    _new_id, new = _token_for(app, user, "新的", days_ago=179)
    refused = client.post("/api/v1/events", json=EVENT_BODY, headers=bearer(old))
    assert refused.status_code == 401 and "已过期" in refused.json["error"]["message"]
    assert _works(client, new)
    auth.login(user.username)
    page = client.get("/manage/tokens/").text
    assert "有效期至" in page and "已过期" in page and "180 天后过期" in page
    with app.app_context():
        row = db.session.get(ApiToken, _new_id)
        assert (row.expires_at - row.created_at).days == 180


def _audited_reasons(app) -> list[str]:
    from consult_hub.models import AuditLog

    with app.app_context():
        rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "api_token_revoke"))
        return [r.changes.get("reason", [None, None])[1] for r in rows]


def test_staff_password_reset_revokes_the_users_tokens(app, client, auth, make):
    admin, user = make("user", role="admin"), make("user", role="coordinator")
    _id, token = _token_for(app, user)
    assert _works(client, token)
    auth.login(admin.username)
    page = f"/manage/users/{user.id}/password"
    assert client.post(page, data={"password": "set by the admin", "confirm": "set by the admin",
                                   "csrf_token": csrf_token(client, page)}).status_code == 303
    assert not _works(client, token)
    assert _audited_reasons(app) == ["password_reset"]


def test_own_password_change_revokes_ones_tokens(app, client, auth, make):
    from tests.support.auth import TEST_PASSWORD

    user = make("user", role="district_admin")
    _id, token = _token_for(app, user)
    auth.login(user.username)
    page = "/account/password"
    assert client.post(page, data={"current": TEST_PASSWORD, "password": "a fresh passphrase",
                                   "confirm": "a fresh passphrase",
                                   "csrf_token": csrf_token(client, page)}).status_code == 303
    assert not _works(client, token)
    assert _audited_reasons(app) == ["password_change"]


def test_deactivation_revokes_the_users_tokens(app, client, auth, make):
    admin, user = make("user", role="admin"), make("user", role="coordinator")
    token_id, token = _token_for(app, user)
    auth.login(admin.username)
    page = f"/manage/users/{user.id}/edit"
    client.post(f"/manage/users/{user.id}/deactivate",
                data={"csrf_token": csrf_token(client, page)})
    client.post(f"/manage/users/{user.id}/reactivate",
                data={"csrf_token": csrf_token(client, page)})
    assert not _works(client, token)  # reactivating the account does not bring tokens back
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
    assert _audited_reasons(app) == ["deactivated"]


def test_admins_see_and_revoke_anyones_tokens(app, client, auth, make):
    admin, user = make("user", role="admin"), make("user", role="coordinator")
    token_id, token = _token_for(app, user, "网格系统")
    client.post("/api/v1/events", json=EVENT_BODY, headers=bearer(token))
    auth.login(admin.username)
    assert f'href="/manage/users/{user.id}/tokens"' in client.get(
        f"/manage/users/{user.id}/edit").text
    page = client.get(f"/manage/users/{user.id}/tokens")
    assert page.status_code == 200
    assert "网格系统" in page.text and "有效期至" in page.text and "从未使用" not in page.text
    assert token not in page.text
    revoked = client.post(f"/manage/users/{user.id}/tokens/{token_id}/revoke",
                          data={"csrf_token": csrf_token(client,
                                                         f"/manage/users/{user.id}/tokens")})
    assert revoked.status_code == 303
    assert not _works(client, token)
    assert "已吊销" in client.get(f"/manage/users/{user.id}/tokens").text


def test_district_staff_see_tokens_of_their_districts_users_only(app, client, auth, make):
    home, other = make("district"), make("district")
    mine = make("platform", district_id=home.id)
    far = make("platform", district_id=other.id)
    staff = make("user", role="district_admin", district_id=home.id)
    local = make("user", role="coordinator", platform_ids=[mine.id])
    spanning = make("user", role="coordinator", platform_ids=[mine.id, far.id])
    stranger = make("user", role="coordinator", platform_ids=[far.id])
    local_token_id, _secret = _token_for(app, local)
    stranger_token_id, stranger_token = _token_for(app, stranger)
    auth.login(staff.username)
    assert client.get(f"/manage/users/{local.id}/tokens").status_code == 200
    assert client.get(f"/manage/users/{spanning.id}/tokens").status_code == 403
    assert client.get(f"/manage/users/{stranger.id}/tokens").status_code == 403
    token = csrf_token(client, "/manage/tokens/")
    assert client.post(f"/manage/users/{stranger.id}/tokens/{stranger_token_id}/revoke",
                       data={"csrf_token": token}).status_code == 403
    # A token of someone else, addressed through one's own user: not found, not revoked.
    assert client.post(f"/manage/users/{local.id}/tokens/{stranger_token_id}/revoke",
                       data={"csrf_token": token}).status_code == 404
    assert _works(client, stranger_token)
    assert client.post(f"/manage/users/{local.id}/tokens/{local_token_id}/revoke",
                       data={"csrf_token": token}).status_code == 303
