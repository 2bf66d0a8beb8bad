"""The demo's complaints: real texts, every channel, every state, repeats; loading twice adds
nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from clamor.demo.complaints import load_demo_complaints
from clamor.storage.database import Database
from clamor.workflow.complaints.models import ComplaintCase
from clamor.workflow.complaints.states import CaseState
from tests.conftest import RoleUsers


def test_demo_complaints_cover_every_state_and_load_once(db: Database, seeded: RoleUsers) -> None:
    created = load_demo_complaints(db)
    assert created == 340
    with db.read() as session:
        states = set(session.scalars(select(ComplaintCase.status).distinct()))
        channels = set(session.scalars(select(ComplaintCase.channel).distinct()))
        repeats = session.scalar(
            select(func.count()).where(ComplaintCase.repeat_of_id.is_not(None))
        )
    expected = {s.value for s in CaseState} - {"merged"}
    assert expected <= states
    assert len(channels) == 6 and repeats and repeats >= 10
    assert load_demo_complaints(db) == 0
