"""Notifications that always arrive: a real SMTP server (aiosmtpd) and a real HTTP receiver on
loopback. With both down nothing is lost and every attempt is recorded; once they are back,
every message arrives exactly once. Plus the four webhook formats and their signatures, group
expansion, preferences and quiet hours."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from clamor.accounts import service as accounts
from clamor.core import clock
from clamor.core.principal import SYSTEM
from clamor.notify import deliver
from clamor.notify.channels import (
    Message,
    SmtpSender,
    WebhookSender,
    generic_signature,
    webhook_request,
)
from clamor.notify.models import Outbox
from clamor.notify.tables import Delivery, DeliveryAttempt, Preference, WebhookEndpoint
from clamor.org import service as org
from clamor.storage.database import Database

START = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SECRET = "hook-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


class Receiver:
    """An HTTP server that records what it gets and answers as the bot platforms do."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, dict(self.headers), body))
                answer = b'{"code": 0}' if self.path.startswith("/feishu") else b'{"errcode": 0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def now() -> Iterator[list[datetime]]:
    moment = [START]
    clock.freeze(START)
    yield moment
    clock.freeze(None)


def _advance(now: list[datetime], delta: timedelta) -> None:
    now[0] += delta
    clock.freeze(now[0])


def _people_with_email(db: Database) -> None:
    with db.write() as session:
        for key, address, username in (
            ("gm", "gm@example.cn", "gm"),
            ("marketing_manager", "mm@example.cn", None),
        ):
            org.update_person(
                session, SYSTEM, key, name=key, email=address, phone=None, username=username
            )


def _outbox(db: Database, *rows: tuple[str, str, str]) -> None:
    with db.write() as session:
        for recipient, subject, key in rows:
            session.add(
                Outbox(
                    channel="in_app",
                    recipient=recipient,
                    subject=subject,
                    body="请领导小组介入。",
                    dedup_key=key,
                    created_at=START,
                    state="pending",
                )
            )


def _hooks(db: Database, base: str) -> None:
    with db.write() as session:
        for kind in ("generic", "dingtalk", "wecom", "feishu"):
            session.add(
                WebhookEndpoint(
                    name=kind,
                    kind=kind,
                    url=f"{base}/{kind}",
                    secret=SECRET,
                    groups=["leadership"],
                    active=True,
                    created_at=START,
                )
            )


def test_servers_down_nothing_lost_back_up_each_arrives_exactly_once(
    db: Database, seeded, http, now
) -> None:
    smtp_port, http_port = free_port(), free_port()
    _people_with_email(db)
    _hooks(db, f"http://127.0.0.1:{http_port}")
    _outbox(
        db,
        ("group:leadership", "II 级事件 #1：App 泄露手机号", "incident:1:leadership"),
        ("group:leadership:leader", "任务超时：联系客户", "task:9:overdue"),
    )
    senders = deliver.Senders(
        smtp=SmtpSender("127.0.0.1", smtp_port, "clamor@example.cn", timeout=2),
        webhooks=WebhookSender(http),
    )

    # Both down: every delivery is tried, fails, is recorded, and waits.
    first = deliver.run_due(db, senders)
    # group:leadership → gm, marketing manager + 4 group bots; its leader → gm + 4 group bots
    assert first.planned == 11 and first.delivered == 0 and first.failed == 11
    with db.read() as session:
        deliveries = session.scalars(select(Delivery)).all()
        assert {d.state for d in deliveries} == {"pending"}
        assert all(d.attempts == 1 and d.last_error for d in deliveries)
        assert all(d.next_attempt_at == START + timedelta(seconds=30) for d in deliveries)
        assert session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 11
    # Not due yet: nothing tried.
    assert deliver.run_due(db, senders).failed == 0
    _advance(now, timedelta(seconds=30))
    assert deliver.run_due(db, senders).failed == 11  # still down: second attempt, 1 min later

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    receiver = Receiver(http_port)
    try:
        _advance(now, timedelta(minutes=1))
        back = deliver.run_due(db, senders)
        assert (back.delivered, back.failed) == (11, 0)
        _advance(now, timedelta(hours=2))
        again = deliver.run_due(db, senders)
        assert (again.planned, again.delivered, again.failed) == (0, 0, 0)
    finally:
        smtp.stop()
        receiver.stop()

    recipients = sorted(r for rcpts, _ in mailbox.messages for r in rcpts)
    assert recipients == ["gm@example.cn", "gm@example.cn", "mm@example.cn"]
    mail_keys = [m["X-Clamor-Delivery"] for _, m in mailbox.messages]
    assert len(mail_keys) == len(set(mail_keys)) == 3
    subjects = {str(make_header(decode_header(m["Subject"]))) for _, m in mailbox.messages}
    assert "II 级事件 #1：App 泄露手机号" in subjects
    paths = sorted(urlparse(path).path for path, _, _ in receiver.requests)
    assert paths == sorted(["/dingtalk", "/feishu", "/generic", "/wecom"] * 2)
    hook_keys = [headers["X-Clamor-Delivery"] for _, headers, _ in receiver.requests]
    assert len(hook_keys) == len(set(hook_keys)) == 8
    generic = [(h, b) for p, h, b in receiver.requests if p == "/generic"]
    assert all(
        h["X-Clamor-Signature"] == generic_signature(SECRET, h["X-Clamor-Timestamp"], b)
        for h, b in generic
    )
    with db.read() as session:
        assert {d.state for d in session.scalars(select(Delivery))} == {"delivered"}
        attempts = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
        assert len(attempts) == 33 and sum(a.ok for a in attempts) == 11
        assert {row.state for row in session.scalars(select(Outbox))} == {"planned"}


def test_webhook_formats_and_signatures() -> None:
    message = Message("clamor-5", "II 级事件", "请介入", "2026-03-09T02:00:00+00:00")
    generic = webhook_request("generic", "http://h/x", SECRET, message, 1_773_021_600.0)
    headers = generic.headers
    assert headers["X-Clamor-Signature"] == generic_signature(
        SECRET, headers["X-Clamor-Timestamp"], generic.content
    )
    assert json.loads(generic.content)["subject"] == "II 级事件"

    ding = webhook_request("dingtalk", "http://h/robot?access_token=t", SECRET, message, 1.5)
    query = parse_qs(urlparse(ding.url).query)
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"1500\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["timestamp"] == ["1500"] and query["sign"] == [expected]
    assert json.loads(ding.content)["msgtype"] == "markdown"

    wecom = json.loads(webhook_request("wecom", "http://h", None, message, 0).content)
    assert wecom["markdown"]["content"].startswith("**II 级事件**")

    feishu = json.loads(webhook_request("feishu", "http://h", SECRET, message, 100.0).content)
    assert feishu["timestamp"] == "100" and feishu["msg_type"] == "text"
    assert (
        feishu["sign"]
        == base64.b64encode(
            hmac.new(f"100\n{SECRET}".encode(), b"", hashlib.sha256).digest()
        ).decode()
    )


def test_a_refusing_bot_is_retried_and_the_answer_recorded(db: Database, seeded, http, now):
    port = free_port()
    with db.write() as session:
        session.add(
            WebhookEndpoint(
                name="bad",
                kind="dingtalk",
                url=f"http://127.0.0.1:{port}/refuse",
                secret=None,
                groups=["*"],
                active=True,
                created_at=START,
            )
        )
    _outbox(db, ("group:complaint_handling", "事件上报", "incident:2:reported"))

    class Refusing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            answer = b'{"errcode": 310000, "errmsg": "sign not match"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = deliver.run_due(db, deliver.Senders(None, WebhookSender(http)))
    finally:
        server.shutdown()
        server.server_close()
    assert result.failed == 1
    with db.read() as session:
        (delivery,) = session.scalars(select(Delivery)).all()
        assert delivery.state == "pending" and "sign not match" in delivery.last_error


def test_quiet_hours_and_email_off(db: Database, seeded, now) -> None:
    _people_with_email(db)
    with db.write() as session:
        gm = accounts.get_user(session, "gm")
        session.add(Preference(user_id=gm.id, email=True, quiet_start="22:00", quiet_end="07:30"))
    _advance(now, timedelta(hours=13))  # 23:00 in Shanghai
    _outbox(db, ("group:leadership", "夜间通知", "night:1"))
    with db.write() as session:
        assert deliver.plan(session) == 2
        rows = {d.destination: d.next_attempt_at for d in session.scalars(select(Delivery))}
    # gm waits until 07:30 local (23:30 UTC); the marketing manager gets it now
    assert rows["gm@example.cn"] == datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    assert rows["mm@example.cn"] == now[0]
    with db.write() as session:
        pref = session.scalar(select(Preference))
        pref.email = False
    _outbox(db, ("group:leadership", "第二条", "night:2"))
    with db.write() as session:
        assert deliver.plan(session) == 1  # gm has e-mail switched off


def test_backoff_grows_to_an_hour() -> None:
    waits = [deliver.backoff(n) for n in (1, 2, 3, 8, 20)]
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert waits[3:] == [timedelta(hours=1), timedelta(hours=1)]
