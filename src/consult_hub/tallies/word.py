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

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from flask_babel import gettext as _

from consult_hub.tallies.chart_png import render_png
from consult_hub.tallies.tables import TEXT, Table

TITLE_FONT = "方正小标宋简体"  # falls back to a song typeface where it is not installed
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
TABLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
WIDE_COLUMNS = 9  # tables with more columns go on a landscape page


def _font(run: Run, east_asian: str, size: float, *, bold: bool = False) -> None:
    run.font.name = LATIN_FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asian)


def _paragraph(document: Document, text: str, *, font: str = BODY_FONT, size: float = 16,
               bold: bool = False, align: int | None = None, indent: bool = False,
               space_after: float = 0) -> Paragraph:
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(space_after)
    fmt.line_spacing = Pt(28) if size >= 16 else None
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    _font(paragraph.add_run(text), font, size, bold=bold)
    return paragraph


def _page_numbers(section) -> None:
    """"— N —" centred at the foot of every page (a PAGE field)."""
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(footer.add_run("— "), BODY_FONT, 14)
    run = footer.add_run()
    _font(run, BODY_FONT, 14)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._element.append(element)
    _font(footer.add_run(" —"), BODY_FONT, 14)


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


def _repeat_header(row) -> None:
    """The header row repeats at the top of every page a table runs onto."""
    properties = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    properties.append(element)


def _keep_row_together(row) -> None:
    properties = row._tr.get_or_add_trPr()
    element = OxmlElement("w:cantSplit")
    element.set(qn("w:val"), "true")
    properties.append(element)


def _cell_text(cell, text: str, *, bold: bool = False, right: bool = False,
               size: float = 10.5) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if right else WD_ALIGN_PARAGRAPH.LEFT
    _font(paragraph.add_run(text), TABLE_FONT, size, bold=bold)


def _table(document: Document, table: Table, *, wide: bool) -> None:
    size = 8 if wide else 9 if len(table.columns) > 5 else 10.5
    grid = document.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = grid.rows[0]
    _repeat_header(header)
    for cell, column in zip(header.cells, table.columns, strict=True):
        _cell_text(cell, str(column.label), bold=True, size=size)
    for index, row in enumerate(table.all_rows()):
        foot = table.foot is not None and index == len(table.rows)
        line = grid.add_row()
        _keep_row_together(line)
        for cell, value, column in zip(line.cells, row, table.columns, strict=True):
            _cell_text(cell, value.text, bold=foot, right=column.kind != TEXT, size=size)


def report_docx(title: str, subtitle: str, sentences: Iterable[str], tables: list[Table],
                note: str) -> bytes:
    """The document: title, subtitle, the 数读 sentences, every table with its chart."""
    document = Document()
    section = document.sections[0]
    _margins(section, landscape=False)
    _page_numbers(section)
    core = document.core_properties
    core.title, core.language = title, "zh-CN"

    _paragraph(document, title, font=TITLE_FONT, size=22, align=WD_ALIGN_PARAGRAPH.CENTER,
               space_after=6)
    _paragraph(document, subtitle, font="楷体_GB2312", size=14,
               align=WD_ALIGN_PARAGRAPH.CENTER, space_after=18)
    sentences = [s for s in sentences if s]
    if sentences:
        _paragraph(document, _("一、数读"), font=HEADING_FONT, size=16, indent=True)
        for sentence in sentences:
            _paragraph(document, sentence, indent=True)
    _paragraph(document, _("二、统计表和图") if sentences else _("统计表和图"),
               font=HEADING_FONT, size=16, indent=True, space_after=6)
    landscape = False
    for number, table in enumerate(tables, 1):
        wide = len(table.columns) > WIDE_COLUMNS
        if wide != landscape:
            section = document.add_section(WD_SECTION.NEW_PAGE)
            _margins(section, landscape=wide)
            landscape = wide
        heading = _paragraph(document, _("表%(n)s %(title)s", n=number, title=str(table.title)),
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
        _table(document, table, wide=wide)
        if table.note:
            _paragraph(document, _("注：%(note)s", note=str(table.note)), font=BODY_FONT,
                       size=12, space_after=6)
    if note:
        _paragraph(document, note, font=BODY_FONT, size=12)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
