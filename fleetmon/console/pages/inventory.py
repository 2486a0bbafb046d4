"""Inventory import from the browser: the CLI's checks and row-numbered errors, a dry run first, then apply.

The upload is kept under the data dir with a random name until it is applied, and checked again
when applied (the store may have changed in between). Nothing is written while any row is wrong.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.responses import Response

from fleetmon.console.users import Role
from fleetmon.console.web import Ctx, Refused, page
from fleetmon.inventory.importer import ImportPlan
from fleetmon.inventory.sheets import SheetError
from fleetmon.inventory.validate import RowError
from fleetmon.store.inventory import apply_plan, check_sheet

SUFFIXES = (".csv", ".xlsx")
KEEP_SECONDS = 86400  # a checked sheet waits this long for "Import it"


def _check(ctx: Ctx, path: Path, name: str, retire: bool) -> tuple[ImportPlan | None, list[str]]:
    """The CLI's own check (`check_sheet`); mistakes name the uploaded file, not where it was kept."""
    config = ctx.console.config
    try:
        with ctx.console.engine.connect() as conn:
            check, plan = check_sheet(conn, path, config.areas.as_levels(), config.credentials.keys(), retire_missing=retire)
    except SheetError as exc:
        return None, [str(exc).replace(str(path), name)]
    return plan, [str(RowError(name, e.row, e.field, e.problem)) for e in check.errors]


@page(Role.ADMINISTRATOR)
def upload_form(ctx: Ctx) -> Response:
    return ctx.render("inventory.html", plan=None, errors=[])


@page(Role.ADMINISTRATOR)
def check(ctx: Ctx) -> Response:
    """POST /inventory/check: the dry run. Shows every mistake, or what an import would change."""
    assert ctx.form is not None
    sheet = ctx.form.get("sheet")
    if not isinstance(sheet, UploadFile) or not sheet.filename:
        raise Refused(400, ctx._("Choose a CSV or XLSX file."))
    name = Path(sheet.filename).name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise Refused(400, ctx._("Choose a CSV or XLSX file."))
    folder = ctx.console.upload_dir
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():  # sheets checked but never imported
        if old.is_file() and time.time() - old.stat().st_mtime > KEEP_SECONDS:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    path = folder / f"{token}{suffix}"
    path.write_bytes(sheet.file.read())
    retire = ctx.field("retire") == "yes"
    plan, errors = _check(ctx, path, name, retire)
    if errors:
        path.unlink(missing_ok=True)
    return ctx.render("inventory.html", status=422 if errors else 200, plan=plan, errors=errors, token=token + suffix, name=name,
                      retire=retire)


@page(Role.ADMINISTRATOR)
def apply(ctx: Ctx) -> Response:
    token, name = ctx.field("token"), Path(ctx.field("name")).name
    if not token or "/" in token or "\\" in token or not token.endswith(SUFFIXES):
        raise Refused(400, ctx._("The checked sheet is gone; upload it again."))
    path = ctx.console.upload_dir / token
    if not path.is_file():
        raise Refused(400, ctx._("The checked sheet is gone; upload it again."))
    try:
        plan, errors = _check(ctx, path, name, ctx.field("retire") == "yes")
        if plan is None:
            return ctx.render("inventory.html", status=422, plan=None, errors=errors)
        summary = f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.retired)} retired, {plan.unchanged} unchanged"
        with ctx.console.engine.begin() as conn:
            apply_plan(conn, plan, source=f"console: {name} by {ctx.me.name}")
            ctx.audit(conn, "inventory.import", name, summary)
    finally:
        path.unlink(missing_ok=True)
    return ctx.redirect("/inventory", ctx._("Imported %(name)s: %(summary)s.", name=name, summary=summary))
