"""Channels that need more than a request handler: acknowledgements by e-mail (through the
notification outbox and the configured SMTP relay) and the built-in SMTP receiver."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clamor.core.config import Settings
from clamor.core.principal import Principal
from clamor.intake.connectors.mail import ComplaintMailHandler, parse_mail
from clamor.notify.models import Outbox
from clamor.storage.database import Database
from clamor.workflow.complaints import reply_templates, service
from clamor.workflow.complaints.models import Communication, ComplaintCase
from clamor.workflow.complaints.templates import TemplateKind, render

log = logging.getLogger(__name__)
PENDING, SENDING, SENT = "pending", "sending", "sent"


def channel_actor(channel: str) -> Principal:
    """The actor recorded for what a channel delivers by itself."""
    return Principal(
        user_id=None,
        username=f"intake:{channel}",
        display_name=channel,
        permissions=frozenset({"*"}),
    )


def _local_date(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    from clamor.workflow.complaints.sla_service import CALENDAR

    return moment.astimezone(CALENDAR.zone).strftime("%Y-%m-%d %H:%M")


def queue_acknowledgement(
    session: Session, settings: Settings, case: ComplaintCase
) -> Outbox | None:
    """An acknowledgement with the tracking code for a complainant who gave an e-mail address,
    in the outbox (once per case) and in the case's communications log."""
    person = case.complainant
    if person is None or not person.email:
        return None
    key = f"ack:complaint:{case.id}"
    if session.scalar(select(Outbox.id).where(Outbox.dedup_key == key)):
        return None
    template = reply_templates.template(session, TemplateKind.ACKNOWLEDGEMENT, case.language)
    message = render(
        template,
        {
            "company_name": settings.company_name,
            "tracking_code": case.tracking_code,
            "name": person.name or ("您" if case.language != "en" else "customer"),
            "status_url": settings.public_url.rstrip("/") + "/complain/status",
            "due_date": _local_date(case.resolution_due_at),
        },
    )
    row = Outbox(
        channel="email",
        recipient=person.email,
        subject=message.subject,
        body=message.body,
        dedup_key=key,
        created_at=case.updated_at,
        state="pending",
    )
    session.add(row)
    session.add(
        Communication(
            case_id=case.id,
            at=case.updated_at,
            direction="out",
            kind="email",
            author="Clamor",
            subject=message.subject,
            body=message.body,
        )
    )
    session.flush()
    return row


def _claim(db: Database, ids: list[int]) -> list[int]:
    """Take the pending rows for sending now: a conditional UPDATE per row, so that the outbox
    deliverer (which plans only `pending` rows) and this sender never both send one."""
    claimed = []
    with db.write() as session:
        for row_id in ids:
            result = session.execute(
                update(Outbox)
                .where(Outbox.id == row_id, Outbox.state == PENDING)
                .values(state=SENDING)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(row_id)
    return claimed


def _settle(db: Database, ids: list[int], state: str) -> None:
    if ids:
        with db.write() as session:
            session.execute(update(Outbox).where(Outbox.id.in_(ids)).values(state=state))


def send_outbox(db: Database, settings: Settings, ids: list[int]) -> int:
    """Send the given pending e-mail rows through the relay now; a row that cannot be sent goes
    back to `pending` for the outbox deliverer to retry. Returns how many were sent."""
    if not settings.smtp_relay_host or not ids:
        return 0
    claimed = _claim(db, ids)
    with db.read() as session:
        rows = list(session.scalars(select(Outbox).where(Outbox.id.in_(claimed))))
    sent: list[int] = []
    try:
        with smtplib.SMTP(settings.smtp_relay_host, settings.smtp_relay_port, timeout=10) as smtp:
            for row in rows:
                smtp.send_message(_email(settings, row))
                sent.append(row.id)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP relay %s failed: %s", settings.smtp_relay_host, exc)
    _settle(db, sent, SENT)
    _settle(db, [i for i in claimed if i not in sent], PENDING)
    return len(sent)


def _email(settings: Settings, row: Outbox) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message.set_content(row.body)
    return message


def receive_mail(db: Database, settings: Settings, data: bytes) -> str:
    """Store one received message as a complaint (once per Message-ID), acknowledge it, and
    return its tracking code."""
    complaint = parse_mail(data, settings.complaint_attachment_max_bytes)
    actor = channel_actor("email")
    with db.write() as session:
        (result,) = service.submit(session, actor, [complaint])
        case = result.case
        problems = complaint.meta.get("problems")
        if result.created and problems:
            service.add_communication(
                session,
                actor,
                case.id,
                kind="note",
                direction="internal",
                body="; ".join(problems) + " — the original message is attached (original.eml).",
            )
        ack = queue_acknowledgement(session, settings, case) if result.created else None
        code = case.tracking_code
    if ack is not None:
        send_outbox(db, settings, [ack.id])
    return code


def start_smtp_receiver(db: Database, settings: Settings, host: str, port: int) -> Any:
    """Start the SMTP receiver (aiosmtpd, in its own thread); returns the controller (`.stop()`)."""
    from aiosmtpd.controller import Controller

    handler = ComplaintMailHandler(lambda data: receive_mail(db, settings, data))
    controller = Controller(
        handler,
        hostname=host,
        port=port,
        data_size_limit=30_000_000,
        decode_data=False,
    )
    controller.start()
    return controller
