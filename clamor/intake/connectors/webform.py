"""The public complaint form: what a visitor may send, and how often.

No login. A hidden honeypot field (`website`) that people never see but form-filling bots do:
a submission that fills it gets the same friendly answer and is dropped. A per-address sliding
window limits submissions (`RateLimiter`); the limit is per process, which is what a laptop
installation has — several web processes each keep their own count.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from clamor.core import clock
from clamor.core.errors import RateLimited
from clamor.intake.connectors.base import AttachmentIn, ComplaintIn

HONEYPOT_FIELD = "website"
MAX_FORM_BYTES = 30_000_000


class RateLimiter:
    """At most `limit` events per key within `window`; thread-safe."""

    def __init__(
        self,
        limit: int,
        window: timedelta = timedelta(hours=1),
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.limit = limit
        self.window = window
        self._now = now
        self._events: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one event for `key`, or raise RateLimited when the window is full."""
        now = self._now()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                retry = int((events[0] + self.window - now).total_seconds()) + 1
                raise RateLimited(
                    "too many complaints from your address; please try again later",
                    retry_after=retry,
                )
            events.append(now)


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
