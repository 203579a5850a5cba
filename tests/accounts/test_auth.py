"""Sign-in, safe redirects, the user command and the role scopes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters

from consult_hub.audit.models import AuditLog
from consult_hub.auth import scopes
from consult_hub.auth.models import ApiToken, Role, User
from consult_hub.auth.passwords import password_problem, verify_password
from consult_hub.core.security import safe_next
from consult_hub.extensions import db
from tests.support import factories
from tests.support.auth import TEST_PASSWORD, AuthActions, csrf_token


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "https:evil.example", "https://evil.example/",
     "http://evil.example", "javascript:alert(1)", "evil.example", "/\tevil", "\\\\evil",
     "/%0a/evil", "", None, "///evil.example", "/ /evil"],
)
def test_unsafe_next_is_rejected(target):
    assert safe_next(target) in (None, "/%0a/evil", "/ /evil")
    if target in ("/%0a/evil", "/ /evil"):
        # A plain path on this site, however odd, stays on this site.
        assert safe_next(target).startswith("/") and not safe_next(target).startswith("//")


@pytest.mark.parametrize("target", ["/dashboard", "/manage/platforms/3?tab=events", "/"])
def test_local_next_is_kept(target):
    assert safe_next(target) == target


def test_login_then_dashboard(client, auth, make):
    admin = make("user", role="admin")
    response = auth.login(admin.username)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard")
    assert page.status_code == 200 and admin.name in page.text


@pytest.mark.parametrize("next_url", ["//evil.example", "/\\evil.example", "https:evil.example"])
def test_login_ignores_unsafe_next(auth, make, next_url):
    admin = make("user", role="admin")
    response = auth.login(admin.username, next_url=next_url)
    assert response.headers["Location"] == "/dashboard"


def test_login_follows_safe_next(auth, make):
    admin = make("user", role="admin")
    response = auth.login(admin.username, next_url="/manage/platforms/1")
    assert response.headers["Location"] == "/manage/platforms/1"


def test_wrong_password_is_refused_on_the_field_and_audited(app, client, auth, make):
    admin = make("user", role="admin")
    response = auth.login(admin.username, password="wrong password")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.text
    assert client.get("/dashboard").status_code == 302
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert "login_failed" in actions


def test_inactive_user_cannot_sign_in(client, auth, make):
    user = make("user", role="admin", is_active=False)
    assert auth.login(user.username).status_code == 200
    assert client.get("/dashboard").status_code == 302


def test_login_without_csrf_token_is_refused(client, make):
    admin = make("user", role="admin")
    response = client.post("/login", data={"username": admin.username,
                                           "password": "correct horse battery"})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_logout_needs_post_with_csrf(client, auth, make):
    admin = make("user", role="admin")
    auth.login(admin.username)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert auth.logout().status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_changing_session_token_signs_user_out(app, client, auth, make):
    admin = make("user", role="admin")
    auth.login(admin.username)
    with app.app_context():
        db.session.get(User, admin.id).session_token = "rotated"
        db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/manage/platforms/1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# ---- roles and scopes ---------------------------------------------------------------------


@pytest.fixture()
def two_districts(make):
    home = make("district")
    other = make("district")
    mine = make("platform", district_id=home.id)
    neighbour = make("platform", district_id=home.id)
    far = make("platform", district_id=other.id)
    return home, other, mine, neighbour, far


def test_coordinator_sees_own_platform_and_is_refused_on_another(app, client, auth, make,
                                                                two_districts):
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


def test_district_admin_is_limited_to_their_district(client, auth, make, two_districts):
    home, _other, mine, neighbour, far = two_districts
    staff = make("user", role="district_admin", district_id=home.id)
    auth.login(staff.username)
    assert client.get(f"/manage/platforms/{mine.id}").status_code == 200
    assert client.get(f"/manage/platforms/{neighbour.id}").status_code == 200
    assert client.get(f"/manage/platforms/{far.id}").status_code == 403


def test_admin_reaches_every_platform(client, auth, make, two_districts):
    *_, far = two_districts
    admin = make("user", role="admin")
    auth.login(admin.username)
    assert client.get(f"/manage/platforms/{far.id}").status_code == 200
    assert client.get("/manage/platforms/999999").status_code == 404


def test_scope_functions_agree_with_sql_filter(ctx):
    from consult_hub.platforms.models import Platform
    from consult_hub.platforms.scopes import platform_filter

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
        by_sql = set(db.session.scalars(sa.select(Platform.id).where(platform_filter(user))))
        assert by_function == by_sql
    assert {p.id for p in platforms if scopes.can_manage_platform(users[1], p)} == {
        platforms[0].id, platforms[1].id}
    assert not any(scopes.can_manage_platform(users[3], p) for p in platforms)


def test_issue_scopes(ctx):
    home, other = factories.district(), factories.district()
    platform = factories.platform(district_id=home.id)
    issue = factories.issue(platform_id=platform.id)
    coordinator = factories.user(Role.COORDINATOR, platform_ids=[platform.id])
    stranger = factories.user(Role.COORDINATOR)
    staff = factories.user(Role.DISTRICT_ADMIN, district_id=home.id)
    far_staff = factories.user(Role.DISTRICT_ADMIN, district_id=other.id)
    assert (scopes.can_update_issue(coordinator, issue)
            and not scopes.can_assign_issue(coordinator, issue))
    assert not scopes.can_update_issue(stranger, issue)
    assert scopes.can_assign_issue(staff, issue) and not scopes.can_assign_issue(far_staff, issue)


# ---- the user command ----------------------------------------------------------------------


def test_user_create_command(app, runner, make, monkeypatch):
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
def test_user_create_command_names_the_bad_field(app, runner, monkeypatch, args, field):
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", "a-long-password")
    result = runner.invoke(args=["user", "create", *args])
    assert result.exit_code == 1
    assert f"error: {field}:" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_user_create_refuses_short_password_and_duplicate(app, runner, make, monkeypatch):
    make("user", username="taken")
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", "short")
    result = runner.invoke(args=["user", "create", "--username", "taken", "--role", "admin"])
    assert result.exit_code == 1
    assert "error: username:" in result.output and "error: password:" in result.output


def test_user_create_prompts_for_password(app, runner, monkeypatch):
    monkeypatch.delenv("CONSULT_HUB_PASSWORD", raising=False)
    result = runner.invoke(args=["user", "create", "--username", "zhao", "--role", "admin"],
                           input="prompted-password\nprompted-password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        zhao = db.session.scalar(sa.select(User).where(User.username == "zhao"))
        assert verify_password(zhao.password_hash, "prompted-password")


def test_csrf_token_helper_finds_login_token(client):
    assert len(csrf_token(client, "/login")) > 20


# ---- sign-out ends the session everywhere (issue 12, item 1) -------------------------------


def _sign_in_remembered(client, username: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                       "remember": "y", "csrf_token": token})


def test_logout_kills_copied_session_and_remember_cookies(app, client, auth, make):
    admin = make("user", role="admin")
    _sign_in_remembered(client, admin.username)
    remember = client.get_cookie("remember_token")
    session = client.get_cookie("session")
    assert remember is not None and session is not None
    thief = app.test_client()
    thief.set_cookie("remember_token", remember.value)
    assert thief.get("/dashboard").status_code == 200  # the cookie works until sign-out
    assert auth.logout().status_code == 302
    for name, cookie in (("remember_token", remember), ("session", session)):
        copy = app.test_client()
        copy.set_cookie(name, cookie.value)
        response = copy.get("/dashboard")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # The next sign-in gets a cookie of its own, not the one that was copied.
    _sign_in_remembered(client, admin.username)
    assert client.get_cookie("remember_token").value != remember.value
    with app.app_context():
        assert "logout" in db.session.scalars(sa.select(AuditLog.action)).all()


def test_remember_cookie_is_lax_httponly_and_lasts_two_weeks(client, make):
    admin = make("user", role="admin")
    response = _sign_in_remembered(client, admin.username)
    [header] = [h for h in response.headers.getlist("Set-Cookie")
                if h.startswith("remember_token=")]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", header).group(1))
    assert timedelta(days=13, hours=23) < expires - datetime.now(UTC) <= timedelta(days=14)


def test_remember_cookie_settings_come_from_the_environment(monkeypatch):
    from consult_hub.config import Config

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("REMEMBER_COOKIE_DAYS", "3")
    config = Config()
    assert config.REMEMBER_COOKIE_SECURE is True
    assert config.REMEMBER_COOKIE_DURATION == timedelta(days=3)
    assert config.REMEMBER_COOKIE_SAMESITE == "Lax" and config.REMEMBER_COOKIE_HTTPONLY


# ---- sign-in resists guessing (item 2) ------------------------------------------------------


@pytest.fixture()
def verify_calls(monkeypatch):
    """Every hash argon2 is asked to check a password against, in order."""
    calls: list[str] = []
    real = PasswordHasher.verify

    def counting(self, password_hash, password):
        calls.append(password_hash)
        return real(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


def _client_at(app, address: str):
    """A browser on another network."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _post_login(client, username: str, password: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def test_ten_failures_lock_the_account_before_any_hashing(app, client, make, verify_calls):
    user = make("user", role="coordinator")
    for attempt in range(9):
        assert _post_login(client, user.username, f"guess number {attempt}").status_code == 200
    locked = _post_login(client, user.username, "guess number 9")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.text and "分钟后再试" in locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    hashed = len(verify_calls)
    assert hashed == 10
    # Even the right password is now refused, without argon2 being asked.
    refused = _post_login(client, user.username, TEST_PASSWORD)
    assert refused.status_code == 429 and len(verify_calls) == hashed
    assert client.get("/dashboard").status_code == 302
    # Another address cannot sign in to this account either; other accounts are unaffected.
    elsewhere = _client_at(app, "10.9.8.7")
    assert _post_login(elsewhere, user.username, TEST_PASSWORD).status_code == 429
    other = make("user", role="coordinator")
    assert _post_login(client, other.username, TEST_PASSWORD).status_code == 302
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditLog.action)).all()
        locks = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "login_locked")).all()
    assert actions.count("login_failed") == 10
    assert [(r.changes["username"], r.changes["scope"]) for r in locks] == [
        (user.username, "account")]


def test_one_address_is_limited_across_accounts(app, client, make, monkeypatch, verify_calls):
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_LIMIT", "3 per hour")
    user = make("user", role="admin")
    for name in ("nobody1", "nobody2"):
        assert _post_login(client, name, "whatever it is").status_code == 200
    locked = _post_login(client, "nobody3", "whatever it is")
    assert locked.status_code == 429 and "从您所在的网络登录失败次数过多" in locked.text
    assert 3500 < int(locked.headers["Retry-After"]) <= 3600
    hashed = len(verify_calls)
    assert _post_login(client, user.username, TEST_PASSWORD).status_code == 429
    assert len(verify_calls) == hashed
    elsewhere = _client_at(app, "10.9.8.7")
    assert _post_login(elsewhere, user.username, TEST_PASSWORD).status_code == 302


def test_unknown_and_unusable_accounts_cost_a_real_hash_check(app, client, make, verify_calls):
    """Same argon2 work whether the account exists, can sign in, or has no usable hash."""
    real = make("user", role="admin")
    make("user", role="admin", username="no_login")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "no_login")
                           .values(password_hash="!demo-account-without-password"))
        db.session.commit()
    for username in (real.username, "no-such-user", "no_login"):
        verify_calls.clear()
        assert _post_login(client, username, "not the password").status_code == 200
        assert len(verify_calls) == 1, username
        assert extract_parameters(verify_calls[0]) == extract_parameters(
            factories.hash_password(TEST_PASSWORD)), username


# ---- passwords people own (item 3) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "username", "message"),
    [
        ("short", "li", "密码至少 10 位"),
        ("zhangsan", "zhangsan", "密码至少 10 位"),
        ("Zhangsan2024", "zhangsan", "不能包含用户名"),
        ("my-zhangsan-key!", "ZhangSan", "不能包含用户名"),
        ("password123", "li", "太常见"),
        ("qwertyuiop", "li", "太常见"),
        ("1234567890", "li", "太常见"),
        ("iloveyou12", "li", "太常见"),
        ("a" * 300, "li", "不超过"),
    ],
)
def test_password_policy_refuses(ctx, password, username, message):
    assert message in (password_problem(password, username=username) or "")


@pytest.mark.parametrize("password", ["correct horse battery", "a brand new password",
                                      "湖边的柳树发芽了2024", "Tz7#kq9!Lm"])
def test_password_policy_accepts(ctx, password):
    assert password_problem(password, username="li") is None


def test_user_create_command_refuses_a_common_password(app, runner, monkeypatch):
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", "password123")
    result = runner.invoke(args=["user", "create", "--username", "zhao", "--role", "admin"])
    assert result.exit_code == 1 and "error: password:" in result.output
    assert "太常见" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_a_created_account_must_choose_its_own_password_first(app, client, auth, runner,
                                                                monkeypatch):
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", "chosen by the city")
    assert runner.invoke(args=["user", "create", "--username", "zhao", "--role", "admin"]
                         ).exit_code == 0
    signed_in = auth.login("zhao", password="chosen by the city", next_url="/manage/users/")
    assert signed_in.headers["Location"] == "/account/password?next=/manage/users/"
    for page in ("/dashboard", "/manage/users/", "/", "/manage/tokens/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response.headers["Location"].startswith("/account/password"), page
    page = client.get("/account/password")
    assert page.status_code == 200 and "请先设置一个只有您自己知道的新密码" in page.text
    # A write is refused too, and changes nothing.
    token = csrf_token(client, "/account/password")
    made = client.post("/manage/tokens/", data={"name": "偷偷", "csrf_token": token})
    assert made.status_code == 303 and made.headers["Location"].startswith("/account/password")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    changed = client.post("/account/password?next=/manage/users/", data={
        "current": "chosen by the city", "password": "a secret I alone keep",
        "confirm": "a secret I alone keep", "csrf_token": token})
    assert changed.status_code == 303 and changed.headers["Location"] == "/manage/users/"
    assert client.get("/dashboard").status_code == 200
    with app.app_context():
        zhao = db.session.scalar(sa.select(User).where(User.username == "zhao"))
        assert zhao.must_change_password is False and zhao.password_changed_at is not None
        assert verify_password(zhao.password_hash, "a secret I alone keep")


def test_forced_change_still_lets_the_user_sign_out(app, client, auth, make):
    user = make("user", role="coordinator", must_change_password=True)
    auth.login(user.username)
    token = csrf_token(client, "/account/password")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard").headers["Location"].startswith("/login")


def test_everyone_changes_their_own_password(app, client, auth, make):
    user = make("user", role="coordinator")
    other_device = app.test_client()
    AuthActions(other_device).login(user.username)
    auth.login(user.username)
    account = client.get("/account/")
    assert account.status_code == 200 and user.username in account.text
    assert 'href="/account/"' in client.get("/dashboard").text  # linked from every page
    token = csrf_token(client, "/account/password")
    wrong = client.post("/account/password", data={
        "current": "not my password", "password": "a fresh passphrase",
        "confirm": "a fresh passphrase", "csrf_token": token})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    weak = client.post("/account/password", data={
        "current": TEST_PASSWORD, "password": "password123", "confirm": "password123",
        "csrf_token": token})
    assert weak.status_code == 422 and "太常见" in weak.text
    assert other_device.get("/dashboard").status_code == 200
    changed = client.post("/account/password", data={
        "current": TEST_PASSWORD, "password": "a fresh passphrase",
        "confirm": "a fresh passphrase", "csrf_token": token})
    assert changed.status_code == 303
    assert client.get("/dashboard").status_code == 200  # this session carries on
    assert other_device.get("/dashboard").status_code == 302  # the others end
    with app.app_context():
        row = db.session.scalar(sa.select(AuditLog).where(
            AuditLog.action == "user_password_change"))
        assert row.actor_id == user.id and row.entity_id == user.id
        assert db.session.get(User, user.id).password_changed_at is not None


def test_staff_reset_forces_a_change_and_ones_own_needs_the_current_password(
        app, client, auth, make):
    admin = make("user", role="admin")
    target = make("user", role="coordinator")
    auth.login(admin.username)
    page = f"/manage/users/{target.id}/password"
    token = csrf_token(client, page)
    assert client.post(page, data={"password": "set by the admin", "confirm": "set by the admin",
                                    "csrf_token": token}).status_code == 303
    # One's own password is not "reset" without the current one: a session left open on a
    # shared computer must not become the account.
    own = f"/manage/users/{admin.id}/password"
    assert client.get(own).headers["Location"].startswith("/account/password")
    refused = client.post(own, data={"password": "set by the admin",
                                     "confirm": "set by the admin", "csrf_token": token})
    assert refused.status_code == 303
    assert refused.headers["Location"].startswith("/account/password")
    with app.app_context():
        assert db.session.get(User, target.id).must_change_password is True
        assert verify_password(db.session.get(User, admin.id).password_hash, TEST_PASSWORD)
    assert client.get("/dashboard").status_code == 200


def test_a_malformed_login_limit_stops_the_start(monkeypatch):
    from consult_hub.config import Config

    monkeypatch.setenv("LOGIN_ADDRESS_LIMIT", "thirty an hour")
    with pytest.raises(ValueError, match="LOGIN_ADDRESS_LIMIT"):
        Config()


def test_an_ipv6_client_is_limited_by_its_64_not_each_address(app, make, monkeypatch):
    """One subscriber holds a whole /64: walking through it is still one client."""
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_LIMIT", "3 per hour")
    user = make("user", role="admin")
    for n in range(3):
        guesser = _client_at(app, f"2001:db8:1:2::{n + 1:x}")
        assert _post_login(guesser, f"nobody{n}", "whatever it is").status_code in (200, 429)
    same_net = _client_at(app, "2001:db8:1:2:ffff::9")
    assert _post_login(same_net, user.username, TEST_PASSWORD).status_code == 429
    other_net = _client_at(app, "2001:db8:1:3::1")
    assert _post_login(other_net, user.username, TEST_PASSWORD).status_code == 302
