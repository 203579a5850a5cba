"""The year and month reports as Word documents (.docx), laid out for official submission.

Offices send their reports (报送) as Word files. The document holds what the page holds: the
title, the 数读 sentences, then every table of the page with its chart drawn as an image
(tallies/chart_png.py) and its note. The page follows the usual layout of an official
document (GB/T 9704): A4, margins 37 / 35 / 28 / 26 mm, the title in a large song typeface,
the text in fangsong at 16 pt with a two-character first-line indent, page numbers
"— 1 —" at the foot. Tables wider than a portrait page sit on landscape pages of their own.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from copy import deepcopy

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from consult_hub.core.i18n import gettext as _
from consult_hub.tallies.chart_png import render_png
from consult_hub.tallies.tables import TEXT, Table

TITLE_FONT = "方正小标宋简体"  # falls back to a song typeface where it is not installed
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
TABLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
WIDE_COLUMNS = 9  # tables with more columns go on a landscape page
TABLE_STYLE = "TableGrid"  # the id of python-docx's built-in "Table Grid" (every border drawn)


class _Fonts:
    """One character style per typeface, size and weight, made the first time it is asked for.

    Each run names its style (w:rStyle) instead of carrying its own w:rFonts, w:sz and w:b:
    python-docx adds each of those through get_or_add_child, which scans the schema's
    successors of the element, about 0.1 ms a run, and a city's staff year report has 5,500
    table cells. Word resolves the style to the same fonts, so the document looks the same.
    """

    def __init__(self, document: Document) -> None:
        self._styles = document.styles
        self._made: dict[tuple[str, float, bool], str] = {}

    def __call__(self, east_asian: str, size: float, *, bold: bool = False) -> str:
        """The style id of the character style."""
        key = (east_asian, size, bold)
        if key not in self._made:
            name = f"{east_asian} {size:g}磅" + (" 加粗" if bold else "")
            style = self._styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
            style.style_id = f"ReportText{len(self._made) + 1}"
            style.font.name = LATIN_FONT
            style.font.size = Pt(size)
            style.font.bold = bold
            style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)
            self._made[key] = style.style_id
        return self._made[key]


def _add_run(paragraph: Paragraph, text: str, style_id: str) -> Run:
    """A run of ``text`` in the character style ``style_id``.

    Set by id on the run's XML: python-docx's run.style setter first looks for the document's
    default character style among its 160 styles, 2 ms each time.
    """
    run = paragraph.add_run(text)
    run._r.style = style_id
    return run


def _paragraph(document: Document, fonts: _Fonts, text: str, *, font: str = BODY_FONT,
               size: float = 16, bold: bool = False, align: int | None = None,
               indent: bool = False, space_after: float = 0) -> Paragraph:
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(space_after)
    fmt.line_spacing = Pt(28) if size >= 16 else None
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    _add_run(paragraph, text, fonts(font, size, bold=bold))
    return paragraph


def _page_numbers(section, fonts: _Fonts) -> None:
    """"— N —" centred at the foot of every page (a PAGE field)."""
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    style = fonts(BODY_FONT, 14)
    _add_run(footer, "— ", style)
    run = _add_run(footer, "", style)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._element.append(element)
    _add_run(footer, " —", style)


def _margins(section, *, landscape: bool) -> None:
    a4_short, a4_long = Cm(21.0), Cm(29.7)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = ((a4_long, a4_short) if landscape
                                               else (a4_short, a4_long))
    if landscape:
        section.top_margin = section.bottom_margin = Cm(2.6)
        section.left_margin, section.right_margin = Cm(3.5), Cm(3.0)
    else:
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)


def _repeat_header(tr) -> None:
    """The header row (w:tr) repeats at the top of every page a table runs onto."""
    properties = tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    properties.append(element)


def _keep_row_together(tr) -> None:
    properties = tr.get_or_add_trPr()
    element = OxmlElement("w:cantSplit")
    element.set(qn("w:val"), "true")
    properties.append(element)


def _cell_paragraph(grid, style_id: str, *, right: bool):
    """A formatted, empty cell paragraph (w:p) with one styled run, for the cells to copy."""
    paragraph = Paragraph(OxmlElement("w:p"), grid)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if right else WD_ALIGN_PARAGRAPH.LEFT
    _add_run(paragraph, "", style_id)
    return paragraph._p


def _fill(tc, template, text: str) -> None:
    """The cell's (w:tc) paragraph becomes a copy of ``template`` holding ``text``.

    Copying a paragraph formatted once takes about 10 µs a cell; formatting each through
    python-docx's setters took about 100 µs (5,500 cells in a city's staff year report).
    The table is made with all its rows at once (one parse) instead of add_row per row.
    """
    paragraph = deepcopy(template)
    run = paragraph.r_lst[-1]
    if "\t" in text or "\n" in text or "\r" in text:
        run.text = text  # python-docx turns these into w:tab and w:br
    elif text:
        run.add_t(text)
    tc.replace(tc.p_lst[0], paragraph)


def _table(document: Document, fonts: _Fonts, table: Table, *, wide: bool) -> None:
    size = 8 if wide else 9 if len(table.columns) > 5 else 10.5
    rows = list(table.all_rows())
    grid = document.add_table(rows=1 + len(rows), cols=len(table.columns))
    grid._tbl.tblPr.style = TABLE_STYLE  # by id: grid.style = "Table Grid" looks it up by name
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    header, *lines = grid._tbl.tr_lst
    _repeat_header(header)
    templates = {(bold, right): _cell_paragraph(grid, fonts(TABLE_FONT, size, bold=bold),
                                                right=right)
                 for bold in (True, False) for right in (False, True)}
    for tc, column in zip(header.tc_lst, table.columns, strict=True):
        _fill(tc, templates[True, False], str(column.label))
    for index, (line, row) in enumerate(zip(lines, rows, strict=True)):
        foot = table.foot is not None and index == len(table.rows)
        _keep_row_together(line)
        for tc, value, column in zip(line.tc_lst, row, table.columns, strict=True):
            _fill(tc, templates[foot, column.kind != TEXT], value.text)


def report_docx(title: str, subtitle: str, sentences: Iterable[str], tables: list[Table],
                note: str) -> bytes:
    """The document: title, subtitle, the 数读 sentences, every table with its chart."""
    document = Document()
    fonts = _Fonts(document)
    section = document.sections[0]
    _margins(section, landscape=False)
    _page_numbers(section, fonts)
    core = document.core_properties
    core.title, core.language = title, "zh-CN"

    _paragraph(document, fonts, title, font=TITLE_FONT, size=22,
               align=WD_ALIGN_PARAGRAPH.CENTER, space_after=6)
    _paragraph(document, fonts, subtitle, font="楷体_GB2312", size=14,
               align=WD_ALIGN_PARAGRAPH.CENTER, space_after=18)
    sentences = [s for s in sentences if s]
    if sentences:
        _paragraph(document, fonts, _("一、数读"), font=HEADING_FONT, size=16, indent=True)
        for sentence in sentences:
            _paragraph(document, fonts, sentence, indent=True)
    _paragraph(document, fonts, _("二、统计表和图") if sentences else _("统计表和图"),
               font=HEADING_FONT, size=16, indent=True, space_after=6)
    landscape = False
    for number, table in enumerate(tables, 1):
        wide = len(table.columns) > WIDE_COLUMNS
        if wide != landscape:
            section = document.add_section(WD_SECTION.NEW_PAGE)
            _margins(section, landscape=wide)
            landscape = wide
        heading = _paragraph(document, fonts,
                             _("表%(n)s %(title)s", n=number, title=str(table.title)),
                             font=HEADING_FONT, size=14, align=WD_ALIGN_PARAGRAPH.CENTER,
                             space_after=6)
        heading.paragraph_format.keep_with_next = True
        heading.paragraph_format.space_before = Pt(12)
        image = render_png(table)
        if image:
            picture = document.add_paragraph()
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            picture.paragraph_format.keep_with_next = True
            picture.add_run().add_picture(io.BytesIO(image), width=Cm(14))
        _table(document, fonts, table, wide=wide)
        if table.note:
            _paragraph(document, fonts, _("注：%(note)s", note=str(table.note)), font=BODY_FONT,
                       size=12, space_after=6)
    if note:
        _paragraph(document, fonts, note, font=BODY_FONT, size=12)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
