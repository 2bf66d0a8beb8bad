"""Normalised contact keys for repeat-complaint detection.

Two complaints come from the same complainant when their normalised phone numbers or e-mail
addresses match. The keys are compared (and can be stored as a keyed hash beside the encrypted
contact), so they must be stable: `+86 138-1234-5678`, `0086 13812345678` and `13812345678` are
one key.

E-mail addresses are lower-cased but **not** merged by provider rules (Gmail ignores dots and
anything after `+`, most providers do not). A merged key links the complaints of two different
people, and a handler who sees one complainant's history on another's case has been shown
personal data they had no business seeing — a missed link only costs a repeat flag, which the
near-duplicate text check and the phone number usually supply anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from clamor.core.errors import ValidationError

_PHONE_NOISE = re.compile(r"[\s\-().·/]")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_CN_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def normalize_phone(raw: str, default_country: str = "86") -> str:
    """E.164 form (`+8613812345678`) of a phone number as people write it.

    Mainland numbers without a country code get +86: mobiles (11 digits starting 1) as they are,
    landlines with the trunk 0 dropped (010-12345678 → +861012345678).
    """
    compact = _PHONE_NOISE.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        digits = compact[1:]
        international = True
    else:
        digits = compact
        international = False
    if not digits.isdigit() or not digits.isascii():
        raise ValidationError.keyed("error.complaints.not_a_phone", field="phone", raw=raw)
    if not international:
        if _CN_MOBILE.fullmatch(digits):
            digits = default_country + digits
        elif _CN_LANDLINE.fullmatch(digits):
            digits = default_country + digits[1:]
        elif digits.startswith("86") and _CN_MOBILE.fullmatch(digits[2:]):
            pass  # 8613812345678: the country code without the plus
        else:
            raise ValidationError.keyed(
                "error.complaints.phone_country_code", field="phone", raw=raw
            )
    if not 7 <= len(digits) <= 15:
        raise ValidationError.keyed("error.complaints.phone_length", field="phone", raw=raw)
    return "+" + digits


def normalize_email(raw: str) -> str:
    """Trimmed and lower-cased; dots and +tags are kept (see the module docstring)."""
    address = raw.strip().lower()
    if address.startswith("mailto:"):
        address = address[len("mailto:") :]
    if not _EMAIL.fullmatch(address):
        raise ValidationError.keyed("error.complaints.not_an_email", field="email", raw=raw)
    return address


def repeat_keys(phone: str | None = None, email: str | None = None) -> frozenset[str]:
    """The keys two complaints must share to count as from the same complainant."""
    keys: set[str] = set()
    if phone and phone.strip():
        keys.add("phone:" + normalize_phone(phone))
    if email and email.strip():
        keys.add("email:" + normalize_email(email))
    return frozenset(keys)


@dataclass(frozen=True)
class PriorComplaint:
    case_id: str
    received_at: datetime
    keys: frozenset[str]


def repeats_of(
    keys: frozenset[str],
    received_at: datetime,
    earlier: list[PriorComplaint],
    window: timedelta = timedelta(days=30),
) -> tuple[str, ...]:
    """Ids of earlier complaints within `window` before `received_at` that share a key."""
    return tuple(
        prior.case_id
        for prior in sorted(earlier, key=lambda p: p.received_at)
        if prior.keys & keys and received_at - window <= prior.received_at <= received_at
    )
