"""How one message leaves: e-mail over SMTP, or a webhook in one of four formats.

    generic   JSON {id, subject, body, created_at}; `X-Clamor-Timestamp` and
              `X-Clamor-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
    dingtalk  DingTalk group bot: markdown message; with a secret, `timestamp` and `sign`
              (base64 HMAC-SHA256 of "<ms>\\n<secret>") in the URL; answer {"errcode": 0}
    wecom     WeCom (企业微信) group bot: markdown message; answer {"errcode": 0}
    feishu    Feishu (飞书) group bot: text message; with a secret, `timestamp` and `sign`
              (base64 HMAC-SHA256 keyed by "<s>\\n<secret>" over nothing); answer {"code": 0}

Every send either returns or raises `DeliveryError` with one line saying what went wrong; the
caller records it and tries again later. `webhook_request` is pure, so the formats are tested
without a network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import quote_plus

import httpx

WEBHOOK_KINDS = ("generic", "dingtalk", "wecom", "feishu")
TIMEOUT_SECONDS = 10.0


class DeliveryError(Exception):
    """A send that did not go through; `str()` is one line for the attempt log."""


@dataclass(frozen=True)
class Message:
    key: str  # stable per delivery: receivers can drop repeats by it
    subject: str
    body: str
    created_at: str


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    headers: dict[str, str]
    content: bytes


def _hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def generic_signature(secret: str, timestamp: str, content: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + content, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def webhook_request(
    kind: str, url: str, secret: str | None, message: Message, now_seconds: float
) -> WebhookRequest:
    """The HTTP request a webhook of `kind` gets for `message` (pure)."""
    text = f"{message.subject}\n\n{message.body}"
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Clamor-Delivery": message.key}
    payload: dict[str, Any]
    if kind == "generic":
        payload = {
            "id": message.key,
            "subject": message.subject,
            "body": message.body,
            "created_at": message.created_at,
        }
        content = json.dumps(payload, ensure_ascii=False).encode()
        timestamp = str(int(now_seconds))
        headers["X-Clamor-Timestamp"] = timestamp
        if secret:
            headers["X-Clamor-Signature"] = generic_signature(secret, timestamp, content)
        return WebhookRequest(url, headers, content)
    if kind == "dingtalk":
        payload = {
            "msgtype": "markdown",
            "markdown": {
                "title": message.subject,
                "text": f"### {message.subject}\n\n{message.body}",
            },
        }
        if secret:
            millis = str(int(now_seconds * 1000))
            sign = _hmac_b64(secret.encode(), f"{millis}\n{secret}".encode())
            joiner = "&" if "?" in url else "?"
            url = f"{url}{joiner}timestamp={millis}&sign={quote_plus(sign)}"
    elif kind == "wecom":
        payload = {
            "msgtype": "markdown",
            "markdown": {"content": f"**{message.subject}**\n{message.body}"},
        }
    elif kind == "feishu":
        payload = {"msg_type": "text", "content": {"text": text}}
        if secret:
            seconds = str(int(now_seconds))
            payload = {
                "timestamp": seconds,
                "sign": _hmac_b64(f"{seconds}\n{secret}".encode(), b""),
                **payload,
            }
    else:
        raise DeliveryError(f"unknown webhook kind {kind!r}; use one of {', '.join(WEBHOOK_KINDS)}")
    return WebhookRequest(url, headers, json.dumps(payload, ensure_ascii=False).encode())


def check_answer(kind: str, response: httpx.Response) -> None:
    """Raise DeliveryError unless the receiver accepted the message."""
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
    if kind == "generic":
        return
    try:
        answer = response.json()
    except ValueError:
        raise DeliveryError(f"{kind} answered without JSON: {response.text[:200]}") from None
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code != 0:
        raise DeliveryError(f"{kind} refused the message: {json.dumps(answer)[:200]}")


@dataclass
class WebhookSender:
    client: httpx.Client

    def send(self, kind: str, url: str, secret: str | None, message: Message, now: float) -> None:
        request = webhook_request(kind, url, secret, message, now)
        try:
            response = self.client.post(
                request.url, content=request.content, headers=request.headers
            )
        except httpx.HTTPError as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from None
        check_answer(kind, response)


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    timeout: float = TIMEOUT_SECONDS

    def send(self, address: str, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = address
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(domain="clamor")
        mail["X-Clamor-Delivery"] = message.key
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except (TimeoutError, OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {error}") from None
