"""Load the demo complaints: 340 real texts over the last two weeks, through every channel, with
cases walked by the demo's people into every state of the lifecycle. Safe to run twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.core import clock
from clamor.core.principal import SYSTEM, Principal
from clamor.intake.connectors.base import ComplaintIn
from clamor.org.service import principal_for
from clamor.storage.database import Database
from clamor.workflow.complaints import service

FIXTURE = Path(__file__).with_name("complaints.json")
CHANNELS = ("hotline", "online_platform", "webform", "email", "feedback_system", "api")
SPREAD_HOURS = 14 * 24
STEP = timedelta(hours=3)

# The actions that take a new case to each demo state, in order.
PATHS: tuple[tuple[tuple[str, dict[str, str]], ...], ...] = (
    (),
    (
        ("acknowledge", {}),
        ("accept", {}),
        ("assign", {"assignee_user": "cs_rep"}),
        ("start", {}),
        ("reply", {"reply": "您反映的问题已转交产品部门核查，三个工作日内给您答复。"}),
    ),
    (("acknowledge", {}),),
    (("acknowledge", {}), ("accept", {})),
    (("acknowledge", {}), ("accept", {}), ("assign", {"assignee_user": "cs_rep"})),
    (
        ("acknowledge", {}),
        ("accept", {}),
        ("assign", {"assignee_user": "cs_rep", "assignee_group": "complaint_handling"}),
        ("start", {}),
    ),
    (
        ("acknowledge", {}),
        ("accept", {}),
        ("assign", {"assignee_user": "cs_rep"}),
        ("start", {}),
        ("request_info", {"message": "请提供订单号和购买凭证。"}),
    ),
    (
        ("acknowledge", {}),
        ("accept", {}),
        ("assign", {"assignee_user": "cs_rep"}),
        ("start", {}),
        ("reply", {"reply": "非常抱歉给您带来不便，已为您安排退换货，请留意短信通知。"}),
        ("request_feedback", {}),
    ),
    (
        ("acknowledge", {}),
        ("accept", {}),
        ("assign", {"assignee_user": "cs_rep"}),
        ("start", {}),
        ("reply", {"reply": "已为您全额退款。"}),
        ("close_satisfied", {}),
    ),
    (("reject", {"reason": "与本公司产品和服务无关"}),),
)


def _fixture() -> list[dict[str, str]]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _handler(db: Database) -> Principal:
    """The complaint group's leader (cs_manager) when the demo people exist, else the system."""
    with db.read() as session:
        user = session.scalar(select(User).where(User.username == "cs_manager"))
        return principal_for(session, user) if user is not None else SYSTEM


def _complaint(index: int, row: dict[str, str], now: datetime) -> ComplaintIn:
    hours = (index * 997) % SPREAD_HOURS
    phone_owner = index - 1 if index % 25 == 24 else index  # a few repeat complainants
    english = row["source"] == "twitter_us_airline"
    return ComplaintIn(
        channel=CHANNELS[index % len(CHANNELS)],
        external_id=f"demo-{index}",
        text=row["text"],
        name=("Customer " if english else "客户") + f"{phone_owner:03d}",
        phone=f"1390000{phone_owner:04d}",
        email=f"customer{phone_owner}@example.com" if index % 3 == 0 else None,
        language="en" if english else "zh-CN",
        received_at=now - timedelta(hours=hours, minutes=(index * 37) % 60),
    )


def _walk(
    session: Session, actor: Principal, case_id: int, index: int, received: datetime, now: datetime
) -> None:
    """Take the case along its demo path, each step a few hours after the last (not later than
    now)."""
    path = PATHS[index % len(PATHS)]
    for step, (action, fields) in enumerate(path, start=1):
        clock.freeze(min(received + STEP * step, now - timedelta(minutes=1)))
        service.act(session, actor, case_id, action, dict(fields))


def load_demo_complaints(db: Database, batch: int = 100) -> int:
    """Submit the demo complaints and walk them into their states; returns how many were new."""
    rows = _fixture()
    now = clock.now()
    actor = _handler(db)
    complaints = [_complaint(i, row, now) for i, row in enumerate(rows)]
    created = 0
    for start in range(0, len(complaints), batch):
        chunk = complaints[start : start + batch]
        with db.write() as session:
            outcomes = service.submit(session, actor, chunk)
            fresh = [(start + i, o.case.id) for i, o in enumerate(outcomes) if o.created]
        try:
            with db.write() as session:
                for index, case_id in fresh:
                    received = complaints[index].received_at or now
                    _walk(session, actor, case_id, index, received, now)
        finally:
            clock.freeze(None)
        created += len(fresh)
    return created
