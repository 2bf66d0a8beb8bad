"""The one shape of a form post: run the change in one transaction, then redirect (post/redirect/
get); when the service refuses, show the same page again with its message and status, nothing
changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from clamor.core.errors import ClamorError
from clamor.web.deps import app_state, error_text


def apply_then_redirect(
    request: Request,
    change: Callable[[Session], Any],
    target: str | Callable[[Any], str],
    page: Callable[..., Response],
    **context: Any,
) -> Response:
    """`page(request, status_code=…, error=…, **context)` renders the form again on a refusal.
    `target` may be a function of what `change` returned (the new object's page)."""
    try:
        with app_state(request).db.write() as session:
            result = change(session)
            url = target(result) if callable(target) else target
    except ClamorError as exc:
        return page(request, status_code=exc.status_code, error=error_text(request, exc), **context)
    return RedirectResponse(url, status_code=303)
