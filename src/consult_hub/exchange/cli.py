"""``flask import …`` and ``flask export …``: spreadsheets and the open-data archive from the
shell."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from consult_hub.extensions import db

import_cli = AppGroup("import", help="Import platforms, members, events or problems (.csv/.xlsx).")
export_cli = AppGroup("export", help="Export lists as CSV/XLSX, or build the open-data archive.")


def _user(username: str | None):
    """The account an import is done as (its district limits it); None: the whole city."""
    if username is None:
        return None
    from consult_hub.auth.models import User

    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise click.BadParameter(f"no active user {username!r}", param_hint="--user")
    return user


def _import_command(kind: str, label: str) -> click.Command:
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
    @click.option("--user", "username", help="Import as this user (audit log, district scope).")
    def command(path: Path, dry_run: bool, username: str | None) -> None:
        from consult_hub.exchange.importers import IMPORTERS
        from consult_hub.exchange.importing import ImportRefused, run_import

        try:
            report = run_import(IMPORTERS[kind], path.name, path.read_bytes(),
                                user=_user(username), dry_run=dry_run)
        except ImportRefused as refused:
            db.session.rollback()
            for line in refused.lines():
                click.echo(line, err=True)
            click.echo("没有导入任何数据 (nothing imported).", err=True)
            raise SystemExit(1) from None
        if dry_run:
            db.session.rollback()
            click.echo(f"检查通过，未写入 (dry run): {report.total} 行；{report.summary()}")
        else:
            db.session.commit()
            click.echo(f"已导入{label} {report.total} 行：{report.summary()}")
        if report.areas_created:
            click.echo(f"新建区域 {report.areas_created} 个（街道/社区）")

    command.__doc__ = f"Import {kind} from a .csv or .xlsx file (all rows or none)."
    return import_cli.command(kind)(command)


for _kind, _label in (("platforms", "平台"), ("members", "委员"), ("events", "活动"),
                      ("issues", "问题")):
    _import_command(_kind, _label)


@export_cli.command("open-data")
def export_open_data_command() -> None:
    """Build the open-data ZIP now (the scheduler does it daily at 03:00)."""
    from consult_hub.exchange.open_data import archive_path, build_open_data

    counts = build_open_data()
    click.echo(f"{archive_path()}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))


@export_cli.command("list")
@click.argument("kind", type=click.Choice(["platforms", "events", "issues"]))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--include-contact", is_flag=True,
              help="Add residents' names and phones to a problems export (private; audited).")
def export_list_command(kind: str, path: Path, include_contact: bool) -> None:
    """Write every platform, event or problem to PATH (.csv or .xlsx)."""
    from consult_hub.audit.operations import record
    from consult_hub.core.db import utcnow
    from consult_hub.core.sheets import SheetSpec, csv_stream, xlsx_bytes
    from consult_hub.exchange.exports import table_for

    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise click.BadParameter("give a .csv or .xlsx file name", param_hint="PATH")
    contact = include_contact and kind == "issues"
    table = table_for(kind, None, {}, utcnow(), contact=contact)
    with path.open("wb") as out:
        if path.suffix.lower() == ".csv":
            for chunk in csv_stream(table.header, table.rows):
                out.write(chunk)
        else:
            out.write(xlsx_bytes([SheetSpec(table.title, table.header, table.rows)]))
    if contact:
        record("export_contact", None, {"list": kind, "file": str(path), "via": "cli"})
        db.session.commit()
    click.echo(f"written {path}")
