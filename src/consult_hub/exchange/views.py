"""Import and export pages for staff, and the public open-data download."""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from consult_hub.audit.operations import record
from consult_hub.auth.decorators import platform_staff_required, public, roles_required
from consult_hub.auth.models import OFFICE_ROLES
from consult_hub.auth.scopes import can_choose_district
from consult_hub.core import params
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import gettext as _
from consult_hub.core.sheets import (
    CSV_TYPE,
    XLSX_TYPE,
    SheetSpec,
    csv_stream,
    xlsx_bytes,
)
from consult_hub.exchange import exports
from consult_hub.exchange.blanks import blank_csv, blank_xlsx
from consult_hub.exchange.cells import source_text
from consult_hub.exchange.forms import ImportForm
from consult_hub.exchange.importers import IMPORTERS
from consult_hub.exchange.importing import ImportRefused, ImportReport, run_import
from consult_hub.exchange.open_data import ARCHIVE_NAME, ensure_archive
from consult_hub.extensions import db

bp = Blueprint("exchange", __name__)

MIMETYPES = {"csv": CSV_TYPE, "xlsx": XLSX_TYPE}
# Query-string names that choose the file, not the rows.
NOT_FILTERS = ("page", "contact")


def summary(report: ImportReport) -> str:
    return _("新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s", created=report.created,
             updated=report.updated, unchanged=report.unchanged)


def _download(data: object, ext: str, ascii_stem: str, stem: str) -> Response:
    # content_type, not mimetype: Werkzeug would add a second charset to text/csv's.
    response = Response(data, content_type=MIMETYPES[ext])
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_stem}.{ext}\"; "
        f"filename*=UTF-8''{quote(f'{stem}.{ext}', safe='')}")
    return response


# -- import -----------------------------------------------------------------------------------


@bp.route("/manage/import", methods=["GET", "POST"])
@roles_required(*OFFICE_ROLES)
def import_page():
    form = ImportForm()
    if request.method == "GET":
        form.kind.data = params.arg_choice("kind", IMPORTERS, default="platforms")
    report, refused = None, None
    if form.validate_on_submit():
        importer = IMPORTERS[form.kind.data]
        upload = form.file.data
        try:
            report = run_import(importer, upload.filename or "upload", upload.read(),
                                user=current_user, dry_run=bool(form.dry_run.data))
        except ImportRefused as failure:
            db.session.rollback()
            refused = failure
        else:
            if report.dry_run:
                db.session.rollback()  # a dry run writes nothing, not even the audit row
            else:
                db.session.commit()
                flash(_("已从 %(file)s 导入%(label)s：%(summary)s。", label=importer.label,
                        file=report.filename, summary=summary(report)), "success")
                if report.areas_created:
                    flash(_("新建了 %(n)s 个街道或社区；可在“区域”页面修改名称和区划代码。",
                            n=report.areas_created), "info")
                return redirect(url_for("exchange.import_page", kind=importer.kind), 303)
    status = 422 if request.method == "POST" and (refused or form.errors) else 200
    if refused is not None and refused.too_large:
        status = 413  # more rows than IMPORT_MAX_ROWS: refused whole, after reading that many
    return render_template(
        "exchange/import.html", form=form, report=report, refused=refused, summary=summary,
        importers=IMPORTERS,
        district_only=not can_choose_district(current_user),
    ), status


@bp.route("/manage/import/template/<any(platforms, members, events, issues):kind>."
          "<any(csv, xlsx):ext>")
@roles_required(*OFFICE_ROLES)
def import_template(kind: str, ext: str):
    importer = IMPORTERS[kind]
    data = blank_csv(importer) if ext == "csv" else blank_xlsx(importer)
    return _download(data, ext, f"consult-hub-import-{kind}",
                     f"{source_text(importer.label)}导入模板")


# -- export -----------------------------------------------------------------------------------


# Exports are the platform roles' lists: a department's contact works on its problems in the
# app, and does not take lists of them away.
@bp.route("/manage/export")
@platform_staff_required
def export_page():
    return render_template("exchange/export.html", kinds=exports.KINDS)


@bp.route("/manage/export/<any(platforms, events, issues):kind>.<any(csv, xlsx):ext>")
@platform_staff_required
def export(kind: str, ext: str):
    now = utcnow()
    contact = kind == "issues" and params.arg_flag("contact")
    filters = MultiDict([(k, v) for k, v in request.args.items(multi=True)
                         if k not in NOT_FILTERS])
    if contact:
        # Residents' contact details leave the system: say who took them, and which.
        record("export_contact", None, {"list": kind, "format": ext,
                                        "filters": filters.to_dict(flat=False)})
        db.session.commit()
    # After the commit, which would expire what the table loads of the user: a CSV is
    # written after the request's session has closed, when nothing more can be loaded.
    table = exports.table_for(kind, current_user, filters, now, contact=contact)
    ascii_stem, stem = exports.filename_stem(kind, now)
    if contact:
        ascii_stem, stem = f"{ascii_stem}-private", f"{stem}_含联系人信息_不公开"
    if ext == "csv":
        return _download(stream_with_context(csv_stream(table.header, table.rows)), ext,
                         ascii_stem, stem)
    return _download(xlsx_bytes([SheetSpec(table.title, table.header, table.rows)]), ext,
                     ascii_stem, stem)


# -- open data --------------------------------------------------------------------------------


@bp.route("/open-data/consult_hub_open_data.zip")
@public
def open_data():
    path = ensure_archive()
    if not path.exists():
        abort(404)
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=ARCHIVE_NAME, max_age=3600)
