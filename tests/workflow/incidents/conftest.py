"""Fixtures for incidents: principals of the plan's roles and helpers that move an incident
along the way each role would."""

from __future__ import annotations

from datetime import datetime

import pytest

from clamor.accounts import service as accounts
from clamor.core.config import derive_key
from clamor.core.principal import Principal
from clamor.org.service import principal_for
from clamor.storage import crypto
from clamor.storage.database import Database
from clamor.workflow.incidents import service
from clamor.workflow.incidents.models import Incident
from tests.conftest import TEST_SECRET, RoleUsers
from tests.web.conftest import browser, client  # noqa: F401 - the web fixtures, shared

ROLES = ("admin", "gm", "cs_manager", "cs_rep", "pr_manager", "analyst", "legal")


@pytest.fixture(scope="session", autouse=True)
def _pii_key() -> None:
    crypto.configure(derive_key(TEST_SECRET, "pii"))


@pytest.fixture
def people(db: Database, seeded: RoleUsers) -> dict[str, Principal]:
    with db.read() as session:
        return {name: principal_for(session, accounts.get_user(session, name)) for name in ROLES}


def opened(db: Database, who: Principal, **extra) -> int:
    fields = {
        "title": "App 泄露用户手机号",
        "summary": "多名用户反映收到诈骗电话，怀疑手机号泄露",
        "category": "data_privacy",
        **extra,
    }
    with db.write() as session:
        return service.open_incident(session, who, **fields).id


def assessed(db: Database, people: dict[str, Principal], level: str = "II") -> int:
    """Opened by the analyst, reported, and assessed by the CS manager at `level`."""
    ratings = {"I": (4, 4, 4), "II": (3, 3, 3), "III": (2, 2, 2), "IV": (1, 1, 1)}[level]
    incident_id = opened(db, people["analyst"])
    with db.write() as session:
        service.act(session, people["analyst"], incident_id, "report")
        severity, scope, risk = ratings
        service.act(
            session,
            people["cs_manager"],
            incident_id,
            "assess",
            {"severity": severity, "scope": scope, "risk": risk, "level": level},
        )
    return incident_id


def load(db: Database, incident_id: int) -> Incident:
    with db.read() as session:
        return service.get(session, incident_id)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)
