"""Blank import files to download: the column names, and (in XLSX) a sheet explaining each
column."""

from __future__ import annotations

from flask_babel import force_locale

from consult_hub.core.sheets import SheetSpec, csv_bytes, xlsx_bytes
from consult_hub.exchange.cells import source_text
from consult_hub.exchange.importing import Importer

GUIDE_HEADER = ["列名", "必填", "说明", "可选值", "示例", "也可用的列名",
                "English column name", "What goes in"]


def guide_rows(importer: Importer) -> list[list[str]]:
    """One row per column: what it holds, whether it is required, what it accepts."""
    with force_locale("en"):
        english = [str(column.help) for column in importer.columns]
    return [[column.header, "必填" if column.required else "", source_text(column.help),
             column.allowed, column.example, "、".join(column.aliases), column.key, in_english]
            for column, in_english in zip(importer.columns, english, strict=True)]


def blank_csv(importer: Importer) -> bytes:
    return csv_bytes([c.header for c in importer.columns if not c.ignored], [])


def blank_xlsx(importer: Importer) -> bytes:
    headers = [c.header for c in importer.columns if not c.ignored]
    label = source_text(importer.label)
    return xlsx_bytes([
        SheetSpec(f"{label}导入", headers, [], widths=[max(12, 3 * len(h)) for h in headers]),
        SheetSpec("填写说明", GUIDE_HEADER, guide_rows(importer),
                  widths=[16, 6, 60, 40, 24, 30, 20, 60], wrap=True),
    ])
