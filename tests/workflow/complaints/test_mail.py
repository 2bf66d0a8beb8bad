"""E-mail over real SMTP: smtplib → the aiosmtpd receiver → a complaint, and the
acknowledgement with its tracking code through a relay (a second aiosmtpd on loopback)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from sqlalchemy import func, select

from clamor.core.config import Settings
from clamor.notify.models import Outbox
from clamor.storage.database import Database
from clamor.workflow.complaints.channels import start_smtp_receiver
from clamor.workflow.complaints.models import Attachment, Communication, ComplaintCase
from tests.browser.conftest import free_port


class Relay:
    """The company's SMTP relay, as the acknowledgements see it: it keeps what it is sent."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[Relay, int]]:
    from aiosmtpd.controller import Controller

    handler = Relay()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def receiver(settings: Settings, db: Database, relay) -> Iterator[int]:
    _, relay_port = relay
    configured = settings.model_copy(
        update={
            "smtp_relay_host": "127.0.0.1",
            "smtp_relay_port": relay_port,
            "smtp_from": "service@example.com",
        }
    )
    port = free_port()
    controller = start_smtp_receiver(db, configured, "127.0.0.1", port)
    yield port
    controller.stop()


def send(port: int, message: EmailMessage | bytes, sender: str = "li@example.com") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        if isinstance(message, bytes):
            smtp.sendmail(sender, ["complaints@example.com"], message)
        else:
            smtp.send_message(message)


def mail(subject: str, body: str, message_id: str = "<m1@example.com>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "李雷 <li@example.com>"
    message["To"] = "complaints@example.com"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return message


def stored(db: Database) -> list[ComplaintCase]:
    with db.read() as session:
        return list(session.scalars(select(ComplaintCase)))


def test_a_mail_becomes_a_complaint_and_is_acknowledged(
    db: Database, receiver: int, relay, seeded
) -> None:
    handler, _ = relay
    message = mail("退款三周未到账", "订单 20260301 的退款三周了还没到账，请尽快处理。")
    message.add_attachment(
        b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="收据.pdf"
    )
    send(receiver, message)
    (case,) = stored(db)
    assert case.channel == "email" and case.subject == "退款三周未到账"
    assert case.complainant.email == "li@example.com" and case.complainant.name == "李雷"
    with db.read() as session:
        assert session.scalar(select(Attachment.filename)) == "收据.pdf"
        assert session.scalar(select(Outbox.state)) == "sent"
    (ack,) = handler.messages
    assert ack["To"] == "li@example.com" and case.tracking_code in ack["Subject"]
    assert case.tracking_code in ack.get_content()


def test_the_same_message_twice_is_one_complaint(
    db: Database, receiver: int, relay, seeded
) -> None:
    handler, _ = relay
    send(receiver, mail("噪音", "楼下施工噪音"))
    send(receiver, mail("噪音", "楼下施工噪音"))
    assert len(stored(db)) == 1 and len(handler.messages) == 1


def test_html_and_a_gbk_subject(db: Database, receiver: int, seeded) -> None:
    message = EmailMessage()
    message["From"] = "wang@example.com"
    message["To"] = "complaints@example.com"
    message["Subject"] = "投诉：快递员态度差"
    message["Message-ID"] = "<html@example.com>"
    message.set_content(
        "<p>快递员<b>态度</b>很差</p><p>还摔了包裹</p>", subtype="html", charset="gbk"
    )
    send(receiver, message)
    (case,) = stored(db)
    with db.read() as session:
        from clamor.intake.models import Item

        text = session.get(Item, case.item_id).text
    assert text == "快递员态度很差\n还摔了包裹"


def test_an_unknown_charset_is_kept_not_lost(db: Database, receiver: int, seeded) -> None:
    raw = (
        b"From: a@example.com\r\nTo: c@example.com\r\nSubject: complaint\r\n"
        b"Message-ID: <odd@example.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\n"
        b"The charger melted \xe2\x80\x94 refund!\r\n"
    )
    send(receiver, raw, sender="a@example.com")
    (case,) = stored(db)
    with db.read() as session:
        files = list(session.scalars(select(Attachment.filename)))
        notes = list(
            session.scalars(select(Communication.body).where(Communication.kind == "note"))
        )
        from clamor.intake.models import Item

        item = session.get(Item, case.item_id)
    assert "The charger melted" in item.text and item.meta["problems"]
    assert files == ["original.eml"] and "x-klingon" in notes[0]


def test_an_empty_mail_is_refused_permanently(db: Database, receiver: int, seeded) -> None:
    raw = b"From: a@example.com\r\nTo: c@example.com\r\nMessage-ID: <e@x>\r\n\r\n"
    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(receiver, raw, sender="a@example.com")
    assert caught.value.smtp_code == 550
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ComplaintCase)) == 0


def test_a_relay_that_is_down_leaves_the_acknowledgement_pending(
    settings: Settings, db: Database, seeded
) -> None:
    configured = settings.model_copy(
        update={"smtp_relay_host": "127.0.0.1", "smtp_relay_port": free_port()}
    )
    port = free_port()
    controller = start_smtp_receiver(db, configured, "127.0.0.1", port)
    try:
        send(port, mail("退款", "退款一直没到账", "<down@example.com>"))
    finally:
        controller.stop()
    (case,) = stored(db)
    with db.read() as session:
        (row,) = session.scalars(select(Outbox)).all()
    assert row.state == "pending" and case.tracking_code in row.body
