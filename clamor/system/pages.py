"""`/healthz` for load balancers and operators, and the REST API documentation (Swagger UI served
from the package: FastAPI's default /docs loads from a CDN and is blank offline)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from clamor import __version__
from clamor.web.deps import app_state

router = APIRouter()

SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clamor API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>"""


@router.get("/healthz", tags=["system"])
async def healthz(request: Request) -> JSONResponse:
    state = app_state(request)
    database_ok = state.db.ping()
    body = {
        "status": "ok" if database_ok else "degraded",
        "version": __version__,
        "database": {"ok": database_ok, "dialect": state.db.engine.dialect.name},
    }
    return JSONResponse(body, status_code=200 if database_ok else 503)


@router.get("/docs", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    return HTMLResponse(SWAGGER_PAGE)
