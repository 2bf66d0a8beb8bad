"""Personal data in text: Chinese mobile and landline numbers, 18-digit resident ID numbers
(checksum and birth date validated), bank cards (Luhn), e-mail addresses.

Precision matters more than recall here: a false hit masks an order number and hides what the
complaint is about. So every number must stand alone (no digit or letter glued to either side),
ID numbers must carry a real date and a valid check character, and an ungrouped run of digits
only counts as a bank card when it passes Luhn *and* starts like a card *and* the text speaks of
a card (卡/银行/card …) near it — order numbers of 16–19 digits pass Luhn one time in ten.
"""

from __future__ import annotations

import bisect
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from clamor.analysis.frozen import quick_init

MOBILE, LANDLINE, ID_NUMBER, BANK_CARD, EMAIL = (
    "mobile",
    "landline",
    "id_number",
    "bank_card",
    "email",
)

_SEP = r"[ \-\u2010-\u2015]?"
_MOBILE_RE = re.compile(
    rf"(?<![0-9A-Za-z+])(?:(?:\+|00)?86{_SEP})?(1[3-9][0-9]{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}})(?![0-9A-Za-z])"
)
_LANDLINE_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:\(0[1-9][0-9]{1,2}\)\s?|（0[1-9][0-9]{1,2}）|0[1-9][0-9]{1,2}[ \-])"
    r"[2-9][0-9]{2,3}[ \-]?[0-9]{4}(?:[-转#][0-9]{1,5})?(?![0-9A-Za-z])"
)
_ID_RE = re.compile(r"(?<![0-9A-Za-z])([1-8][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
_CARD_GROUPED_RE = re.compile(
    r"(?<![0-9A-Za-z])([3-6][0-9]{3}(?:[ \-][0-9]{4}){2,3}(?:[ \-][0-9]{1,3})?)(?![0-9A-Za-z])"
)
_CARD_PLAIN_RE = re.compile(r"(?<![0-9A-Za-z])([3-6][0-9]{14,18})(?![0-9A-Za-z])")
_CARD_CONTEXT_RE = re.compile(r"卡|银行|账号|帐号|账户|card|visa|mastercard|bank|account", re.I)
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9])"
)
# A number right after these words names an order, a waybill or an invoice, not a person.
_NOT_PERSONAL_RE = re.compile(
    r"(?:订单|单号|运单|快递|发票|编号|流水|order|invoice|tracking|ref|no\.?|#)\s*(?:号|号码)?\s*[:：]?\s*$",
    re.I,
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
CONTEXT_WINDOW = 20
# Every number pattern above needs four ASCII digits in a row (a card group, the last four of a
# phone number): without them only an e-mail address can be found.
_FOUR_DIGITS_RE = re.compile(r"[0-9]{4}")


@quick_init
@dataclass(frozen=True, slots=True)
class PiiSpan:
    kind: str
    start: int
    end: int
    text: str

    @property
    def masked(self) -> str:
        return mask(self.text, self.kind)

    def to_dict(self) -> dict[str, object]:
        # The raw value is left out on purpose: the dict goes to logs and APIs.
        return {"kind": self.kind, "start": self.start, "end": self.end, "masked": self.masked}


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit() or ch in "Xx")


def id_number_valid(value: str) -> bool:
    """An 18-character PRC resident ID: region digit, a real birth date, and the ISO 7064
    MOD 11-2 check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    if value[0] not in "12345678":
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def id_check_char(first17: str) -> str:
    """The check character that makes `first17` + it a valid ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask(value: str, kind: str) -> str:
    """Hide the middle of a value: 13812345678 → 138****5678; ID numbers keep region and the
    last four; cards the first and last four; e-mail the first letter and the domain."""
    if kind == EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = digits_only(value)
    if kind == MOBILE:
        core = digits[-11:]
        return f"{core[:3]}****{core[-4:]}"
    if kind == ID_NUMBER:
        return f"{digits[:6]}********{digits[-4:]}"
    if kind == BANK_CARD:
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if kind == LANDLINE:
        return f"{digits[:-4][:4]}****{digits[-4:]}" if len(digits) > 8 else "****" + digits[-4:]
    return "*" * len(value)


def find_pii(text: str) -> list[PiiSpan]:
    """All personal-data spans in `text`, sorted by position, none overlapping."""
    numbers = _FOUR_DIGITS_RE.search(text) is not None
    if "@" not in text and not numbers:
        return []  # fast path: most posts carry no number of four digits or more
    found: list[PiiSpan] = []
    if numbers:
        found += _find_id_numbers(text)
        found += _find_cards(text)
        found += _find_simple(text, _MOBILE_RE, MOBILE)
        found += _find_simple(text, _LANDLINE_RE, LANDLINE)
    if "@" in text and _may_hold_email(text):
        found += _find_simple(text, _EMAIL_RE, EMAIL)
    return _without_overlaps(found)


_EMAIL_LOCAL_CHARS = frozenset(string.ascii_letters + string.digits + "._%+-")


def _may_hold_email(text: str) -> bool:
    """Whether some "@" in `text` has a character of an address's local part right before it,
    as every e-mail address has. Tweets are full of "@handle" after a space: this skips the
    address regex (~2 µs on a tweet) for them."""
    at = text.find("@", 1)
    while at != -1:
        if text[at - 1] in _EMAIL_LOCAL_CHARS:
            return True
        at = text.find("@", at + 1)
    return False


def _find_simple(text: str, pattern: re.Pattern[str], kind: str) -> list[PiiSpan]:
    return [
        PiiSpan(kind, m.start(), m.end(), m.group(0))
        for m in pattern.finditer(text)
        if kind == EMAIL or not _names_a_document(text, m.start())
    ]


def _names_a_document(text: str, start: int) -> bool:
    """True when the words just before `start` say the number is an order/waybill number."""
    return _NOT_PERSONAL_RE.search(text[max(0, start - 12) : start]) is not None


def _find_id_numbers(text: str) -> list[PiiSpan]:
    return [
        PiiSpan(ID_NUMBER, m.start(1), m.end(1), m.group(1))
        for m in _ID_RE.finditer(text)
        if id_number_valid(m.group(1)) and not _names_a_document(text, m.start(1))
    ]


def _find_cards(text: str) -> list[PiiSpan]:
    spans = [
        PiiSpan(BANK_CARD, m.start(1), m.end(1), m.group(1))
        for m in _CARD_GROUPED_RE.finditer(text)
        if luhn_valid(digits_only(m.group(1))) and not _names_a_document(text, m.start(1))
    ]
    for m in _CARD_PLAIN_RE.finditer(text):
        number = m.group(1)
        if (
            luhn_valid(number)
            and _card_context(text, m.start(1), m.end(1))
            and not _names_a_document(text, m.start(1))
        ):
            spans.append(PiiSpan(BANK_CARD, m.start(1), m.end(1), number))
    return spans


def _card_context(text: str, start: int, end: int) -> bool:
    window = text[max(0, start - CONTEXT_WINDOW) : end + CONTEXT_WINDOW]
    return _CARD_CONTEXT_RE.search(window) is not None


def _without_overlaps(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Keep the earliest-listed (most specific) span where two overlap, then sort.

    The spans kept are disjoint, so sorted by start they are sorted by end too: a new span
    overlaps one of them exactly when the last kept span starting before its end ends after its
    start — one bisection instead of a pass over all kept spans (a 1 MB paste can hold tens of
    thousands of numbers)."""
    if any(span.start >= span.end for span in spans):
        return _without_overlaps_plain(spans)  # empty spans break the ordering argument
    kept: list[PiiSpan] = []
    starts: list[int] = []
    ends: list[int] = []
    for span in spans:
        at = bisect.bisect_left(starts, span.end)
        if at and ends[at - 1] > span.start:
            continue
        kept.append(span)
        starts.insert(at, span.start)
        ends.insert(at, span.end)
    return sorted(kept, key=lambda s: s.start)


def _without_overlaps_plain(spans: list[PiiSpan]) -> list[PiiSpan]:
    kept: list[PiiSpan] = []
    for span in spans:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def redact(text: str, spans: list[PiiSpan] | None = None) -> str:
    """`text` with each personal-data span replaced by its masked form."""
    spans = find_pii(text) if spans is None else spans
    out, pos = [], 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(span.masked)
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


# A folded value shorter than this is not looked for: it could be any few characters.
MIN_FOLDED_VALUE = 5


def redact_copy(
    text: str, found: Iterable[PiiSpan], fold: Callable[[str], str] | None = None
) -> str:
    """Mask personal data in `text`, a transformed copy (such as the normalised form) of a text
    in which `found` was found: each found value — as written, and as `fold` (the same
    transformation) writes it — is replaced by its masked form, and whatever find_pii finds in
    the copy itself is masked too. The offsets of `found` do not apply to the copy, and a
    transformation can hide a value from find_pii (an e-mail address whose "@domain" became a
    mention placeholder), hence both."""
    masked = {span.text: span.masked for span in found}  # each value once
    for value in sorted(masked, key=len, reverse=True):
        forms = {value, fold(value) if fold is not None else value}
        for form in sorted(forms, key=len, reverse=True):
            if len(form.strip()) >= MIN_FOLDED_VALUE:
                text = text.replace(form, masked[value])
    return redact(text)
