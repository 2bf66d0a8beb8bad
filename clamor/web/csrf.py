"""CSRF protection by a signed double-submit cookie.

Every browser gets a random `clamor_csrf` cookie; unsafe requests authenticated by cookie must
echo its value in the form field `csrf_token` or the `X-CSRF-Token` header (htmx sends the header
on every request, see base.html). Requests with an API token carry no cookie authority and are
exempt. The cookie value is signed so that a sub-domain cannot plant a known one.
"""

from __future__ import annotations

import hmac

from itsdangerous import BadSignature, URLSafeSerializer

from clamor.core.ids import new_token

COOKIE_NAME = "clamor_csrf"
FORM_FIELD = "csrf_token"
HEADER_NAME = "x-csrf-token"


class CsrfSigner:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="clamor-csrf")

    def new_cookie_value(self) -> str:
        return self._serializer.dumps(new_token(16))

    def is_valid_cookie(self, value: str | None) -> bool:
        if not value:
            return False
        try:
            self._serializer.loads(value)
        except BadSignature:
            return False
        return True

    def matches(self, cookie_value: str | None, submitted: str | None) -> bool:
        if not submitted or not self.is_valid_cookie(cookie_value):
            return False
        return hmac.compare_digest(str(cookie_value), submitted)
