"""One place that turns errors into responses: JSON for the API, a page or a redirect for people.

Every error names what is wrong (and the field, where there is one); nothing is half-done because
services raise before they commit.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from clamor.core.errors import AuthenticationError, ClamorError, RateLimited, ValidationError
from clamor.core.i18n import catalogue, translate


def wants_json(request: Request) -> bool:
    path = request.url.path
    accept = request.headers.get("accept", "")
    return (
        path.startswith("/api/")
        or path == "/healthz"
        or ("application/json" in accept and "text/html" not in accept)
    )


def _error_page(request: Request, status_code: int, message: str) -> Response:
    from clamor.web.render import render  # render imports deps; keep this module light

    return render(request, "error.html", status_code=status_code, message=message)


async def handle_clamor_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClamorError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if wants_json(request):
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)
    if isinstance(exc, AuthenticationError) and request.method == "GET":
        target = f"/login?next={quote(str(request.url.path))}"
        if getattr(request.state, "session_expired", False):
            target += "&expired=1"
        return RedirectResponse(target, status_code=303)
    from clamor.web.deps import error_text  # deps imports the services; keep this module light

    response = _error_page(request, exc.status_code, error_text(request, exc))
    if headers:
        response.headers.update(headers)
    return response


def _describe_validation(exc: RequestValidationError) -> ValidationError:
    """The first problem FastAPI found, as our error: a missing field says so in the reader's
    language; any other names the field and keeps the validator's (English) detail."""
    first = exc.errors()[0]
    location = [
        str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "form")
    ]
    field = ".".join(location) or "request"
    kind, context = first.get("type", ""), first.get("ctx") or {}
    if kind == "missing":
        return ValidationError.keyed("error.request.missing", field=field)
    detail = first.get("msg", "invalid value")
    if kind in _TYPE_WORDS:
        words = _TYPE_WORDS[kind]
        values = {name: context.get(name, "") for name in ("max_length", "min_length", "expected")}
        return ValidationError.keyed(words, field=field, **values)
    return ValidationError.keyed("error.request.invalid", field=field, detail=detail)


# The checks FastAPI makes most often on our forms and query strings, worded in the catalogue.
_TYPE_WORDS = {
    "int_parsing": "error.request.not_integer",
    "float_parsing": "error.request.not_number",
    "bool_parsing": "error.request.not_boolean",
    "string_too_long": "error.request.too_long",
    "string_too_short": "error.request.too_short",
    "literal_error": "error.request.not_one_of",
    "enum": "error.request.not_one_of",
}


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    error = _describe_validation(exc)
    if wants_json(request):
        return JSONResponse(error.to_dict(), status_code=422)
    from clamor.web.deps import error_text

    return _error_page(request, 422, error_text(request, error))


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if wants_json(request):
        return JSONResponse(
            {"error": "http", "message": str(exc.detail)}, status_code=exc.status_code
        )
    return _error_page(request, exc.status_code, _http_words(request, exc))


def _http_words(request: Request, exc: StarletteHTTPException) -> str:
    """Starlette's stock phrase ("Not Found") in the reader's language; any other detail as is."""
    from clamor.web.deps import request_language  # deps imports the services (see above)

    key = f"error.http.{exc.status_code}"
    stock = exc.detail == HTTPStatus(exc.status_code).phrase
    return translate(key, request_language(request)) if stock and key in catalogue() else exc.detail


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClamorError, handle_clamor_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
