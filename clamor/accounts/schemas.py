"""API shapes of accounts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Me(BaseModel):
    username: str
    display_name: str
    language: str
    is_admin: bool
    permissions: list[str]
    scopes: list[str] | None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    is_admin: bool
    is_active: bool
    language: str
    created_at: datetime


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1)
    display_name: str | None = None
    email: str | None = None
    is_admin: bool = False
    language: str = "zh-CN"
