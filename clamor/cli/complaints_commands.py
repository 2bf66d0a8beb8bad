"""`clamor import` (hotline / online-platform logs as CSV or XLSX) and `clamor complaints
sweep-sla`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from clamor.core.config import Settings
from clamor.core.errors import ConfigurationError, ValidationError
from clamor.core.i18n import locale_language
from clamor.storage.database import Database

complaints_app = typer.Typer(help="Complaint cases.", no_args_is_help=True)


def import_file(
    file: Path,
    channel: Annotated[
        str, typer.Option(help="hotline, online_platform or feedback_system.")
    ] = "hotline",
    mapping: Annotated[
        str | None,
        typer.Option(
            help="Columns for fields, e.g. 'text=投诉内容,phone=电话' (default: guessed)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, store none.")
    ] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", show_default=False)] = None,
) -> None:
    """Import complaints from a CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX file.

    Good rows go in one transaction; bad rows are listed (row number, field, what is wrong) and
    the exit code is 1 when there were any. Importing the same file twice never doubles a case.
    """
    from clamor.cli.main import _database, cli_actor
    from clamor.core.config import load_settings
    from clamor.intake.connectors import tabular
    from clamor.workflow.complaints import service

    try:
        data = file.read_bytes()
    except FileNotFoundError as exc:
        raise ValidationError(f"{file}: no such file", field="file") from exc
    chosen = tabular.parse_mapping(mapping) if mapping else None
    parsed = tabular.parse(data, file.name, channel, chosen, check=service.check)
    for error in parsed.errors:
        words = error.text(locale_language(os.environ))
        typer.echo(f"{file}: row {error.row}: {error.field}: {words}", err=True)
    mapped = ", ".join(f"{k}←{v}" for k, v in parsed.mapping.items())
    if dry_run:
        typer.echo(
            f"{file}: {len(parsed.good)} rows good, {len(parsed.errors)} with errors "
            f"(mapping {mapped}); nothing stored (dry run)"
        )
    else:
        db = _database(load_settings(data_dir))
        with db.write() as session:
            outcomes = service.submit(session, cli_actor(), [c for _, c in parsed.good])
        db.dispose()
        created = sum(o.created for o in outcomes)
        typer.echo(
            f"{file}: {created} complaints imported, {len(outcomes) - created} already there, "
            f"{len(parsed.errors)} rows with errors not imported"
        )
    if parsed.errors:
        raise typer.Exit(1)


@complaints_app.command("sweep-sla")
def sweep_sla(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", show_default=False)] = None,
) -> None:
    """Evaluate every open case's deadlines now; queue warnings and escalations (once each)."""
    from clamor.cli.main import _database
    from clamor.core import clock
    from clamor.core.config import load_settings
    from clamor.workflow.complaints.sla_service import sweep_sla_committing

    db = _database(load_settings(data_dir))
    result = sweep_sla_committing(db, clock.now())
    db.dispose()
    typer.echo(
        f"{result['evaluated']} open cases evaluated, "
        f"{result['notifications']} notifications queued"
    )


@complaints_app.command("reindex")
def reindex(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", show_default=False)] = None,
) -> None:
    """Rebuild the complaint search index from the stored cases (one transaction)."""
    from clamor.cli.main import _database
    from clamor.core.config import load_settings
    from clamor.workflow.complaints import search

    db = _database(load_settings(data_dir))
    with db.write() as session:
        rows = search.rebuild(session)
    db.dispose()
    typer.echo(f"search index rebuilt: {rows} postings")


def start_smtp(settings: Settings, application: Any, host: str, port: int | None) -> Any:
    """Start the complaint mail receiver beside the web app (`serve --smtp-port`)."""
    if port is None:
        return None
    from clamor.workflow.complaints.channels import start_smtp_receiver

    try:
        controller = start_smtp_receiver(application.state.clamor.db, settings, host, port)
    except OSError as exc:
        raise ConfigurationError(f"cannot receive mail on {host}:{port} ({exc})") from exc
    typer.echo(f"complaint mail received by SMTP at {host}:{port}")
    return controller


def load_demo(db: Database) -> None:
    """The demo's complaints (`clamor demo`); nothing new on a second run."""
    from clamor.demo.complaints import load_demo_complaints

    created = load_demo_complaints(db)
    if created:
        typer.echo(f"{created} demo complaints loaded, in every state of the lifecycle")


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
    app.add_typer(complaints_app, name="complaints")
