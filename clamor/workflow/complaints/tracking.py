"""Tracking codes the complainant reads off an e-mail or says over the phone: `K7Q2M-9XH4C`.

Ten characters from Crockford's base-32 alphabet (no I, L, O or U, so nothing looks or sounds
alike): nine random ones (45 bits — guessing is hopeless, and the status page also wants the
contact given at submission) and one check character computed with the Luhn mod N algorithm,
which catches every single mistyped character and almost every swap of two neighbours, so a typo
is told apart from an unknown code before any lookup.

`parse_tracking_code` accepts what people actually type: lower case, spaces, missing or extra
dashes, and O / I / L for 0 / 1.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from clamor.core.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 9
CODE_LENGTH = RANDOM_LENGTH + 1
_GROUP = 5

_VALUE = {char: index for index, char in enumerate(ALPHABET)}
# Crockford's decoding rules for look-alike letters.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_\t")


def check_character(body: str) -> str:
    """The Luhn mod 32 check character for `body` (characters of ALPHABET)."""
    n = len(ALPHABET)
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * _VALUE[char]
        total += addend // n + addend % n
        factor = 3 - factor
    return ALPHABET[(n - total % n) % n]


def _checks_out(code: str) -> bool:
    return check_character(code[:-1]) == code[-1]


def tracking_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh code, formatted for display; `randbelow` can be seeded in tests."""
    n = len(ALPHABET)
    value = randbelow(n**RANDOM_LENGTH)  # one draw of 45 bits, not nine of 5 (intake's hot path)
    digits = []
    for _ in range(RANDOM_LENGTH):
        value, digit = divmod(value, n)
        digits.append(ALPHABET[digit])
    body = "".join(digits)
    return format_tracking_code(body + check_character(body))


def format_tracking_code(compact: str) -> str:
    return f"{compact[:_GROUP]}-{compact[_GROUP:]}"


def parse_tracking_code(text: str) -> str:
    """The canonical display form of a typed code; ValidationError(field='tracking_code') when it
    is malformed or its check character does not match (a typo, not an unknown case)."""
    compact = text.strip().upper().translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(compact) != CODE_LENGTH:
        raise ValidationError.keyed(
            "error.complaints.code_length",
            field="tracking_code",
            length=CODE_LENGTH,
            given=len(compact),
        )
    wrong = sorted({char for char in compact if char not in _VALUE})
    if wrong:
        raise ValidationError.keyed(
            "error.complaints.code_characters", field="tracking_code", chars="".join(wrong)
        )
    if not _checks_out(compact):
        raise ValidationError.keyed("error.complaints.code_typo", field="tracking_code")
    return format_tracking_code(compact)


def is_valid_tracking_code(text: str) -> bool:
    try:
        parse_tracking_code(text)
    except ValidationError:
        return False
    return True
