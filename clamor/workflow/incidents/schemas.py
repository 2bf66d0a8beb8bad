"""API shapes of incidents (regular names: IncidentCreate / IncidentRead …)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=300)
    summary: str = ""
    category: str
    complaint_ids: list[int] = Field(default_factory=list)
    drill: bool = False


class AlertIncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_id: int
    title: str = Field(max_length=300)
    summary: str = ""
    category: str
    suggested_level: str | None = None
    reasons: list[str] = Field(default_factory=list)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str
    fields: dict[str, Any] = Field(default_factory=dict)


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    title: str
    group: str
    hours: float
    assignee: str | None = None
    detail: str | None = None


class InstructIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskIn] = Field(default_factory=list)
    playbook: bool = False


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_type: str
    is_support: bool
    title: str
    state: str
    group_id: int
    assignee_user_id: int | None
    assigned_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    result: str | None


class StatementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    state: str
    version: int
    published_at: datetime | None


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    summary: str
    category: str
    state: str
    source: str
    alert_id: int | None
    is_drill: bool
    level: str | None
    severity: int | None
    scope: int | None
    risk: int | None
    suggested_level: str | None
    suggested_reasons: list[Any]
    opened_at: datetime
    reported_at: datetime | None
    assessed_at: datetime | None
    instructed_at: datetime | None
    first_statement_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class IncidentDetail(IncidentRead):
    allowed_actions: list[str]
    tasks: list[TaskRead]
    statements: list[StatementRead]
    complaint_ids: list[int]
