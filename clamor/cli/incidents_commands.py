"""`clamor incidents …` (overdue tasks, playbooks, metrics, review report export) and
`clamor notify …` (deliver the outbox, show attempts, add webhooks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clamor.core.errors import ValidationError

incidents_app = typer.Typer(help="Incidents (plan §4).", no_args_is_help=True)
notify_app = typer.Typer(help="Notification delivery (e-mail, webhooks).", no_args_is_help=True)
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", show_default=False)]


def _db(data_dir: Path | None):
    from clamor.cli.main import _database
    from clamor.core.config import load_settings

    settings = load_settings(data_dir)
    return settings, _database(settings)


@incidents_app.command("escalate-overdue")
def escalate_overdue(data_dir: DataDirOption = None) -> None:
    """Remind receivers of tasks due soon and tell each overdue task's group leader (once per
    task, through the outbox)."""
    from clamor.workflow.incidents import service

    _, db = _db(data_dir)
    with db.write() as session:
        reminded = service.remind_due_soon(session)
        count = service.escalate_overdue(session)
    db.dispose()
    typer.echo(f"{reminded} reminders queued, {count} overdue tasks escalated")


@incidents_app.command("metrics")
def metrics(
    drills: Annotated[bool, typer.Option("--drills", help="Drills instead of real ones.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Mean hours to report, assess, instruct, first statement, resolve and close."""
    from clamor.workflow.incidents import service

    _, db = _db(data_dir)
    with db.read() as session:
        rows = service.metrics(session, drills=drills)
    db.dispose()
    header = ["level", "category", "incidents", *service.METRIC_STEPS]
    typer.echo("\t".join(header))
    for row in rows:
        hours = [
            "—" if row.hours[s] is None else f"{row.hours[s]:.1f}" for s in service.METRIC_STEPS
        ]
        typer.echo("\t".join([row.level, row.category, str(row.incidents), *hours]))


@incidents_app.command("report")
def report(
    incident_id: int,
    out: Path,
    language: Annotated[str, typer.Option(help="zh-CN or en.")] = "zh-CN",
    data_dir: DataDirOption = None,
) -> None:
    """Write the review report of an incident as .pdf, .docx or .html (by OUT's suffix)."""
    from clamor.reports import review

    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".docx", ".html"):
        raise ValidationError("OUT must end in .pdf, .docx or .html", field="out")
    _, db = _db(data_dir)
    with db.read() as session:
        doc = review.build(session, incident_id, language)
    db.dispose()
    if suffix == ".html":
        out.write_text(review.to_html(doc), encoding="utf-8")
    else:
        out.write_bytes(review.to_pdf(doc) if suffix == ".pdf" else review.to_docx(doc))
    typer.echo(f"{out}: review report of incident {incident_id}")


@incidents_app.command("playbook")
def save_playbook(file: Path, data_dir: DataDirOption = None) -> None:
    """Create or replace a playbook from a YAML/JSON file (checked before anything is stored)."""
    import yaml

    from clamor.cli.main import cli_actor
    from clamor.workflow.incidents import service

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{file}: no such file", field="file") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{file}: a playbook is a mapping with name and tasks", field="file")
    _, db = _db(data_dir)
    with db.write() as session:
        row = service.save_playbook(session, cli_actor(), data)
        name = row.name
    db.dispose()
    typer.echo(f"playbook {name!r} saved")


@incidents_app.command("drill")
def drill(scenario: Path, data_dir: DataDirOption = None) -> None:
    """Open a drill incident from a scenario file (kept apart from real incidents)."""
    import yaml

    from clamor.cli.main import cli_actor
    from clamor.workflow.incidents.drills import open_drill

    try:
        data = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{scenario}: no such file", field="file") from exc
    _, db = _db(data_dir)
    with db.write() as session:
        incident = open_drill(session, cli_actor(), data)
        incident_id, state = incident.id, incident.state
    db.dispose()
    typer.echo(f"drill incident #{incident_id} opened ({state}): /incidents/{incident_id}")


@notify_app.command("deliver")
def deliver_now(data_dir: DataDirOption = None) -> None:
    """Plan pending outbox messages and try every due delivery once (retries back off)."""
    import httpx

    from clamor.notify import deliver

    settings, db = _db(data_dir)
    with httpx.Client(timeout=10) as client:
        result = deliver.run_due(db, deliver.senders_from_settings(settings, client))
    db.dispose()
    typer.echo(
        f"{result.planned} deliveries planned, {result.delivered} delivered, "
        f"{result.failed} failed (will be retried), {len(result.gave_up)} given up"
    )


@notify_app.command("briefing")
def briefing(
    period: Annotated[str, typer.Option(help="daily or weekly.")] = "daily",
    data_dir: DataDirOption = None,
) -> None:
    """Publish the briefing for the last full day (or week) to who opted in; once per period
    (the worker's scheduler does this by itself at CLAMOR_BRIEFING_HOUR)."""
    from clamor.core import clock
    from clamor.reports import briefing as briefings

    if period not in briefings.PERIODS:
        raise ValidationError("period must be daily or weekly", field="period")
    _, db = _db(data_dir)
    with db.write() as session:
        queued = briefings.queue(session, period, clock.now())
    db.dispose()
    typer.echo(
        f"{queued.subject()} queued" if queued else f"the {period} briefing was queued before"
    )


@notify_app.command("attempts")
def attempts(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    data_dir: DataDirOption = None,
) -> None:
    """Every delivery attempt: when, where, and what went wrong."""
    from sqlalchemy import select

    from clamor.notify.tables import Delivery, DeliveryAttempt

    _, db = _db(data_dir)
    with db.read() as session:
        rows = session.execute(
            select(DeliveryAttempt, Delivery)
            .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
            .order_by(DeliveryAttempt.id.desc())
            .limit(limit)
        ).all()
        for attempt, delivery in rows:
            verdict = "ok" if attempt.ok else f"failed: {attempt.error}"
            typer.echo(
                f"{attempt.at.isoformat()}\toutbox {delivery.outbox_id}\t{delivery.destination}"
                f"\t{verdict}"
            )
    db.dispose()


@notify_app.command("add-webhook")
def add_webhook(
    name: str,
    url: str,
    kind: Annotated[str, typer.Option(help="generic, dingtalk, wecom or feishu.")] = "generic",
    secret: Annotated[str | None, typer.Option(help="Signing secret.")] = None,
    groups: Annotated[str, typer.Option(help="Group keys, comma-separated; * for all.")] = "*",
    data_dir: DataDirOption = None,
) -> None:
    """Subscribe a group chat bot or an integration to groups' notifications."""
    from sqlalchemy import select

    from clamor.core import clock
    from clamor.core.errors import ConflictError
    from clamor.notify.channels import WEBHOOK_KINDS
    from clamor.notify.tables import WebhookEndpoint

    if kind not in WEBHOOK_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(WEBHOOK_KINDS)}", field="kind")
    if not url.startswith(("http://", "https://")):
        raise ValidationError("url must start with http:// or https://", field="url")
    keys = [g.strip() for g in groups.split(",") if g.strip()]
    _, db = _db(data_dir)
    with db.write() as session:
        if session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.name == name)):
            raise ConflictError(f"a webhook named {name!r} exists already")
        session.add(
            WebhookEndpoint(
                name=name,
                kind=kind,
                url=url,
                secret=secret,
                groups=keys,
                active=True,
                created_at=clock.now(),
            )
        )
    db.dispose()
    typer.echo(json.dumps({"webhook": name, "kind": kind, "groups": keys}, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")
    app.add_typer(notify_app, name="notify")
