"""Fixtures for complaint cases: the personal-data key, principals of the plan's roles, and a
helper that submits complaints the way every channel does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from clamor.accounts import service as accounts
from clamor.core import clock
from clamor.core.config import derive_key
from clamor.core.principal import Principal
from clamor.intake.connectors.base import ComplaintIn
from clamor.org.service import principal_for
from clamor.storage import crypto
from clamor.storage.database import Database
from clamor.workflow.complaints import service
from clamor.workflow.complaints.models import ComplaintCase
from tests.conftest import TEST_SECRET, RoleUsers
from tests.web.conftest import browser, client  # noqa: F401  (the web fixtures, shared)


@pytest.fixture(scope="session", autouse=True)
def _pii_key() -> None:
    crypto.configure(derive_key(TEST_SECRET, "pii"))


@pytest.fixture
def people(db: Database, seeded: RoleUsers) -> dict[str, Principal]:
    """Principals of the seeded users, by username."""
    with db.read() as session:
        return {
            name: principal_for(session, accounts.get_user(session, name))
            for name in ("admin", "gm", "cs_manager", "cs_rep", "pr_manager", "legal")
        }


@pytest.fixture
def at() -> Iterator[object]:
    """`at(datetime)` pins the clock; released after the test."""
    yield clock.freeze
    clock.freeze(None)


def complaint(
    external_id: str = "1", text: str = "我要退款！客服态度太差了", **extra
) -> ComplaintIn:
    fields = {"channel": "api", "external_id": external_id, "text": text, **extra}
    return ComplaintIn(**fields)


def submit(db: Database, actor: Principal, *items: ComplaintIn) -> list[service.Submitted]:
    with db.write() as session:
        return service.submit(session, actor, list(items))


def load(db: Database, case_id: int) -> ComplaintCase:
    with db.read() as session:
        return service.get_case(session, case_id)


def utc(*parts: int) -> datetime:
    from datetime import UTC

    return datetime(*parts, tzinfo=UTC)
