"""The shape every complaint channel produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Channels of the plan (§5): hotline, online customer-service platform, customer feedback
# system, e-mail; plus the public web form and the REST API.
CHANNELS = ("webform", "api", "hotline", "online_platform", "feedback_system", "email")
ALLOWED_ATTACHMENT_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "audio/mpeg",
        "audio/wav",
        "video/mp4",
        "message/rfc822",
    }
)
MAX_ATTACHMENTS = 5


@dataclass(frozen=True)
class AttachmentIn:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ComplaintIn:
    channel: str
    external_id: str
    text: str
    title: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    language: str | None = None
    received_at: datetime | None = None  # when the complainant made it (a call), if earlier
    attachments: tuple[AttachmentIn, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
