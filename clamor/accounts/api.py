"""JSON routes of accounts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from clamor.accounts import service as accounts
from clamor.accounts.schemas import Me, UserCreate, UserRead
from clamor.core.principal import Principal
from clamor.web.deps import app_state, current_principal, require

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/me", response_model=Me)
def me(principal: Principal = Depends(current_principal)) -> Me:
    return Me(
        username=principal.username,
        display_name=principal.display_name,
        language=principal.language,
        is_admin=principal.is_admin,
        permissions=sorted(principal.permissions),
        scopes=sorted(principal.scopes) if principal.scopes is not None else None,
    )


@router.get("/users", response_model=list[UserRead])
def list_users(
    request: Request, principal: Principal = Depends(require("users.manage"))
) -> list[UserRead]:
    with app_state(request).db.read() as session:
        return [UserRead.model_validate(user) for user in accounts.list_users(session)]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(
    request: Request, body: UserCreate, principal: Principal = Depends(require("users.manage"))
) -> UserRead:
    with app_state(request).db.write() as session:
        user = accounts.create_user(session, principal, **body.model_dump())
        return UserRead.model_validate(user)
