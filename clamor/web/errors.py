"""One place that turns errors into responses: JSON for the API, a page or a redirect for people.

Every error names what is wrong (and the field, where there is one); nothing is half-done because
services raise before they commit.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from clamor.core.errors import AuthenticationError, ClamorError, RateLimited


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
    response = _error_page(request, exc.status_code, exc.message)
    if headers:
        response.headers.update(headers)
    return response


def _describe_validation(exc: RequestValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    location = [
        str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "form")
    ]
    field = ".".join(location) or "request"
    return field, f"{field}: {first.get('msg', 'invalid value')}"


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    field, message = _describe_validation(exc)
    if wants_json(request):
        body = {"error": "invalid", "message": message, "field": field}
        return JSONResponse(body, status_code=422)
    return _error_page(request, 422, message)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if wants_json(request):
        return JSONResponse(
            {"error": "http", "message": str(exc.detail)}, status_code=exc.status_code
        )
    return _error_page(request, exc.status_code, str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClamorError, handle_clamor_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
