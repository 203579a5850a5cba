"""The layout every page shares: skip link, navigation by role, language switch, error pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.exceptions import InternalServerError

from consult_hub.extensions import db
from consult_hub.main import queries
from consult_hub.models import Issue, IssueStatus, User
from tests.support.pages import assert_in_layout, assert_no_inline_code


def test_home_shows_the_years_figures_inside_the_layout(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "headline_figures",
                        lambda year: queries.Headline(2024, 1006, 1220, 1300))
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert_in_layout(html)
    assert '<html lang="zh-CN">' in html
    assert ("2024年，全市共建成一线协商平台、社情民意联系点1,006个，开展协商议事活动1,220场次，"
            "促进了1,300个群众急难愁盼问题、房前屋后实事、基层治理难事得到解决。") in html
    for label in ("平台", "协商议事活动", "解决问题"):
        assert f'<span class="figure-label">{label}</span>' in html
    assert '<a href="/login">登录</a>' in html


def test_language_switch_returns_to_the_page_in_english(client: FlaskClient) -> None:
    assert 'href="/locale/en?next=/login"' in client.get("/login").text
    answer = client.get("/locale/en?next=/login")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    html = client.get("/login").text
    assert '<html lang="en">' in html
    assert re.search(r'<a href="/locale/en\?next=/login" lang="en"[^>]*aria-current="true"', html)


def test_language_switch_never_sends_a_visitor_off_the_site(client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        answer = client.get("/locale/en", query_string={"next": target})
        assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_login_page_has_labelled_fields_and_a_csrf_token(client: FlaskClient) -> None:
    html = client.get("/login?next=/dashboard").text
    assert_in_layout(html)
    assert re.search(r'name="csrf_token" type="hidden" value="[^"]+"', html)
    assert '<label for="username">用户名' in html and '<label for="password">密码' in html
    assert '<label for="remember">在这台设备上保持登录</label>' in html
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert 'action="/login?next=/dashboard"' in html
    assert "<title>登录 · 一线协商·共同缔造</title>" in html


def test_wrong_password_is_shown_next_to_the_password_field(client: FlaskClient, make,
                                                            auth) -> None:
    user = make("user", role="admin")
    html = auth.login(user.username, "not-the-password").text
    field = html[html.index('<label for="password">'):html.index('<label for="remember">')]
    assert 'aria-describedby="password-error"' in field
    assert 'aria-invalid="true"' in field
    assert '<div class="field-errors" id="password-error">' in field
    assert "用户名或密码不正确" in field


@pytest.mark.parametrize(("path", "code", "heading"), [
    ("/no-such-page", 404, "找不到这个页面"),
    ("/logout", 405, "不支持这种访问方式"),  # GET where only POST is allowed
])
def test_error_pages_render_inside_the_layout(
    client: FlaskClient, path: str, code: int, heading: str
) -> None:
    page = client.get(path)
    assert page.status_code == code
    assert_in_layout(page.text)
    assert f'<p class="error-code">{code}</p>' in page.text
    assert heading in page.text
    assert '<a class="button" href="/">返回首页</a>' in page.text


def test_server_error_page_is_in_chinese(app: Flask) -> None:
    with app.test_request_context("/"):
        html = render_template_string('{% include "errors/500.html" %}',
                                      error=InternalServerError())
    assert "服务器出了点问题" in html and '<a class="button" href="/">返回首页</a>' in html


def test_anonymous_navigation_offers_home_and_login(client: FlaskClient) -> None:
    html = client.get("/").text
    nav = html[html.index('<nav class="site-nav"'):html.index("</nav>")]
    assert '<a href="/" aria-current="page">首页</a>' in nav
    assert '<a href="/login">登录</a>' in nav
    assert "/dashboard" not in nav
    assert 'action="/logout"' not in html


def test_signed_in_navigation_shows_the_user_and_a_logout_form(
    client: FlaskClient, make, auth
) -> None:
    admin = make("user", role="admin", name="王芳")
    auth.login(admin.username)
    html = client.get("/dashboard").text
    assert_in_layout(html)
    assert '<span class="user-name">王芳</span>' in html
    assert '<span class="user-role">市政协工作人员</span>' in html
    logout = html[html.index('<form class="logout"'):]
    logout = logout[:logout.index("</form>")]
    assert 'method="post" action="/logout"' in logout and 'name="csrf_token"' in logout
    nav = html[html.index('<nav class="site-nav"'):html.index("</nav>")]
    assert '<a href="/dashboard" aria-current="page">工作台</a>' in nav
    assert "/login" not in nav
    assert '<p class="flash flash-success" role="status">欢迎您，王芳。</p>' in html


def test_navigation_links_only_routes_that_exist(app: Flask) -> None:
    has_endpoint = app.jinja_env.globals["has_endpoint"]
    assert has_endpoint("main.dashboard")
    assert not has_endpoint("nowhere.index")


def test_coordinator_without_platforms_is_told_whom_to_ask(
    client: FlaskClient, make, auth
) -> None:
    coordinator = make("user", role="coordinator")
    auth.login(coordinator.username)
    html = client.get("/dashboard").text
    assert "您还没有关联的平台，请联系区政协工作人员" in html
    assert "<table" not in html


def test_dashboard_highlights_overdue_problems_and_totals_the_rows(
    app: Flask, client: FlaskClient, make, auth
) -> None:
    late, fine = make("platform", name="民主路协商议事室"), make("platform", name="花桥社区联系点")
    issue = make("issue", platform_id=late.id)
    with app.app_context():
        stored = db.session.get(Issue, issue.id)
        assert stored is not None and stored.status is IssueStatus.RECEIVED
        stored.due_on = date.today() - timedelta(days=3)  # received and past due: overdue
        db.session.commit()
    coordinator = make("user", role="coordinator", platform_ids=[late.id, fine.id])
    auth.login(coordinator.username)
    html = client.get("/dashboard").text
    assert "我的平台" in html
    assert '<td class="num is-overdue" data-label="逾期">1</td>' in html
    assert '<td class="num" data-label="逾期">0</td>' in html
    assert '<tr class="total-row">' in html
    for heading in ("今年已举行活动", "即将举行", "办理中问题", "逾期"):
        assert f'<th scope="col" class="num">{heading}</th>' in html
    assert "平台数" not in html  # only the district view counts platforms


def test_a_single_row_has_no_totals(client: FlaskClient, make, auth) -> None:
    district = make("district", name="江汉区")
    make("platform", district_id=district.id)
    staff = make("user", role="district_admin", district_id=district.id)
    auth.login(staff.username)
    html = client.get("/dashboard").text
    assert "本区概况" in html and '<th scope="col" class="num">平台数</th>' in html
    assert '<tr class="total-row">' not in html


@pytest.mark.parametrize("page", ["/", "/login", "/no-such-page", "/dashboard", "login error"])
def test_pages_carry_no_inline_script_or_style(
    client: FlaskClient, make, auth, page: str
) -> None:
    if page == "login error":
        html = auth.login("nobody", "wrong-password").text
    else:
        if page == "/dashboard":
            auth.login(make("user", role="admin").username)
        html = client.get(page).text
    assert_no_inline_code(html)


def test_pagination_keeps_the_query_and_marks_the_current_page(app: Flask, make) -> None:
    for _ in range(5):
        make("user")
    with app.test_request_context("/?q=%E5%BC%A0&page=3"):
        page = db.paginate(db.select(User).order_by(User.id), page=3, per_page=1)
        html = render_template_string(
            '{% from "_macros/pagination.html" import pagination %}{{ pagination(p) }}', p=page)
    assert "共 5 条，第 3 / 5 页" in html
    assert '<a href="/?q=%E5%BC%A0&amp;page=3" aria-current="page">3</a>' in html
    assert 'href="/?q=%E5%BC%A0&amp;page=2" rel="prev"' in html
    assert 'href="/?q=%E5%BC%A0&amp;page=4" rel="next"' in html


def test_status_badge_shows_the_label_in_a_tone(app: Flask) -> None:
    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "_macros/badges.html" import status_badge %}'
            "{{ status_badge(resolved) }}{{ status_badge(none, label='逾期', tone='danger') }}",
            resolved=IssueStatus.RESOLVED)
    assert '<span class="badge badge-success">已解决或采纳</span>' in html
    assert '<span class="badge badge-danger">逾期</span>' in html


def test_field_macro_ties_help_text_to_the_input(app: Flask) -> None:
    from consult_hub.auth.forms import LoginForm

    with app.test_request_context("/"):
        form = LoginForm()
        html = render_template_string(
            '{% from "_macros/forms.html" import field %}{{ field(f, help="登录名由管理员分配") }}',
            f=form.username)
    assert '<p class="field-help" id="username-help">登录名由管理员分配</p>' in html
    assert 'aria-describedby="username-help"' in html


def test_radio_choices_and_grouped_selects_write_what_wtforms_writes(app: Flask) -> None:
    """The field macro writes radio choices itself and ``PlainSelect`` writes a select's options
    (groups included) without WTForms' per-choice objects: the HTML must stay WTForms' own —
    checked, required, escaping, ids and labels alike."""
    from wtforms import RadioField, SelectField, SelectMultipleField
    from wtforms.fields import SelectChoice
    from wtforms.validators import InputRequired, Optional
    from wtforms.widgets import Select

    from consult_hub.core.forms import BaseForm, PlainSelect, optional_int

    class Chosen(BaseForm):
        needed = RadioField("必选", validators=[InputRequired()], choices=[
            SelectChoice("", "不确定"), SelectChoice("a<b", "路灯 & 照明"),
            SelectChoice("c", "积水")])
        optional = RadioField("可选", validators=[Optional()], default="2",
                              choices=[SelectChoice("1", "一"), SelectChoice("2", "二")])
        place = SelectField("在哪里", coerce=str, choices=[
            SelectChoice("", "请选择…"), SelectChoice("7", "甲平台", optgroup="已选择"),
            SelectChoice("8", "乙<平台>", optgroup="江岸区 · 百步亭&街道"),
            SelectChoice("9", "丙平台", optgroup="江岸区 · 百步亭&街道")], default="8")
        # Every form's single-choice select is written by PlainSelect, declared or not; values
        # that are not text, and an empty label (WTForms shows the value), as WTForms writes.
        department = SelectField("承办单位", validators=[InputRequired()], default="", choices=[
            SelectChoice("", "请选择"), SelectChoice("3", "区住建局")])
        unset = SelectField("状态", choices=[SelectChoice(None, "未定"),
                                             SelectChoice(False, "否"), SelectChoice("x", "")])
        several = SelectMultipleField("多选", default=["1", "3"], choices=[
            SelectChoice("1", "一"), SelectChoice("2", "二 & <三>"), SelectChoice("3", "三")])
        # Ids, as the record pickers give them: whole numbers coerced to ids, the empty choice.
        lead = SelectField("领衔委员", coerce=optional_int, default=5, choices=[
            SelectChoice("", "请选择"), SelectChoice(4, "甲"), SelectChoice(5, "乙")])
        signers = SelectMultipleField("联名委员", coerce=optional_int, default=[6, 4], choices=[
            SelectChoice(4, "甲"), SelectChoice(5, "乙"), SelectChoice(6, "丙")])

    with app.test_request_context("/"):
        form = Chosen(meta={"csrf": False})
        written = {}
        for radios in (form.needed, form.optional):
            html = written[radios.name] = render_template_string(
                '{% from "_macros/forms.html" import field %}{{ field(f) }}', f=radios)
            assert re.findall(r"<input [^>]*>", html) == [str(choice()) for choice in radios]
            assert re.findall(r'<label for="[^"]*">[^<]*</label>', html) == [
                f'<label for="{choice.id}">{choice.label.text}</label>'.replace("&", "&amp;")
                for choice in radios]
        assert written["needed"].count(" required ") == 3
        assert 'checked id="optional-1"' in written["optional"]
        for select in (form.place, form.department, form.unset, form.several, form.lead,
                       form.signers):
            assert type(select.widget) is PlainSelect
            wtforms_own = Select(multiple=select.widget.multiple)
            assert str(select()) == str(wtforms_own(select)), select.name
        assert str(form.several(size=3)) == (
            '<select id="several" multiple name="several" size="3">'
            '<option selected value="1">一</option><option value="2">二 &amp; &lt;三&gt;</option>'
            '<option selected value="3">三</option></select>')
        assert '<select id="department" name="department" required>' in str(form.department())
        assert ('<option value="None">未定</option><option value="False">否</option>'
                '<option value="x">x</option>') in str(form.unset())
        assert '<option selected value="8">乙&lt;平台&gt;</option>' in str(form.place())
        assert '<optgroup label="江岸区 · 百步亭&amp;街道">' in str(form.place())
        assert ('<option value="">请选择</option><option value="4">甲</option>'
                '<option selected value="5">乙</option>') in str(form.lead())
        assert ('<option selected value="4">甲</option><option value="5">乙</option>'
                '<option selected value="6">丙</option>') in str(form.signers())


ATTRIBUTE_NAMES = st.sampled_from(["name", "id", "class_", "class__", "for_", "value", "type",
                                   "data_field_name", "aria_describedby", "maxlength", "x"])
ATTRIBUTE_VALUES = st.one_of(
    st.booleans(), st.none(), st.integers(), st.text(max_size=12),
    st.text(alphabet='<>&"\'ab中', max_size=8).map(Markup))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(attributes=st.dictionaries(ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, max_size=6))
def test_form_attributes_are_written_as_wtforms_writes_them(attributes) -> None:
    """``core.forms.html_params`` (installed in WTForms' widgets) writes what WTForms' own
    does: sorted, cleaned names, booleans as bare names or left out, values escaped."""
    from consult_hub.core.forms import WTFORMS_HTML_PARAMS, html_params

    mine, theirs = html_params(**attributes), WTFORMS_HTML_PARAMS(**attributes)
    assert type(mine) is Markup and mine == theirs


def test_wtforms_widgets_write_their_attributes_with_the_sites_function(app: Flask) -> None:
    from wtforms import StringField, SubmitField, TextAreaField, widgets

    from consult_hub.core.forms import BaseForm, html_params

    assert widgets.html_params is html_params and widgets.core.html_params is html_params
    assert widgets.Input.html_params is html_params and widgets.Button.html_params is html_params

    class Typed(BaseForm):
        title = StringField("标题", render_kw={"maxlength": 200, "data_x": 'a"b'})
        body = TextAreaField("内容")
        send = SubmitField("提交")

    with app.test_request_context("/"):
        form = Typed(meta={"csrf": False}, data={"title": '<路灯> & "积水"'})
        assert str(form.title()) == ('<input data-x="a&#34;b" id="title" maxlength="200" '
                                     'name="title" type="text" '
                                     'value="&lt;路灯&gt; &amp; &#34;积水&#34;">')
        assert str(form.body()) == '<textarea id="body" name="body">\r\n</textarea>'
        assert str(form.send()).startswith('<input id="send" name="send" type="submit"')


def test_templates_read_names_off_records_as_jinja_does(app: Flask) -> None:
    """The site's templates read ``x[name]``, and ``sort``/``map``/``sum``/``selectattr`` by
    attribute, as plain Jinja does, for every kind of value a page hands them: a row, a
    dataclass, a tuple, a dict (a key before a method), an enum and its class, a list by
    position, and names nothing has (shown as nothing)."""
    from collections import namedtuple
    from dataclasses import dataclass

    import jinja2
    import sqlalchemy as sa

    @dataclass
    class Named:
        id: int
        name: str

    Pair = namedtuple("Pair", "id name")
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT 2 AS id, 'b' AS name UNION ALL "
                                    "SELECT 1, 'a' ORDER BY 1 DESC")).all()
    groups = {
        "rows": rows,
        "dataclasses": [Named(2, "b"), Named(1, "a")],
        "namedtuples": [Pair(2, "b"), Pair(1, "a")],
        "dicts": [{"id": 2, "name": "b", "items": "key"}, {"id": 1, "name": "a", "items": "k"}],
        "statuses": list(IssueStatus)[:2],
    }
    source = ("{% for x in items %}[{{ x[name] }}|{{ x['id'] }}|{{ x['nothing'] }}|{{ x[0] }}]"
              "{% endfor %}{{ items|map(attribute=name)|join(',') }};"
              "{{ items|sort(attribute=name)|map(attribute=name)|join(',') }};"
              "{{ items|selectattr(name)|list|length }};{{ kinds['RESOLVED'] }}"
              "{{ kinds[name] }}{{ items[1][name] }}")
    plain = jinja2.Environment(autoescape=True).from_string(source)
    with app.test_request_context("/"):
        site = app.jinja_env.from_string(source)
        for label, items in groups.items():
            for name in ("name", "items", "value", "label", "nothing"):
                context = {"items": items, "name": name, "kinds": IssueStatus}
                assert site.render(context) == plain.render(context), (label, name)
