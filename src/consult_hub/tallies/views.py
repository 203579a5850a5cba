"""Monthly and annual reports: charts, tables and downloads, for staff and the public.

Staff (city and district) read them under /manage/reports, residents under /reports; both read
the same tallies, which hold counts only. A public download holds exactly the tables of the
public page it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, url_for
from flask_login import current_user

from consult_hub.areas.models import Area
from consult_hub.auth.decorators import public, roles_required
from consult_hub.auth.models import OFFICE_ROLES
from consult_hub.auth.scopes import (
    can_choose_district,
    can_manage_district,
    require,
    staff_district_id,
)
from consult_hub.core import params, timefmt
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import city_name
from consult_hub.core.i18n import gettext as _
from consult_hub.core.pagecache import shared_page
from consult_hub.core.timefmt import to_local
from consult_hub.extensions import db
from consult_hub.tallies import charts, cppcc, queries, word
from consult_hub.tallies.compute import next_month
from consult_hub.tallies.queries import ReportScope
from consult_hub.tallies.tables import Table, month_tables, to_csv, to_xlsx, year_tables

bp = Blueprint("tallies", __name__)

STAFF = OFFICE_ROLES
DISTRICT_CODE_MAX = 33  # one past areas.code's length: a longer code matches none
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@dataclass(frozen=True)
class Links:
    """URLs between report pages, staff or public, keeping the chosen district."""

    public: bool
    district: str | None
    year: int
    month: date | None = None

    def index(self) -> str:
        return url_for("tallies.public_index" if self.public else "tallies.index")

    def year_url(self, year: int) -> str:
        return url_for("tallies.public_year" if self.public else "tallies.year", year=year,
                       district=self.district)

    def month_url(self, month: date) -> str:
        if self.public:
            return url_for("tallies.public_month", year=month.year, month=month.month,
                           district=self.district)
        return url_for("tallies.month", month=f"{month:%Y-%m}", district=self.district)

    def download(self, ext: str, table: str | None = None) -> str:
        if self.month is None:
            endpoint = "tallies.public_year_download" if self.public else "tallies.year_download"
            return url_for(endpoint, year=self.year, ext=ext, table=table, district=self.district)
        if self.public:
            return url_for("tallies.public_month_download", year=self.year,
                           month=self.month.month, ext=ext, table=table, district=self.district)
        return url_for("tallies.month_download", month=f"{self.month:%Y-%m}", ext=ext,
                       table=table, district=self.district)


# --- Staff -------------------------------------------------------------------------------


def _staff_scope() -> ReportScope:
    """City staff see the city or the district they pick; district staff their own district."""
    code = params.arg_text("district", DISTRICT_CODE_MAX)
    if code:
        area = queries.district_by_code(code) or abort(404)
        require(can_manage_district(current_user, area.id), f"district:{area.id}")
        return ReportScope(area)
    if can_choose_district(current_user):
        return ReportScope()
    own = staff_district_id(current_user)
    area = db.session.get(Area, own) if own else None
    require(area is not None, "reports")
    return ReportScope(area)


@bp.route("/manage/reports")
@roles_required(*STAFF)
def index():
    return _index(public=False)


@bp.route("/manage/reports/year/<int:year>")
@roles_required(*STAFF)
def year(year: int):
    return _year_page(year, _staff_scope(), public=False)


@bp.route("/manage/reports/<month>")
@roles_required(*STAFF)
def month(month: str):
    return _month_page(_month_arg(month), _staff_scope(), public=False)


@bp.route("/manage/reports/year/<int:year>/download.<any(csv, xlsx, docx):ext>")
@roles_required(*STAFF)
def year_download(year: int, ext: str):
    scope = _staff_scope()
    report = _year_report(year, scope, _years(), public=False)
    if ext == "docx":
        return _year_word(report, scope)
    return _download(year_tables(report), ext, scope, _year_name(year), f"{year}")


@bp.route("/manage/reports/<month>/download.<any(csv, xlsx, docx):ext>")
@roles_required(*STAFF)
def month_download(month: str, ext: str):
    when, scope = _month_arg(month), _staff_scope()
    report = _month_report(when, scope, _years(), public=False)
    if ext == "docx":
        return _month_word(report, scope, public=False)
    return _download(month_tables(report, public=False), ext, scope, _month_name(when),
                     f"{when:%Y-%m}")


# --- Public ------------------------------------------------------------------------------


def _public_scope() -> ReportScope:
    code = params.arg_text("district", DISTRICT_CODE_MAX)
    if not code:
        return ReportScope()
    return ReportScope(queries.district_by_code(code) or abort(404))


@bp.route("/reports")
@public
@shared_page
def public_index():
    return _index(public=True)


@bp.route("/reports/<int:year>")
@public
@shared_page
def public_year(year: int):
    return _year_page(year, _public_scope(), public=True)


@bp.route("/reports/<int:year>/<int(fixed_digits=2):month>")
@public
@shared_page
def public_month(year: int, month: int):
    return _month_page(_month_of(year, month), _public_scope(), public=True)


@bp.route("/reports/<int:year>/download.<any(csv, xlsx, docx):ext>")
@public
def public_year_download(year: int, ext: str):
    scope = _public_scope()
    report = _year_report(year, scope, _years(), public=True)
    if ext == "docx":
        return _year_word(report, scope)
    return _download(year_tables(report), ext, scope, _year_name(year), f"{year}")


@bp.route("/reports/<int:year>/<int(fixed_digits=2):month>/download.<any(csv, xlsx, docx):ext>")
@public
def public_month_download(year: int, month: int, ext: str):
    when, scope = _month_of(year, month), _public_scope()
    report = _month_report(when, scope, _years(), public=True)
    if ext == "docx":
        return _month_word(report, scope, public=True)
    return _download(month_tables(report, public=True), ext, scope, _month_name(when),
                     f"{when:%Y-%m}")


# --- Shared ------------------------------------------------------------------------------


def _month_arg(text: str) -> date:
    try:
        return params.to_month(text)
    except params.BadParam:
        abort(404)


def _month_of(year: int, month: int) -> date:
    try:
        return params.month_of(year, month)  # year 0 or 10000 is no page, not a crash
    except params.BadParam:
        abort(404)


def _year_report(year: int, scope: ReportScope, years: list[int], *,
                 public: bool) -> queries.YearReport:
    """The year; staff reports add each department's figures (the public's do not)."""
    if year not in years:
        abort(404)
    return queries.load_year(year, scope, utcnow(), with_departments=not public)


def _month_report(month: date, scope: ReportScope, years: list[int], *,
                  public: bool) -> queries.MonthReport:
    now = utcnow()
    if month.year not in years or month > queries.current_month(now):
        abort(404)
    return queries.load_month(month, scope, now, with_platforms=not public,
                              with_departments=not public)


def _years() -> list[int]:
    return queries.report_years(utcnow())


def _scope_name(scope: ReportScope) -> str:
    return city_name() if scope.is_city else scope.district.name


def _year_name(year: int) -> str:
    return _("%(year)s年度报告", year=year)


def _month_name(month: date) -> str:
    return _("%(year)s年%(month)s月统计", year=month.year, month=month.month)


def _summary(report: queries.YearReport) -> cppcc.YearSummary:
    """The year's opinion reports (its months summed) and proposal review, for the sentences."""
    return cppcc.YearSummary.from_totals(report.year, report.totals, report.proposals,
                                         is_city=report.scope.is_city)


def year_sentence(report: queries.YearReport) -> str:
    """The 一线协商 sentence of the year page (the same words as tallies/year.html)."""
    totals = report.totals
    return _("%(year)s年，%(whole)s共建成一线协商平台、社情民意联系点%(platforms)s个，开展协商议事"
             "活动%(events)s场次，促进了%(issues)s个群众急难愁盼问题、房前屋后实事、基层治理难事"
             "得到解决。", year=report.year,
             whole=_("全市") if report.scope.is_city else _("全区"),
             platforms=f"{totals['platforms_total']:,}", events=f"{totals['events_held']:,}",
             issues=f"{totals['issues_resolved']:,}")


def month_sentence(report: queries.MonthReport) -> str:
    """The month in one sentence: events, problems, opinion reports and proposals."""
    m = report.metrics
    return _("%(when)s，%(whole)s开展协商议事活动%(events)s场次，解决问题"
             "%(issues)s个；报送社情民意信息%(opinions)s篇，其中涉及民生实事%(livelihood)s篇；"
             "立案提案%(accepted)s件，办复提案%(replied)s件。",
             when=timefmt.format_month(report.month, with_year=True),
             whole=_("全市") if report.scope.is_city else _("全区"),
             events=f"{m['events_held']:,}", issues=f"{m['issues_resolved']:,}",
             opinions=f"{m['opinions_submitted']:,}",
             livelihood=f"{m['opinions_livelihood']:,}",
             accepted=f"{m['proposals_accepted']:,}", replied=f"{m['proposals_replied']:,}")


def _word_response(data: bytes, scope: ReportScope, title: str, period: str) -> Response:
    place = re.sub(r"[^A-Za-z0-9_-]", "", scope.district.code) if scope.district else "city"
    response = Response(data, content_type=MIMETYPES["docx"])
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"report-{period}-{place}.docx\"; "
        f"filename*=UTF-8''{quote(f'{_scope_name(scope)}{title}.docx', safe='')}")
    return response


def _status_line(is_live: bool) -> str:
    today = f"{to_local(utcnow()):%Y-%m-%d}"
    if is_live:
        return _("%(place)s政协 · %(date)s生成 · 含未归档月份，按现有记录实时统计",
                 place=city_name(), date=today)
    return _("%(place)s政协 · %(date)s生成", place=city_name(), date=today)


def _year_word(report: queries.YearReport, scope: ReportScope) -> Response:
    """The year report as a Word document: title, the 数读 sentences, the tables and charts."""
    summary = _summary(report)
    sentences = [year_sentence(report), summary.opinion_sentence(),
                 summary.proposal_paragraph()]
    title = f"{_scope_name(scope)}{_year_name(report.year)}"
    data = word.report_docx(title, _status_line(not report.is_complete), sentences,
                            year_tables(report), _("以上数字由各平台登记的活动、问题办理、"
                                                   "社情民意信息和提案记录自动统计。"))
    return _word_response(data, scope, _year_name(report.year), f"{report.year}")


def _month_word(report: queries.MonthReport, scope: ReportScope, *, public: bool) -> Response:
    title = f"{_scope_name(scope)}{_month_name(report.month)}"
    data = word.report_docx(title, _status_line(report.is_live), [month_sentence(report)],
                            month_tables(report, public=public),
                            _("以上数字由各平台登记的活动、问题办理、社情民意信息和提案记录自动统计；"
                              "月份按北京时间计。"))
    return _word_response(data, scope, _month_name(report.month), f"{report.month:%Y-%m}")


def _charts(tables: list[Table]) -> dict[str, Any]:
    return {t.name: charts.render(t, f"chart-{t.name}") for t in tables if t.chart}


def _picker(report: queries.YearReport | queries.MonthReport, public: bool) -> list[Area] | None:
    """Districts to choose from, or None where the district is fixed (district staff)."""
    if not (public or can_choose_district(current_user)):
        return None
    return [area for area, _metrics in report.districts] or queries.districts()


def _index(*, public: bool):
    now = utcnow()
    this_month = queries.current_month(now)
    years = [(y, queries.year_months(y, now)) for y in queries.report_years(now)]
    links = Links(public, None, this_month.year)
    return render_template("tallies/index.html", years=years, links=links, public=public,
                           this_month=this_month,
                           scope_name=None if public else _scope_name(_staff_scope()))


def _year_page(year: int, scope: ReportScope, *, public: bool):
    years = _years()
    report = _year_report(year, scope, years, public=public)
    tables = year_tables(report)
    code = scope.district.code if scope.district else None
    return render_template(
        "tallies/year.html", report=report, tables=tables, charts=_charts(tables),
        links=Links(public, code, year), public=public, scope_name=_scope_name(scope),
        districts=_picker(report, public), years=years, summary=_summary(report))


def _month_page(month: date, scope: ReportScope, *, public: bool):
    years = _years()
    report = _month_report(month, scope, years, public=public)
    tables = month_tables(report, public=public)
    code = scope.district.code if scope.district else None
    this_month = queries.current_month(utcnow())
    earlier = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    later = next_month(month)
    return render_template(
        "tallies/month.html", report=report, tables=tables, charts=_charts(tables),
        month_sentence=month_sentence(report),
        links=Links(public, code, month.year, month), public=public,
        scope_name=_scope_name(scope), districts=_picker(report, public),
        earlier=earlier if earlier.year >= years[-1] else None,
        later=later if later <= this_month else None)


def _download(tables: list[Table], ext: str, scope: ReportScope, title: str,
              period: str) -> Response:
    """One table as CSV or XLSX (``?table=``), or every table of the page as one workbook."""
    name = params.arg_text("table", 64)
    if name:
        tables = [t for t in tables if t.name == name] or abort(404)
    elif ext == "csv":
        abort(404)  # a CSV holds one table
    data = to_csv(tables[0]) if ext == "csv" else to_xlsx(tables)
    stem = f"{_scope_name(scope)}{title}" + (f"_{tables[0].title}" if name else "")
    place = re.sub(r"[^A-Za-z0-9_-]", "", scope.district.code) if scope.district else "city"
    ascii_stem = f"report-{period}-{place}" + (f"-{name}" if name else "")
    # content_type, not mimetype: Werkzeug would add a second charset to text/csv's.
    response = Response(data, content_type=MIMETYPES[ext])
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_stem}.{ext}\"; "
        f"filename*=UTF-8''{quote(f'{stem}.{ext}', safe='')}")
    return response
