"""The report tables: what each metric is called, and every table a report page shows.

A page, its charts and its downloads all read the same ``Table``, so the CSV, the XLSX and
the chart cannot disagree with what the page prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from markupsafe import escape

from consult_hub.core.categories import Category
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.sheets import Formatted, SheetSpec, csv_bytes, xlsx_bytes
from consult_hub.core.timefmt import format_month
from consult_hub.issues.models import IssueKind, IssueStatus
from consult_hub.opinions.models import OpinionSource
from consult_hub.proposals.models import ProposalOutcome
from consult_hub.tallies.queries import Metrics, MonthReport, YearReport

COUNT, SHARE, DAYS, TEXT = "count", "share", "days", "text"
NUMBERS = (COUNT, SHARE, DAYS)  # printed as digits, separators, "." "%" and "—" only


@dataclass(frozen=True)
class Metric:
    label: Any  # a lazy translation
    unit: Any
    help: Any
    kind: str = COUNT


# In the order the month view lists them; definitions in docs/metrics.md.
METRICS: dict[str, Metric] = {
    "platforms_total": Metric(_l("平台总数"), _l("个"),
                              _l("月末已建成、未撤销的一线协商平台和社情民意联系点（暂停的也计入）")),
    "platforms_new": Metric(_l("新建平台"), _l("个"), _l("当月建成的平台")),
    "platforms_active": Metric(_l("活跃平台"), _l("个"),
                               _l("当月至少开展了一场协商议事活动的平台")),
    "platforms_demonstration": Metric(_l("示范点"), _l("个"), _l("平台总数中已评为示范点的")),
    "events_held": Metric(_l("开展协商议事活动"), _l("场次"), _l("当月开始、已经举行的活动")),
    "events_cancelled": Metric(_l("取消的活动"), _l("场次"), _l("原定当月举行、已取消的活动")),
    "member_attendance": Metric(_l("委员参加"), _l("人次"),
                                _l("当月活动的政协委员出席，每人每场计一次")),
    "resident_attendance": Metric(_l("居民代表参加"), _l("人次"),
                                  _l("当月活动登记的居民代表人数之和")),
    "issues_raised": Metric(_l("新收问题"), _l("个"), _l("当月受理的问题")),
    "issues_resolved": Metric(_l("已解决或采纳"), _l("个"),
                              _l("目前已解决、且最近一次解决在当月的问题")),
    "issues_planned": Metric(_l("列入计划正在解决"), _l("个"),
                             _l("目前列入计划、且在当月列入计划的问题")),
    "issues_constrained": Metric(_l("因条件所限一时难以解决"), _l("个"),
                                 _l("目前为此结果、且在当月办结的问题")),
    "issues_rejected": Metric(_l("不予受理"), _l("个"), _l("当月决定不予受理（含重复反映）的问题")),
    "issues_backlog_end": Metric(_l("月末未办结"), _l("个"), _l("月末仍在办理中的问题")),
    "issues_overdue_end": Metric(_l("月末逾期"), _l("个"),
                                 _l("月末未办结的问题中，已过办理期限或计划完成日期的")),
    "resolution_share": Metric(_l("解决率"), "%",
                               _l("已解决或采纳 ÷（已解决或采纳 + 列入计划 + 因条件所限）"), SHARE),
    "median_days_to_resolve": Metric(_l("解决用时中位数"), _l("天"),
                                     _l("当月解决的问题从受理到解决所用天数的中位数"), DAYS),
    "satisfaction_rated": Metric(_l("评价数"), _l("个"), _l("当月收到居民评价的问题")),
    "satisfaction_satisfied": Metric(_l("满意"), _l("个"), _l("评价为满意的")),
    "satisfaction_basically": Metric(_l("基本满意"), _l("个"), _l("评价为基本满意的")),
    "satisfaction_unsatisfied": Metric(_l("不满意"), _l("个"), _l("评价为不满意的")),
    "satisfaction_share": Metric(_l("满意率"), "%", _l("（满意 + 基本满意）÷ 评价数"), SHARE),
}
# The seed's three outcome classes, in its order.
OUTCOMES = (("issues_resolved", IssueStatus.RESOLVED), ("issues_planned", IssueStatus.PLANNED),
            ("issues_constrained", IssueStatus.CONSTRAINED))
DETAIL_COLUMNS = ("platforms_total", "platforms_active", "events_held", "events_cancelled",
                  "member_attendance", "resident_attendance", "issues_raised",
                  "issues_resolved", "issues_planned", "issues_constrained", "issues_rejected",
                  "issues_backlog_end", "issues_overdue_end", "resolution_share",
                  "median_days_to_resolve", "satisfaction_share")


class Cell(NamedTuple):
    """One figure of a table with its kind (a tuple: a department's year table has
    thousands of them)."""

    value: Any
    kind: str = COUNT

    @property
    def text(self) -> str:
        """As the page shows it: thousands separators, one-decimal percentages, dash for none."""
        if self.value is None:
            return "—"
        if self.kind == SHARE:
            return f"{self.value * 100:.1f}%"
        if self.kind == DAYS:
            return f"{self.value:.1f}"
        if self.kind == COUNT:
            return f"{self.value:,}"
        return str(self.value)

    @property
    def plain(self) -> str:
        """For CSV: the page's text without thousands separators, empty for none."""
        if self.value is None:
            return ""
        return self.text.replace(",", "") if self.kind == COUNT else self.text


@dataclass(frozen=True)
class Column:
    label: Any
    kind: str = COUNT
    metric: str | None = None  # the tally metric shown, so a chart colours it the same everywhere


@dataclass(frozen=True)
class ChartSpec:
    """How to draw a table: ``columns`` bars by month, or horizontal ``bars``, of some columns."""

    style: str
    series: tuple[int, ...]


@dataclass
class Table:
    name: str
    title: Any
    columns: list[Column]
    rows: list[list[Cell]]
    foot: list[Cell] | None = None
    note: Any = ""
    chart: ChartSpec | None = None
    # What each column means, shown with the table (labels and explanations, lazy).
    definitions: list[tuple[Any, Any]] | None = None
    _label_texts: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def header(self) -> list[str]:
        return [str(c.label) for c in self.columns]

    def all_rows(self) -> list[list[Cell]]:
        return self.rows + ([self.foot] if self.foot else [])

    def shown_rows(self) -> list[tuple[str, list[tuple[str, bool, str]]]]:
        """The body as the page prints it (templates/tallies/_report.html ``data_table``)."""
        return [self.shown_row(row) for row in self.rows]

    def shown_row(self, row: list[Cell]) -> tuple[str, list[tuple[str, bool, str]]]:
        """A row's heading (plain text), then for each other cell its text, whether it is a
        number and its column's label (repeated for phones), both HTML-escaped here: a year's
        department table has thousands of cells, and escaping each label once per table and
        no number (digits, separators, %, — only) keeps the page's time down."""
        labels = self._labels()
        return row[0].text, [
            (cell.text if cell.kind in NUMBERS else str(escape(cell.text)), cell.kind != TEXT,
             label)
            for cell, label in zip(row[1:], labels[1:], strict=True)]

    def _labels(self) -> list[str]:
        if self._label_texts is None:  # translated and escaped once, not once per cell
            self._label_texts = [str(escape(str(column.label))) for column in self.columns]
        return self._label_texts


def _text(value: Any) -> Cell:
    return number_cell(value, TEXT) if type(value) is str else Cell(value, TEXT)


# A figure's (or a name's) cell, shared by every table that shows the same one: a year's
# department table holds ~5,000 figures but a few hundred distinct ones, and every object a
# page keeps alive while it renders adds to the garbage collector's next full pass (a tuple
# subclass is never untracked). ``typed``: 1, 1.0 and True are different cells. Lazy
# translations are never keys (their text depends on the request's language).
number_cell = lru_cache(maxsize=4096, typed=True)(Cell)


def _metric_cells(metrics: Metrics, names: tuple[str, ...] | list[str]) -> list[Cell]:
    return [number_cell(metrics.get(name), METRICS[name].kind) for name in names]


def _column(name: str, label: Any = None) -> Column:
    metric = METRICS[name]
    unit = str(metric.unit).strip()  # blank in English for plain counts
    if label is None:
        label = metric.label if metric.kind == SHARE or not unit else _l(
            "%(label)s（%(unit)s）", label=metric.label, unit=unit)
    return Column(label, metric.kind, name)


def month_label(month: date) -> str:
    return format_month(month)


def outcomes_table(metrics: Metrics) -> Table:
    """The seed's three outcome classes with their shares (its proposals: 94.5% / 3.4% / 2.1%)."""
    total = sum(metrics[name] for name, _status in OUTCOMES)
    rows = [[_text(status.label), Cell(metrics[name]),
             Cell(round(metrics[name] / total, 4) if total else None, SHARE)]
            for name, status in OUTCOMES]
    return Table("outcomes", _l("办理结果"), [
        Column(_l("办理结果"), TEXT), Column(_l("问题（个）")), Column(_l("占比"), SHARE)],
        rows, [_text(_l("合计")), Cell(total), Cell(1.0 if total else None, SHARE)],
        note=_l("不予受理的问题（%(n)s 个）不计入这三类。", n=f"{metrics['issues_rejected']:,}"),
        chart=ChartSpec("bars", (2,)))


def categories_table(metrics: Metrics) -> Table:
    names = ("events_held", "issues_raised", "issues_resolved")
    rows = [[_text(c.label)] + [Cell(metrics[f"{name}.category.{c.value}"]) for name in names]
            for c in Category]
    return Table("categories", _l("按议题类别"), [Column(_l("类别"), TEXT)]
                 + [_column(name) for name in names],
                 rows, [_text(_l("合计"))] + _metric_cells(metrics, names),
                 chart=ChartSpec("bars", (1, 2, 3)))


def kinds_table(metrics: Metrics) -> Table:
    names = ("issues_raised", "issues_resolved")
    rows = [[_text(k.label)] + [Cell(metrics[f"{name}.kind.{k.value}"]) for name in names]
            for k in IssueKind]
    return Table("kinds", _l("按问题类型"), [Column(_l("类型"), TEXT)]
                 + [_column(name) for name in names],
                 rows, [_text(_l("合计"))] + _metric_cells(metrics, names),
                 chart=ChartSpec("bars", (1, 2)))


def districts_table(rows: list[tuple[Any, Metrics]], totals: Metrics, *, annual: bool) -> Table:
    names = ("platforms_total", "events_held", "issues_raised", "issues_resolved",
             "resolution_share")
    return Table("districts", _l("各区对比"), [Column(_l("区"), TEXT)]
                 + [_column(n, _l("平台总数（年末，个）")
                            if annual and n == "platforms_total" else None)
                    for n in names],
                 [[_text(area.name)] + _metric_cells(metrics, names) for area, metrics in rows],
                 [_text(_l("全市"))] + _metric_cells(totals, names),
                 chart=ChartSpec("bars", (2, 4)))


def year_tables(report: YearReport) -> list[Table]:
    """Every table of a year view, in page order."""
    totals = report.totals
    monthly = Table("monthly", _l("各月协商议事活动和解决问题"), [
        Column(_l("月份"), TEXT), _column("events_held"), _column("issues_resolved")],
        [[_text(month_label(row.month))] + _metric_cells(row.metrics, ("events_held",
                                                                       "issues_resolved"))
         for row in report.months],
        [_text(_l("全年"))] + _metric_cells(totals, ("events_held", "issues_resolved")),
        chart=ChartSpec("columns", (1, 2)))
    tables = [monthly, outcomes_table(totals), categories_table(totals), kinds_table(totals)]
    if report.scope.is_city:
        tables.append(districts_table(report.districts, totals, annual=True))
    tables.append(Table(
        "details", _l("各月明细"),
        [Column(_l("月份"), TEXT)] + [_column(n) for n in DETAIL_COLUMNS],
        [[_text(month_label(row.month))] + _metric_cells(row.metrics, DETAIL_COLUMNS)
         for row in report.months],
        [_text(_l("全年"))] + _metric_cells(totals, DETAIL_COLUMNS),
        note=_l("平台总数、月末未办结和月末逾期取年末（最后一个月）的数；活跃平台和解决用时中位数"
                "不能由各月相加得出，全年一行不填。")))
    tables += cppcc_year_tables(report)
    if report.departments:
        tables.append(departments_table(report.departments, city=report.scope.is_city,
                                        annual=True))
    return tables


def figures_table(metrics: Metrics) -> Table:
    """Every metric of the month with its label, unit and a short explanation."""
    rows = [[_text(m.label), Cell(metrics.get(name), m.kind),
             _text("" if m.kind == SHARE else m.unit), _text(m.help)]
            for name, m in METRICS.items()]
    return Table("figures", _l("当月数据"), [
        Column(_l("指标"), TEXT), Column(_l("数值")), Column(_l("单位"), TEXT),
        Column(_l("说明"), TEXT)], rows)


def platforms_table(rows: list[tuple[Any, Metrics]]) -> Table:
    names = ("events_held", "issues_raised", "issues_resolved", "issues_backlog_end",
             "issues_overdue_end")
    return Table("platforms", _l("各平台"),
                 [Column(_l("平台"), TEXT)] + [_column(n) for n in names],
                 [[_text(p.name)] + _metric_cells(metrics, names) for p, metrics in rows])


def month_tables(report: MonthReport, *, public: bool) -> list[Table]:
    """Every table of a month view, in page order; the public sees no per-platform table
    and no per-department table."""
    metrics = report.metrics
    tables = [figures_table(metrics), outcomes_table(metrics), categories_table(metrics),
              kinds_table(metrics)]
    if report.scope.is_city:
        tables.append(districts_table(report.districts, metrics, annual=False))
    elif not public and report.platforms:
        tables.append(platforms_table(report.platforms))
    tables += cppcc_month_tables(metrics)
    if not public and report.departments:
        tables.append(departments_table(report.departments, city=report.scope.is_city,
                                        annual=False))
    return tables


# A department's figures (docs/metrics.md § Departments), in the order its table shows them.
DEPARTMENT_METRICS: dict[str, Metric] = {
    "assigned": Metric(_l("交办"), _l("件"), _l("当月交办给该单位的次数（重新交办另计一次）")),
    "acknowledged_in_time": Metric(
        _l("按时签收"), _l("件"),
        _l("当月的交办中，交办后 2 个工作日内（交办当天不计）签收（或开始办理、答复）的；"
           "工作日按国家法定节假日和调休安排计")),
    "acknowledged_share": Metric(_l("按时签收率"), "%", _l("按时签收 ÷ 交办"), SHARE),
    "replied": Metric(_l("答复"), _l("件"), _l("当月答复的次数（退回重办后再次答复另计一次）")),
    "replied_on_time": Metric(_l("按期答复"), _l("件"),
                              _l("当月的答复中，在当时的办理期限当天或之前作出的")),
    "on_time_share": Metric(_l("按期答复率"), "%", _l("按期答复 ÷ 答复"), SHARE),
    "confirmed": Metric(_l("办结确认"), _l("件"), _l("当月区政协确认办结的该单位答复")),
    "reworked": Metric(_l("退回重办"), _l("件"), _l("当月被区政协退回重办的该单位答复")),
    "extensions_requested": Metric(_l("申请延期"), _l("件"), _l("当月该单位提出的延期申请")),
    "extensions_approved": Metric(_l("同意延期"), _l("件"), _l("当月同意的该单位延期申请")),
    "average_days_to_reply": Metric(_l("平均答复用时"), _l("天"),
                                    _l("当月各次答复距交办的自然日数的平均值，保留一位小数"),
                                    DAYS),
    "rated": Metric(_l("评价数"), _l("件"), _l("当月居民评价的、由该单位承办的问题")),
    "satisfaction_share": Metric(_l("满意率"), "%", _l("（满意 + 基本满意）÷ 评价数"),
                                 SHARE),
    "open_end": Metric(_l("月末在办"), _l("件"),
                       _l("月末由该单位承办、尚未办结确认的问题（含已答复待确认的）")),
    "overdue_end": Metric(_l("月末逾期"), _l("件"),
                          _l("月末在办、尚未答复且已过办理期限的问题")),
}
DEPARTMENT_COLUMNS = ("assigned", "acknowledged_in_time", "acknowledged_share", "replied",
                      "replied_on_time", "on_time_share", "confirmed", "reworked",
                      "extensions_requested", "extensions_approved", "average_days_to_reply",
                      "rated", "satisfaction_share", "open_end", "overdue_end")


def _department_column(name: str, *, annual: bool) -> Column:
    metric = DEPARTMENT_METRICS[name]
    label = metric.label
    if annual and name in ("open_end", "overdue_end"):
        label = _l("年末在办") if name == "open_end" else _l("年末逾期")
    unit = str(metric.unit).strip()
    if metric.kind != SHARE and unit:
        label = _l("%(label)s（%(unit)s）", label=label, unit=unit)
    return Column(label, metric.kind)


def departments_table(rows: list[tuple[Any, Metrics]], *, city: bool, annual: bool) -> Table:
    """Each department with something to count: the city's report lists every department
    (and where it belongs), a district's its own."""
    place = [Column(_l("所属"), TEXT)] if city else []
    body = [[_text(d.name)]
            + ([_text(d.district_name if d.district_id is not None else _l("市直单位"))]
               if city else [])
            + [number_cell(metrics.get(name), DEPARTMENT_METRICS[name].kind)
               for name in DEPARTMENT_COLUMNS]
            for d, metrics in rows]
    note = (_l("年末在办、年末逾期取最后一个月的数；各项比率和平均用时由全年合计得出。")
            if annual else "")
    return Table("departments", _l("各承办单位办理情况"),
                 [Column(_l("承办单位"), TEXT), *place]
                 + [_department_column(name, annual=annual) for name in DEPARTMENT_COLUMNS],
                 body, note=note,
                 definitions=[(m.label, m.help) for m in DEPARTMENT_METRICS.values()])


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, through the site's one CSV writer (``defuse``)."""
    return csv_bytes(table.header, ([cell.plain for cell in row] for row in table.all_rows()))


XLSX_FORMATS = {COUNT: "#,##0", SHARE: "0.0%", DAYS: "0.0"}
SHEET_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table; numbers stay numbers, with the page's number formats.

    Written by the site's one XLSX writer, so a platform or district named like a formula
    (``=HYPERLINK(…)``) stays text, and the columns fit what they hold.
    """
    return xlsx_bytes([SheetSpec(
        SHEET_FORBIDDEN.sub(" ", str(table.title)), table.header,
        [_xlsx_row(row) for row in table.rows],
        foot=[_xlsx_row(table.foot)] if table.foot else [], freeze="B2") for table in tables])


def _xlsx_row(row: list[Cell]) -> list[Any]:
    return [str(cell.value) if cell.kind == TEXT and cell.value is not None
            else Formatted(cell.value, XLSX_FORMATS[cell.kind]) if cell.kind in XLSX_FORMATS
            else cell.value for cell in row]


# --- Opinion reports and proposals (docs/metrics.md § Opinion reports, § Proposals) ---------

CPPCC_METRICS: dict[str, Metric] = {
    "opinions_written": Metric(_l("撰写社情民意信息"), _l("篇"),
                               _l("当月新建的社情民意信息（含草稿）")),
    "opinions_submitted": Metric(_l("报送社情民意信息"), _l("篇"),
                                 _l("当月报送的社情民意信息（含之后采用和未采用的）")),
    "opinions_livelihood": Metric(_l("涉及民生实事"), _l("篇"),
                                  _l("当月报送的信息中标注为民生实事的")),
    "opinions_livelihood_share": Metric(_l("民生实事占比"), "%",
                                        _l("涉及民生实事 ÷ 报送社情民意信息"), SHARE),
    "opinions_adopted": Metric(_l("已采用"), _l("篇"), _l("当月决定采用（编发）的社情民意信息")),
    "opinions_not_adopted": Metric(_l("未采用"), _l("篇"),
                                   _l("当月决定不予采用的社情民意信息")),
    "opinions_forwarded": Metric(_l("报送上级"), _l("篇"),
                                 _l("当月报送省政协或全国政协的社情民意信息")),
    "opinions_instructed": Metric(_l("获批示"), _l("篇"), _l("领导批示日期在当月的社情民意信息")),
    "proposals_submitted": Metric(_l("提出提案"), _l("件"), _l("当月提交的提案")),
    "proposals_accepted": Metric(_l("立案"), _l("件"), _l("当月经审查立案的提案")),
    "proposals_accepted_member": Metric(_l("委员个人或联名提案"), _l("件"),
                                        _l("当月立案的提案中由委员个人或联名提出的")),
    "proposals_accepted_collective": Metric(
        _l("集体提案"), _l("件"),
        _l("当月立案的提案中由民主党派、工商联、人民团体、界别和专门委员会提出的")),
    "proposals_key": Metric(_l("重点提案"), _l("件"), _l("当月立案的提案中确定为重点提案的")),
    "proposals_not_accepted": Metric(_l("不予立案"), _l("件"), _l("当月经审查不予立案的提案")),
    "proposals_replied": Metric(_l("办复"), _l("件"),
                                _l("目前已办复、且最近一次办复在当月的提案")),
    "proposals_rated": Metric(_l("提案者评价"), _l("件"), _l("当月提案者对办复作出评价的提案")),
}
OPINION_MONTH_COLUMNS = ("opinions_written", "opinions_submitted", "opinions_livelihood",
                         "opinions_livelihood_share", "opinions_adopted", "opinions_not_adopted",
                         "opinions_forwarded", "opinions_instructed")
PROPOSAL_MONTH_COLUMNS = ("proposals_submitted", "proposals_accepted", "proposals_not_accepted",
                          "proposals_replied", "proposals_rated")


def share_value(part: int, whole: int) -> float | None:
    """``part / whole`` rounded half up to a tenth of a percent (the sentences' rounding), so a
    table prints what the sentence says (0.0625 → 6.3%, not the float's 6.2%)."""
    if not whole:
        return None
    return ((2 * part * 1000 + whole) // (2 * whole)) / 1000


def _cppcc_column(name: str) -> Column:
    metric = CPPCC_METRICS[name]
    unit = str(metric.unit).strip()
    label = metric.label if metric.kind == SHARE or not unit else _l(
        "%(label)s（%(unit)s）", label=metric.label, unit=unit)
    return Column(label, metric.kind, name)


def _cppcc_cells(metrics: Metrics, names: tuple[str, ...]) -> list[Cell]:
    return [number_cell(metrics.get(name), CPPCC_METRICS[name].kind) for name in names]


def cppcc_figures_table(metrics: Metrics) -> Table:
    """The month's opinion-report and proposal figures, each with its unit and meaning."""
    rows = [[_text(m.label), Cell(metrics.get(name), m.kind),
             _text("" if m.kind == SHARE else m.unit), _text(m.help)]
            for name, m in CPPCC_METRICS.items()]
    return Table("cppcc", _l("社情民意信息和提案"), [
        Column(_l("指标"), TEXT), Column(_l("数值")), Column(_l("单位"), TEXT),
        Column(_l("说明"), TEXT)], rows)


def opinion_split_table(metrics: Metrics, dimension: str) -> Table:
    """The submitted reports by field (``category``) or by source (``source``), with shares."""
    enum_cls, name, title, label = (
        (Category, "opinion_categories", _l("报送的社情民意信息按类别"), _l("类别"))
        if dimension == "category" else
        (OpinionSource, "opinion_sources", _l("报送的社情民意信息按来源"), _l("来源")))
    total = metrics.get("opinions_submitted") or 0
    rows = []
    for member in enum_cls:
        n = metrics.get(f"opinions_submitted.{dimension}.{member.value}") or 0
        rows.append([_text(member.label), Cell(n), Cell(share_value(n, total), SHARE)])
    return Table(name, title, [Column(label, TEXT), _cppcc_column("opinions_submitted"),
                               Column(_l("占比"), SHARE)],
                 rows, [_text(_l("合计")), Cell(total), Cell(1.0 if total else None, SHARE)],
                 chart=ChartSpec("bars", (1,)))


def opinions_monthly_table(report: YearReport) -> Table:
    return Table(
        "opinions_monthly", _l("各月社情民意信息"),
        [Column(_l("月份"), TEXT)] + [_cppcc_column(n) for n in OPINION_MONTH_COLUMNS],
        [[_text(month_label(row.month))] + _cppcc_cells(row.metrics, OPINION_MONTH_COLUMNS)
         for row in report.months],
        [_text(_l("全年"))] + _cppcc_cells(report.totals, OPINION_MONTH_COLUMNS),
        note=_l("报送按报送日期、采用和未采用按决定日期、获批示按批示日期计入月份；"
                "全年为各月之和。"),
        chart=ChartSpec("columns", (2, 3)))


def proposals_monthly_table(report: YearReport) -> Table:
    return Table(
        "proposals_monthly", _l("各月提案办理"),
        [Column(_l("月份"), TEXT)] + [_cppcc_column(n) for n in PROPOSAL_MONTH_COLUMNS],
        [[_text(month_label(row.month))] + _cppcc_cells(row.metrics, PROPOSAL_MONTH_COLUMNS)
         for row in report.months],
        [_text(_l("全年"))] + _cppcc_cells(report.totals, PROPOSAL_MONTH_COLUMNS),
        note=_l("按提交、审查、办复和评价发生的月份统计；提案办理回顾按提案所属年度统计，"
                "两者在跨年办理时可能不同。"),
        chart=ChartSpec("columns", (2, 4)))


def proposal_review_table(review: Any) -> Table:
    """The 提案办理回顾's figures: the session year's proposals in their current state."""
    accepted = review.accepted
    lines = ((_l("提出提案"), review.submitted, False), (_l("立案"), accepted, True),
             (_l("其中：委员个人或联名提案"), review.accepted_member, True),
             (_l("其中：集体提案"), review.accepted_collective, True),
             (_l("不予立案"), review.not_accepted, False), (_l("办复"), review.replied, True),
             (_l("重点提案"), review.key, True), (_l("提案者评价"), review.rated, True))
    rows = [[_text(label), Cell(n), Cell(share_value(n, accepted) if of_accepted else None,
                                         SHARE)]
            for label, n, of_accepted in lines]
    return Table("proposal_review", _l("提案办理回顾"), [
        Column(_l("项目"), TEXT), Column(_l("提案（件）")), Column(_l("占立案提案"), SHARE)],
        rows, note=_l("按提案所属年度统计各提案目前的状态（跨年办复的也计入所属年度）；"
                      "占比保留一位小数。"))


def proposal_outcomes_table(review: Any) -> Table:
    rows = [[_text(o.label), Cell(review.outcomes[o]),
             Cell(share_value(review.outcomes[o], review.accepted), SHARE)]
            for o in ProposalOutcome]
    return Table("proposal_outcomes", _l("立案提案办复结果"), [
        Column(_l("办复结果"), TEXT), Column(_l("提案（件）")),
        Column(_l("占立案提案"), SHARE)],
        rows, [_text(_l("已办复")), Cell(review.replied),
               Cell(share_value(review.replied, review.accepted), SHARE)],
        chart=ChartSpec("bars", (1,)))


def proposal_categories_table(review: Any) -> Table:
    rows = [[_text(c.label), Cell(review.categories[c]),
             Cell(share_value(review.categories[c], review.accepted), SHARE)]
            for c in Category]
    return Table("proposal_categories", _l("立案提案按类别"), [
        Column(_l("类别"), TEXT), Column(_l("提案（件）")), Column(_l("占立案提案"), SHARE)],
        rows, [_text(_l("合计")), Cell(review.accepted),
               Cell(1.0 if review.accepted else None, SHARE)],
        chart=ChartSpec("bars", (1,)))


def month_proposal_splits_table(metrics: Metrics) -> Table:
    """The month's accepted proposals by field and its answered ones by outcome class."""
    accepted = metrics.get("proposals_accepted") or 0
    replied = metrics.get("proposals_replied") or 0
    rows = []
    for c in Category:
        n = metrics.get(f"proposals_accepted.category.{c.value}") or 0
        rows.append([_text(c.label), Cell(n), Cell(share_value(n, accepted), SHARE)])
    for o in ProposalOutcome:
        n = metrics.get(f"proposals_replied.outcome.{o.value}") or 0
        rows.append([_text(o.label), Cell(n), Cell(share_value(n, replied), SHARE)])
    return Table("proposal_splits", _l("当月立案提案的类别和办复提案的结果"), [
        Column(_l("类别或办复结果"), TEXT), Column(_l("提案（件）")), Column(_l("占比"), SHARE)],
        rows, note=_l("前五行为当月立案提案按类别的分布（占当月立案），"
                      "后三行为当月办复提案按办复结果的分布（占当月办复）。"))


def cppcc_year_tables(report: YearReport) -> list[Table]:
    """The year's opinion-report and proposal tables, in page order."""
    tables = [opinions_monthly_table(report), opinion_split_table(report.totals, "category"),
              opinion_split_table(report.totals, "source")]
    if report.proposals is not None:
        tables += [proposal_review_table(report.proposals),
                   proposal_outcomes_table(report.proposals),
                   proposal_categories_table(report.proposals)]
    tables.append(proposals_monthly_table(report))
    return tables


def cppcc_month_tables(metrics: Metrics) -> list[Table]:
    return [cppcc_figures_table(metrics), opinion_split_table(metrics, "category"),
            opinion_split_table(metrics, "source"), month_proposal_splits_table(metrics)]
