"""Staff create, list and revoke their own API tokens; the database only ever holds a hash."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from consult_hub.auth.models import ApiToken
from consult_hub.extensions import db
from tests.conftest import csrf_token
from tests.test_api_helpers import bearer

EVENT_BODY = {"topic": "x"}  # incomplete on purpose: a valid token gets 422, not 401


def _create(client, name: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/manage/tokens/")
    return client.post("/manage/tokens/", data={"name": name, "csrf_token": token})


def _shown_token(page: str) -> str:
    match = re.search(r">(ch_[A-Za-z0-9_-]{43})<", page)
    assert match, "the new token is not on the page"
    return match.group(1)


def _everything_stored(app) -> str:  # type: ignore[no-untyped-def]
    """Every value in every table, as text, to search for a secret."""
    with app.app_context(), db.engine.connect() as conn:
        return "\n".join(repr(row) for table in db.metadata.sorted_tables
                         for row in conn.execute(sa.select(table)))


def test_a_new_token_is_shown_once_and_stored_hashed(app, client, auth, make):  # type: ignore[no-untyped-def]
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


def test_the_list_shows_only_my_tokens_with_their_use(app, client, auth, make):  # type: ignore[no-untyped-def]
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
    assert 'href="/manage/tokens/"' in client.get("/dashboard").text  # in the navigation


def test_revoking_stops_the_token_at_once(app, client, auth, make):  # type: ignore[no-untyped-def]
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


def test_nobody_revokes_someone_elses_token(app, client, auth, make):  # type: ignore[no-untyped-def]
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


def test_a_token_needs_a_name(app, client, auth, make):  # type: ignore[no-untyped-def]
    auth.login(make("user", role="admin").username)
    for name in ("   ", "长" * 65):
        response = _create(client, name)
        assert response.status_code == 422
        assert 'aria-invalid="true"' in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_creating_and_revoking_are_audited(app, client, auth, make):  # type: ignore[no-untyped-def]
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
