"""Console commands of the district office: the report, importing and exporting dossiers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

FORMATS = ("json", "csv", "xlsx", "pdf")


def _date(_ctx, param, value):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param=param) from None


def _unit(session, code):
    from postal.core.errors import DomainError
    from postal.reporting.metrics import unit_by_code

    if not code:
        return None
    try:
        return unit_by_code(session, code)
    except DomainError as exc:
        raise click.BadParameter(exc.message, param_hint="--unit") from None


def _write(data: bytes | str, output: str | None) -> None:
    if output:
        Path(output).write_bytes(data.encode() if isinstance(data, str) else data)
        click.echo(f"written to {output}", err=True)
    elif isinstance(data, str):
        click.echo(data, nl=not data.endswith("\n"))
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


@click.command("report")
@click.option("--from", "date_from", required=True, callback=_date, help="YYYY-MM-DD (local)")
@click.option("--to", "date_to", required=True, callback=_date, help="YYYY-MM-DD, inclusive")
@click.option("--unit", "unit_code", default=None, help="unit code (default: every unit)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--output", default=None, help="file to write (default: standard output)")
@with_appcontext
def report(date_from, date_to, unit_code, fmt, output):
    """The report of domain.md for a unit subtree and a period (JSON keys at the top level)."""
    from postal.core.errors import DomainError
    from postal.extensions import db
    from postal.reporting import closing, exports
    from postal.reporting.metrics import parse_period, summary

    if date_from > date_to:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    try:
        parse_period(date_from.isoformat(), date_to.isoformat())
    except DomainError as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{exc.field or 'from'}") from None
    unit = _unit(db.session, unit_code)
    if unit is None:
        result = {"figures": summary(db.session, None, date_from, date_to), "adjustments": []}
    else:
        result = closing.official(db.session, unit, date_from, date_to)
    figures = result["figures"]
    if fmt == "json":
        _write(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", output)
    elif fmt == "csv":
        _write(exports.report_csv(figures), output)
    elif fmt == "xlsx":
        _write(exports.report_xlsx(figures, unit=unit, date_from=date_from, date_to=date_to),
               output)
    else:
        from postal.documents.report_pdf import render_report
        from postal.reporting.report import monthly_data

        data = monthly_data(db.session, unit, date_from, date_to, official=result)
        _write(render_report(data), output)


@click.command("import-dossiers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--create-missing", is_flag=True,
              help="add to the catalogue the procedures and agencies the file names that do "
                   "not exist yet (without it, such rows are refused)")
@with_appcontext
def import_dossiers(path, create_missing):
    """Import dossiers from CSV or XLSX (interfaces.md): every row, or none if one is bad.

    The command runs as the system (no user): any unit may be named."""
    from postal.core.errors import DomainError
    from postal.deadlines.office import calendar_for
    from postal.extensions import db
    from postal.models import utcnow
    from postal.reporting.imports import CHUNK, CatalogueMissing, ImportFailed, import_dossiers

    bars: dict[str, click.progressbar] = {}

    def progress(stage, done, total):
        label = {"validate": "checking ", "import": "importing"}[stage]
        if stage not in bars:
            for bar in bars.values():
                bar.render_finish()
            bars[stage] = click.progressbar(length=total or done or 1, label=label, file=sys.stderr)
            bars[stage].__enter__()
        bar = bars[stage]
        bar.update(done - bar.pos)

    session = db.session
    try:
        result = import_dossiers(
            session, path, calendar=calendar_for(session, current_app.config), now=utcnow(),
            default_cutoff=current_app.config.get("SAME_DAY_CUTOFF"), progress=progress,
            create_missing=create_missing,
            chunk_rows=current_app.config.get("IMPORT_CHUNK_ROWS", CHUNK))
    except ImportFailed as exc:
        _finish(bars)
        for error in exc.errors:
            click.echo(f"{path}: {error}", err=True)
        more = " (and more)" if exc.more else ""
        hint = ("; run again with --create-missing to add them to the catalogue"
                if isinstance(exc, CatalogueMissing) else "")
        raise click.ClickException(
            f"{len(exc.errors)} error(s){more}: nothing was imported{hint}") from None
    except DomainError as exc:
        raise click.ClickException(f"{exc.message}: nothing was imported") from None
    except Exception as exc:  # no traceback for the operator; the log has it at debug level
        current_app.logger.debug("import of %s failed", path, exc_info=True)
        raise click.ClickException(
            f"unexpected error ({type(exc).__name__}: {exc}): nothing was imported") from None
    finally:
        _finish(bars)
    created = ""
    if result.procedures or result.agencies:
        created = (f"; created {len(result.procedures)} procedure(s), "
                   f"{len(result.agencies)} agency(ies)")
    click.echo(f"imported {result.dossiers} dossiers from {path}{created}")


def _finish(bars: dict) -> None:
    """End the progress bars (once) before the command's last words."""
    for bar in bars.values():
        bar.render_finish()
    bars.clear()


@click.command("export-dossiers")
@click.option("--from", "date_from", required=True, callback=_date)
@click.option("--to", "date_to", required=True, callback=_date)
@click.option("--unit", "unit_code", default=None)
@click.option("--figure", default="received", show_default=True,
              help="the report figure whose dossiers to export (received, resolved_late, …)")
@click.option("--format", "fmt", type=click.Choice(("csv", "xlsx")), default="csv",
              show_default=True)
@click.option("--output", default=None)
@with_appcontext
def export_dossiers(date_from, date_to, unit_code, figure, fmt, output):
    """Export the dossiers behind a figure in the import format (CSV or XLSX)."""
    from postal.core.errors import DomainError
    from postal.extensions import db
    from postal.reporting import exports, metrics

    unit = _unit(db.session, unit_code)
    try:
        stmt = metrics.dossiers_behind(db.session, unit, date_from, date_to, figure)
    except DomainError as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{exc.field or 'figure'}") from None
    chunks = (exports.iter_csv if fmt == "csv" else exports.iter_xlsx)(db.session, stmt)
    if output:
        with open(output, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        click.echo(f"written to {output}", err=True)
    else:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


COMMANDS = [report, import_dossiers, export_dossiers]
