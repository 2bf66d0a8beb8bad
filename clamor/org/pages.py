"""The Organisation page: the plan's groups, roles, members and duties; editing and YAML."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from clamor.core.errors import ValidationError
from clamor.core.principal import Principal
from clamor.org import service as org
from clamor.org.document import dump_org_yaml
from clamor.org.permissions import Role
from clamor.web.deps import app_state, error_text, require
from clamor.web.forms import apply_then_redirect
from clamor.web.render import render

router = APIRouter(include_in_schema=False)

MAX_IMPORT_BYTES = 1_000_000


def _page(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The page; after a refusal, with the message and what was typed (`form`, whose `target`
    names the form: `group:KEY` or `person:KEY`) kept in that form."""
    with app_state(request).db.read() as session:
        view = org.load_org(session)
        return render(
            request,
            "org/organisation.html",
            status_code=status_code,
            view=view,
            roles=[role.value for role in Role],
            error=error,
            form=form or {},
        )


@router.get("/organisation")
def organisation(request: Request, principal: Principal = Depends(require("org.read"))) -> Response:
    return _page(request)


@router.post("/organisation/groups/{group_key}/members")
def add_member(
    request: Request,
    group_key: str,
    person: str = Form(""),
    role: str = Form(""),
    principal: Principal = Depends(require("org.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: org.add_member(s, principal, group_key, person, role),
        "/organisation?done=notice.member_added",
        _page,
    )


@router.post("/organisation/groups/{group_key}/members/{person_key}/role")
def change_role(
    request: Request,
    group_key: str,
    person_key: str,
    role: str = Form(""),
    principal: Principal = Depends(require("org.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: org.change_role(s, principal, group_key, person_key, role),
        "/organisation?done=notice.member_updated",
        _page,
    )


@router.post("/organisation/groups/{group_key}/members/{person_key}/remove")
def remove_member(
    request: Request,
    group_key: str,
    person_key: str,
    principal: Principal = Depends(require("org.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: org.remove_member(s, principal, group_key, person_key),
        "/organisation?done=notice.member_removed",
        _page,
    )


@router.post("/organisation/groups/{group_key}")
def update_group(
    request: Request,
    group_key: str,
    name_zh: str = Form(""),
    name_en: str = Form(""),
    duties_zh: str = Form(""),
    duties_en: str = Form(""),
    principal: Principal = Depends(require("org.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: org.update_group(
            s,
            principal,
            group_key,
            name={"zh-CN": name_zh, "en": name_en},
            duties={"zh-CN": duties_zh, "en": duties_en},
        ),
        "/organisation?done=notice.group_updated",
        _page,
        form={
            "target": f"group:{group_key}",
            "name_zh": name_zh,
            "name_en": name_en,
            "duties_zh": duties_zh,
            "duties_en": duties_en,
        },
    )


@router.post("/organisation/people/{person_key}")
def update_person(
    request: Request,
    person_key: str,
    name: str = Form(""),
    email: str = Form(""),
    phone: str = Form(""),
    username: str = Form(""),
    principal: Principal = Depends(require("org.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: org.update_person(
            s,
            principal,
            person_key,
            name=name,
            email=email.strip() or None,
            phone=phone.strip() or None,
            username=username.strip() or None,
        ),
        "/organisation?done=notice.person_updated",
        _page,
        form={
            "target": f"person:{person_key}",
            "name": name,
            "email": email,
            "phone": phone,
            "username": username,
        },
    )


@router.get("/organisation/export.yaml")
def export_yaml(request: Request, principal: Principal = Depends(require("org.read"))) -> Response:
    with app_state(request).db.read() as session:
        text = dump_org_yaml(org.export_document(session))
    headers = {"Content-Disposition": 'attachment; filename="organisation.yaml"'}
    return Response(text, media_type="application/yaml; charset=utf-8", headers=headers)


@router.post("/organisation/import")
async def import_yaml(
    request: Request,
    file: UploadFile | None = File(None),
    principal: Principal = Depends(require("org.manage")),
) -> Response:
    if file is None or not file.filename:
        refusal = ValidationError.keyed("error.org.import_no_file", field="file")
        return _page(request, status_code=422, error=error_text(request, refusal))
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        refusal = ValidationError.keyed("error.org.import_too_large", field="file")
        return _page(request, status_code=413, error=error_text(request, refusal))
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        refusal = ValidationError.keyed("error.org.import_not_utf8", field="file")
        return _page(request, status_code=422, error=error_text(request, refusal))
    return apply_then_redirect(
        request,
        lambda s: org.import_yaml(s, principal, source),
        "/organisation?done=notice.org_imported",
        _page,
    )
