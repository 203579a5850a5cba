"""``flask`` commands: users, demo data and the scheduler process."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from consult_hub.auth.models import Role
from consult_hub.core.saving import save
from consult_hub.extensions import db

user_cli = AppGroup("user", help="Manage staff and members' accounts.")
demo_cli = AppGroup("demo", help="Demonstration data.")
scheduler_cli = AppGroup("scheduler", help="The reminder and tally scheduler.")
tally_cli = AppGroup("tally", help="Monthly tallies (docs/metrics.md).")


@user_cli.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", help="Display name (defaults to the username).")
@click.option("--email")
@click.option("--district", "district_code", help="District code, for district_admin.")
@click.option("--platform", "platform_ids", type=int, multiple=True,
              help="Platform id, for coordinator; repeat for several.")
@click.option("--department", "department_code",
              help="Department code (承办单位), for department.")
@click.option("--member", "member_ref",
              help="Member (政协委员) id or code, for member: one account per member.")
def create_user_command(username: str, role: str, name: str | None, email: str | None,
                        district_code: str | None, platform_ids: tuple[int, ...],
                        department_code: str | None, member_ref: str | None) -> None:
    """Create a user; the password comes from CONSULT_HUB_PASSWORD or a prompt."""
    from consult_hub.accounts.operations import create_user

    password = os.environ.get("CONSULT_HUB_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    saved = save(None, lambda: create_user(username=username, password=password, role=role,
                                           name=name, email=email, district_code=district_code,
                                           platform_ids=list(platform_ids),
                                           department_code=department_code,
                                           member_ref=member_ref))
    if not saved:
        for field_name, message in saved.errors.items():
            click.echo(f"error: {field_name}: {message}", err=True)
        raise SystemExit(1)
    user = saved.value
    where = f", department {user.department.code}" if user.department else ""
    if user.member is not None:
        where = f", member {user.member.id} {user.member.name}"
    click.echo(f"created user {user.username} ({user.role.value}{where}), id {user.id}")


class Moment(click.ParamType):
    """A moment for an option: ISO 8601 with its zone (``2026-11-28T10:00+08:00``), as UTC.
    A time without a zone, or not a time, is a usage error naming the option."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail(f"{value!r} is not an ISO 8601 time with its zone, "
                      "e.g. 2026-11-28T10:00+08:00", param, ctx)
        return parsed.astimezone(UTC)


MOMENT = Moment()


@demo_cli.command("load")
@click.option("--scale", default="city", show_default=True,
              help="'city' for the seed's scale (1,006 platforms), or a number of platforms.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--year", default=2024, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Load even though the database has data (wipes it).")
@click.option("--now", type=MOMENT,
              help="Build as if loaded at this moment (e.g. 2026-11-28T10:00+08:00; default: "
                   "now): the same seed and moment give the same data, to the second.")
def demo_load_command(scale: str, seed: int, year: int, force: bool,
                      now: datetime | None) -> None:
    """Load demonstration data at the city's real scale into an empty database."""
    from consult_hub.demo.generate import DemoRefused, load_demo, parse_scale

    try:
        platforms = parse_scale(scale)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scale") from None
    try:
        report = load_demo(platforms=platforms, seed=seed, year=year, force=force, now=now,
                           progress=lambda msg: click.echo(msg, err=True))
    except DemoRefused as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--year") from None
    click.echo(report.text())


@demo_cli.command("logins")
def demo_logins_command() -> None:
    """Print the demo accounts present in this database, with their demo passwords."""
    from consult_hub.auth.models import User
    from consult_hub.auth.passwords import verify_password
    from consult_hub.demo.vocabulary import DEMO_USERS

    found = {u.username: u for u in db.session.scalars(
        sa.select(User).where(User.username.in_([d[0] for d in DEMO_USERS])))}
    rows = [(name, password, found[name]) for name, password, *_ in DEMO_USERS
            if name in found and found[name].is_active
            and verify_password(found[name].password_hash, password)]
    if not rows:
        click.echo("No demo accounts in this database (create one with "
                   "`flask --app consult_hub user create`).")
        return
    click.echo("Demo logins:")
    for name, password, user in rows:
        click.echo(f"  {name:<12} {password:<24} {user.role.label} {user.name}")


@demo_cli.command("is-empty")
def demo_is_empty_command() -> None:
    """Exit 0 when the database holds no platforms (used by `make run`)."""
    from consult_hub.platforms.models import Platform

    count = db.session.scalar(sa.select(sa.func.count(Platform.id)))
    raise SystemExit(0 if not count else 1)


@scheduler_cli.command("run")
def scheduler_run_command() -> None:
    """Run the scheduler in the foreground (one such process per deployment)."""
    from consult_hub.scheduler import run_forever

    run_forever()


@scheduler_cli.command("sweep")
@click.option("--now", type=MOMENT, help="Pretend it is this time (ISO 8601 with its zone, "
              "e.g. 2024-11-01T02:00:00+00:00), for checks.")
def scheduler_sweep_command(now: datetime | None) -> None:
    """Run every job once (reminders, email, tallies) and exit."""
    from flask import current_app

    from consult_hub.scheduler import JOBS, run_job

    app = current_app._get_current_object()
    for name, func, _trigger in JOBS:
        click.echo(f"{name}: {run_job(app, name, func, now)}")


def _month_argument(text: str):
    from consult_hub.tallies.compute import parse_month

    try:
        return parse_month(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="MONTH") from None


def _print_city(month, metrics) -> None:
    click.echo(f"{month:%Y-%m} city figures:")
    for key in sorted(k for k in metrics if "." not in k):
        click.echo(f"  {key:<28} {metrics[key] if metrics[key] is not None else '-'}")


@tally_cli.command("compute")
@click.argument("month")
def tally_compute_command(month: str) -> None:
    """Freeze MONTH (e.g. 2024-11) for the city, each district and platform; idempotent."""
    from consult_hub.tallies.compute import freeze_month

    when = _month_argument(month)
    _print_city(when, freeze_month(when))


@tally_cli.command("show")
@click.argument("month")
def tally_show_command(month: str) -> None:
    """Print MONTH's frozen city figures (computed live if the month is not frozen)."""
    from consult_hub.tallies.compute import compute_month, frozen_city

    when = _month_argument(month)
    metrics = frozen_city(when)
    if metrics is None:
        click.echo("(not frozen yet: computed live)")
        metrics = compute_month(when)["city"][1]
    _print_city(when, metrics)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path: str) -> None:
    """Write an online backup of the database to PATH (SQLite file, or pg_dump archive).

    The event photos go beside it, to PATH.photos.tar; both files are mode 0600.
    """
    from flask import current_app

    from consult_hub.core.backup import BackupError, backup, photos_archive

    try:
        written = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(path),
                         uploads=Path(current_app.config["UPLOAD_FOLDER"]))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    photos = photos_archive(written)
    click.echo(f"backup written to {written} ({written.stat().st_size:,} bytes) and the photos "
               f"to {photos} ({photos.stat().st_size:,} bytes); both mode 0600")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: str, yes: bool) -> None:
    """Replace the database's contents with the backup at PATH, the photos with PATH.photos.tar."""
    from flask import current_app

    from consult_hub.core.backup import BackupError, restore

    if not yes:
        click.confirm("This replaces every record in the database. Continue?", abort=True)
    db.session.remove()
    db.engine.dispose()  # no open connection may hold the old data
    try:
        photos = restore(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(path),
                         uploads=Path(current_app.config["UPLOAD_FOLDER"]))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if photos is None:
        click.echo(f"restored from {path}; no photos archive beside it, photos left as they are")
    else:
        click.echo(f"restored from {path} and {photos} photos")


def register_cli(app: Flask) -> None:
    from consult_hub.exchange.cli import export_cli, import_cli

    app.cli.add_command(import_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    for group in (user_cli, demo_cli, scheduler_cli, tally_cli):
        app.cli.add_command(group)
