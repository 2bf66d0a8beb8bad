"""API shapes of complaint cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from clamor.intake.connectors.base import CHANNELS

MAX_BATCH = 1000


class ComplaintCreate(BaseModel):
    """One complaint. `external_id` is your id for it: the same id twice is one case."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=50_000)
    channel: Literal[CHANNELS] = "api"  # type: ignore[valid-type]
    title: str | None = Field(default=None, max_length=500)
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    id_number: str | None = Field(default=None, max_length=32)
    language: Literal["zh-CN", "en"] | None = None
    received_at: datetime | None = None


class ComplaintBatch(BaseModel):
    """Up to 1,000 complaints, each shaped like ComplaintCreate; each gets its own result."""

    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class ItemError(BaseModel):
    field: str
    message: str


class ComplaintResult(BaseModel):
    index: int
    result: Literal["created", "existing", "error"]
    id: int | None = None
    tracking_code: str | None = None
    error: ItemError | None = None


class BatchResult(BaseModel):
    created: int
    existing: int
    errors: int
    results: list[ComplaintResult]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str
    reason: str | None = None
    assignee_group: str | None = None
    assignee_user: str | None = None
    message: str | None = None
    reply: str | None = None
    target_case: str | None = None
    incident_id: str | None = None


class ContactRead(BaseModel):
    name: str | None
    phone: str | None
    email: str | None
    id_number: str | None
    erased: bool


class CaseRead(BaseModel):
    id: int
    tracking_code: str
    channel: str
    subject: str
    status: str
    priority: str
    category: str
    severity: int
    sla_state: str
    received_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    assignee_group_id: int | None
    assignee_user_id: int | None
    repeat_of_id: int | None
    merged_into_id: int | None
    incident_id: int | None
    contact: ContactRead | None = None
    allowed_actions: list[str] = []


class CasePage(BaseModel):
    items: list[CaseRead]
    next_before_id: int | None
