"""The public complaint form: what a visitor may send, and how often.

No login. A hidden honeypot field (`website`) that people never see but form-filling bots do:
a submission that fills it gets the same friendly answer and is dropped. Submissions per address
are limited by a fixed-window counter in the database (`clamor.storage.ratelimit`), so several
web processes share one count.
"""

from __future__ import annotations

import uuid

from clamor.intake.connectors.base import AttachmentIn, ComplaintIn

HONEYPOT_FIELD = "website"
MAX_FORM_BYTES = 30_000_000


def submission_id(value: str) -> str:
    """The form's submission id if well-formed (32 hex digits), else a fresh one."""
    candidate = value.strip().lower()
    if len(candidate) == 32 and all(c in "0123456789abcdef" for c in candidate):
        return candidate
    return uuid.uuid4().hex


def is_bot(form_values: dict[str, str]) -> bool:
    return bool(form_values.get(HONEYPOT_FIELD, "").strip())


def complaint_from_form(
    values: dict[str, str], attachments: list[AttachmentIn], language: str
) -> ComplaintIn:
    """A form submission as a complaint. The form carries a random `submission_id` minted when
    it was shown, so sending the same form twice (a double click, a reload) is one complaint."""

    def field(name: str) -> str | None:
        value = values.get(name, "").strip()
        return value or None

    return ComplaintIn(
        channel="webform",
        external_id=f"form:{submission_id(values.get('submission_id', ''))}",
        text=values.get("text", "").strip(),
        title=field("title"),
        name=field("name"),
        phone=field("phone"),
        email=field("email"),
        language=language,
        attachments=tuple(attachments),
    )
