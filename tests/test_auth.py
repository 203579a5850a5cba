"""Sign-in, safe redirects, the user command and the role scopes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from consult_hub.audit.models import AuditLog
from consult_hub.auth import scopes
from consult_hub.auth.models import Role, User
from consult_hub.auth.passwords import verify_password
from consult_hub.core.security import safe_next
from consult_hub.extensions import db
from tests import factories
from tests.conftest import csrf_token


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "https:evil.example", "https://evil.example/",
     "http://evil.example", "javascript:alert(1)", "evil.example", "/\tevil", "\\\\evil",
     "/%0a/evil", "", None, "///evil.example", "/ /evil"],
)
def test_unsafe_next_is_rejected(target):  # type: ignore[no-untyped-def]
    assert safe_next(target) in (None, "/%0a/evil", "/ /evil")
    if target in ("/%0a/evil", "/ /evil"):
        # A plain path on this site, however odd, stays on this site.
        assert safe_next(target).startswith("/") and not safe_next(target).startswith("//")


@pytest.mark.parametrize("target", ["/dashboard", "/manage/platforms/3?tab=events", "/"])
def test_local_next_is_kept(target):  # type: ignore[no-untyped-def]
    assert safe_next(target) == target


def test_login_then_dashboard(client, auth, make):  # type: ignore[no-untyped-def]
    admin = make("user", role="admin")
    response = auth.login(admin.username)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard")
    assert page.status_code == 200 and admin.name in page.text


@pytest.mark.parametrize("next_url", ["//evil.example", "/\\evil.example", "https:evil.example"])
def test_login_ignores_unsafe_next(auth, make, next_url):  # type: ignore[no-untyped-def]
    admin = make("user", role="admin")
    response = auth.login(admin.username, next_url=next_url)
    assert response.headers["Location"] == "/dashboard"


def test_login_follows_safe_next(auth, make):  # type: ignore[no-untyped-def]
    admin = make("user", role="admin")
    response = auth.login(admin.username, next_url="/manage/platforms/1")
    assert response.headers["Location"] == "/manage/platforms/1"


def test_wrong_password_is_refused_on_the_field_and_audited(app, client, auth, make):  # type: ignore[no-untyped-def]
    admin = make("user", role="admin")
    response = auth.login(admin.username, password="wrong password")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.text
    assert client.get("/dashboard").status_code == 302
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert "login_failed" in actions


def test_inactive_user_cannot_sign_in(client, auth, make):  # type: ignore[no-untyped-def]
    user = make("user", role="admin", is_active=False)
    assert auth.login(user.username).status_code == 200
    assert client.get("/dashboard").status_code == 302


def test_login_without_csrf_token_is_refused(client, make):  # type: ignore[no-untyped-def]
    admin = make("user", role="admin")
    response = client.post("/login", data={"username": admin.username,
                                           "password": "correct horse battery"})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_logout_needs_post_with_csrf(client, auth, make):  # type: ignore[no-untyped-def]
    admin = make("user", role="admin")
    auth.login(admin.username)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert auth.logout().status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_changing_session_token_signs_user_out(app, client, auth, make):  # type: ignore[no-untyped-def]
    admin = make("user", role="admin")
    auth.login(admin.username)
    with app.app_context():
        db.session.get(User, admin.id).session_token = "rotated"
        db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_anonymous_is_sent_to_login_with_next(client):  # type: ignore[no-untyped-def]
    response = client.get("/manage/platforms/1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# ---- roles and scopes ---------------------------------------------------------------------


@pytest.fixture()
def two_districts(make):  # type: ignore[no-untyped-def]
    home = make("district")
    other = make("district")
    mine = make("platform", district_id=home.id)
    neighbour = make("platform", district_id=home.id)
    far = make("platform", district_id=other.id)
    return home, other, mine, neighbour, far


def test_coordinator_sees_own_platform_and_is_refused_on_another(app, client, auth, make,
                                                                two_districts):  # type: ignore[no-untyped-def]
    _home, _other, mine, neighbour, _far = two_districts
    coordinator = make("user", role="coordinator", platform_ids=[mine.id])
    auth.login(coordinator.username)
    assert client.get(f"/manage/platforms/{mine.id}").status_code == 200
    refused = client.get(f"/manage/platforms/{neighbour.id}")
    assert refused.status_code == 403
    assert "没有权限" in refused.text  # the 403 page inside the layout
    with app.app_context():
        denial = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "access_denied")).one()
        assert denial.actor_id == coordinator.id
        assert denial.changes["target"] == f"platform:{neighbour.id}"


def test_district_admin_is_limited_to_their_district(client, auth, make, two_districts):  # type: ignore[no-untyped-def]
    home, _other, mine, neighbour, far = two_districts
    staff = make("user", role="district_admin", district_id=home.id)
    auth.login(staff.username)
    assert client.get(f"/manage/platforms/{mine.id}").status_code == 200
    assert client.get(f"/manage/platforms/{neighbour.id}").status_code == 200
    assert client.get(f"/manage/platforms/{far.id}").status_code == 403


def test_admin_reaches_every_platform(client, auth, make, two_districts):  # type: ignore[no-untyped-def]
    *_, far = two_districts
    admin = make("user", role="admin")
    auth.login(admin.username)
    assert client.get(f"/manage/platforms/{far.id}").status_code == 200
    assert client.get("/manage/platforms/999999").status_code == 404


def test_scope_functions_agree_with_sql_filter(ctx):  # type: ignore[no-untyped-def]
    from consult_hub.platforms.models import Platform

    home, other = factories.district(), factories.district()
    platforms = [factories.platform(district_id=d.id) for d in (home, home, other)]
    users = [
        factories.user(Role.ADMIN),
        factories.user(Role.DISTRICT_ADMIN, district_id=home.id),
        factories.user(Role.COORDINATOR, platform_ids=[platforms[2].id]),
        factories.user(Role.COORDINATOR),
    ]
    for user in users:
        by_function = {p.id for p in platforms if scopes.can_manage_platform(user, p)}
        by_sql = set(db.session.scalars(sa.select(Platform.id).where(scopes.platform_filter(user))))
        assert by_function == by_sql
    assert {p.id for p in platforms if scopes.can_manage_platform(users[1], p)} == {
        platforms[0].id, platforms[1].id}
    assert not any(scopes.can_manage_platform(users[3], p) for p in platforms)


def test_issue_scopes(ctx):  # type: ignore[no-untyped-def]
    home, other = factories.district(), factories.district()
    platform = factories.platform(district_id=home.id)
    issue = factories.issue(platform_id=platform.id)
    coordinator = factories.user(Role.COORDINATOR, platform_ids=[platform.id])
    stranger = factories.user(Role.COORDINATOR)
    staff = factories.user(Role.DISTRICT_ADMIN, district_id=home.id)
    far_staff = factories.user(Role.DISTRICT_ADMIN, district_id=other.id)
    assert scopes.can_update_issue(coordinator, issue) and not scopes.can_assign_issue(coordinator, issue)
    assert not scopes.can_update_issue(stranger, issue)
    assert scopes.can_assign_issue(staff, issue) and not scopes.can_assign_issue(far_staff, issue)


# ---- the user command ----------------------------------------------------------------------


def test_user_create_command(app, runner, make, monkeypatch):  # type: ignore[no-untyped-def]
    district = make("district", code="420102", name="江岸区")
    platform = make("platform", district_id=district.id)
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", "a-long-password")
    result = runner.invoke(args=["user", "create", "--username", "li", "--role", "coordinator",
                                 "--platform", str(platform.id)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["user", "create", "--username", "wang", "--role",
                                 "district_admin", "--district", "420102"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        li = db.session.scalar(sa.select(User).where(User.username == "li"))
        assert [p.id for p in li.platforms] == [platform.id]
        assert verify_password(li.password_hash, "a-long-password")
        wang = db.session.scalar(sa.select(User).where(User.username == "wang"))
        assert wang.district_id == district.id and wang.role is Role.DISTRICT_ADMIN


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--username", "x", "--role", "district_admin"], "district"),
        (["--username", "x", "--role", "district_admin", "--district", "999"], "district"),
        (["--username", "x", "--role", "coordinator", "--platform", "424242"], "platform"),
        (["--username", "x", "--role", "admin", "--platform", "1"], "platform"),
    ],
)
def test_user_create_command_names_the_bad_field(app, runner, monkeypatch, args, field):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", "a-long-password")
    result = runner.invoke(args=["user", "create", *args])
    assert result.exit_code == 1
    assert f"error: {field}:" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_user_create_refuses_short_password_and_duplicate(app, runner, make, monkeypatch):  # type: ignore[no-untyped-def]
    make("user", username="taken")
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", "short")
    result = runner.invoke(args=["user", "create", "--username", "taken", "--role", "admin"])
    assert result.exit_code == 1
    assert "error: username:" in result.output and "error: password:" in result.output


def test_user_create_prompts_for_password(app, runner, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CONSULT_HUB_PASSWORD", raising=False)
    result = runner.invoke(args=["user", "create", "--username", "zhao", "--role", "admin"],
                           input="prompted-password\nprompted-password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        zhao = db.session.scalar(sa.select(User).where(User.username == "zhao"))
        assert verify_password(zhao.password_hash, "prompted-password")


def test_csrf_token_helper_finds_login_token(client):  # type: ignore[no-untyped-def]
    assert len(csrf_token(client, "/login")) > 20
