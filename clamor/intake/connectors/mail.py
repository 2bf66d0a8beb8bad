"""E-mail in: a message as received by SMTP becomes a complaint.

Subject, plain-text body (or the HTML body with its tags removed), sender and attachments are
read in whatever charset each part declares. A part in a charset Python does not know is decoded
with replacement characters, the original message is kept as an attachment
(`original.eml`), and `meta["problems"]` says what happened — the complaint is never lost.
Attachments of a type or size the complaint form would refuse are left out and listed in
`meta["dropped_attachments"]`.

`ComplaintMailHandler` is the aiosmtpd handler: it hands each message to a `deliver` function (in
a worker thread, since delivery writes to the database) and answers the sending server with the
tracking code, or a permanent or temporary failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from typing import Any

from clamor.core.errors import ClamorError, ValidationError
from clamor.intake.connectors.base import (
    ALLOWED_ATTACHMENT_TYPES,
    MAX_ATTACHMENTS,
    AttachmentIn,
    ComplaintIn,
)

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 25_000_000
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/tr)[^>]*>", re.I)
_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.I | re.S)


def html_to_text(markup: str) -> str:
    text = _SCRIPT.sub("", markup)
    text = _BLOCK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _part_text(part: EmailMessage, problems: list[str]) -> str:
    try:
        content = part.get_content()
    except LookupError:
        charset = part.get_content_charset() or "?"
        problems.append(f"unknown charset {charset!r}: decoded with replacement characters")
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else ""


def _body(message: EmailMessage, problems: list[str]) -> str:
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        return _part_text(plain, problems).strip()  # type: ignore[arg-type]
    rich = message.get_body(preferencelist=("html",))
    if rich is not None:
        return html_to_text(_part_text(rich, problems))  # type: ignore[arg-type]
    return ""


def _attachments(message: EmailMessage, max_bytes: int, dropped: list[str]) -> list[AttachmentIn]:
    kept: list[AttachmentIn] = []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        kind = part.get_content_type()
        data = part.get_payload(decode=True) or b""
        if kind not in ALLOWED_ATTACHMENT_TYPES or len(data) > max_bytes:
            dropped.append(f"{name} ({kind}, {len(data)} bytes)")
        elif len(kept) >= MAX_ATTACHMENTS:
            dropped.append(f"{name} (more than {MAX_ATTACHMENTS} attachments)")
        else:
            kept.append(AttachmentIn(name, kind, data))
    return kept


def parse_mail(data: bytes, max_attachment_bytes: int = 5_000_000) -> ComplaintIn:
    """One received message as a complaint (channel `email`)."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValidationError.keyed("error.intake.mail_too_large", field="message")
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    problems: list[str] = []
    dropped: list[str] = []
    subject = str(message.get("subject", "") or "").strip()
    name, address = parseaddr(str(message.get("from", "") or ""))
    body = _body(message, problems)
    attachments = _attachments(message, max_attachment_bytes, dropped)
    if problems:
        attachments.append(AttachmentIn("original.eml", "message/rfc822", data))
    message_id = str(message.get("message-id", "") or "").strip()
    external_id = message_id[:200] or "sha256:" + hashlib.sha256(data).hexdigest()
    meta: dict[str, Any] = {}
    if problems:
        meta["problems"] = problems
    if dropped:
        meta["dropped_attachments"] = dropped
    if not body and not subject:
        raise ValidationError.keyed("error.intake.mail_empty", field="message")
    return ComplaintIn(
        channel="email",
        external_id=external_id,
        text=body or subject,
        title=subject or None,
        name=name or None,
        email=address or None,
        attachments=tuple(attachments),
        meta=meta,
    )


class ComplaintMailHandler:
    """aiosmtpd handler: `deliver(raw message)` stores it and returns the tracking code."""

    def __init__(self, deliver: Callable[[bytes], str]) -> None:
        self.deliver = deliver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", errors="surrogateescape")
        try:
            code = await asyncio.get_running_loop().run_in_executor(None, self.deliver, data)
        except ClamorError as exc:
            return f"550 5.6.0 {exc.message}"
        except Exception:
            log.exception("could not store a complaint mail")
            return "451 4.3.0 temporary failure, please try again later"
        return f"250 2.0.0 complaint received, tracking code {code}"
