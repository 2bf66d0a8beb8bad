"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, the plan's organisation,
users in each role, a frozen clock, and the web app.

Services absent from the machine (PostgreSQL, Chromium) make their tests skip with a reason —
except in CI, where CLAMOR_TEST_REQUIRE_SERVICES=1 turns such a skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from clamor.accounts import passwords
from clamor.accounts import service as accounts
from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.config import Settings
from clamor.core.principal import SYSTEM
from clamor.migrations import load_all_models, upgrade
from clamor.org import service as org
from clamor.storage.database import Database

REQUIRE_SERVICES = os.environ.get("CLAMOR_TEST_REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN_URL = os.environ.get(
    "CLAMOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DEFAULT_ORG = Path(__file__).resolve().parent.parent / "clamor" / "org" / "default_org.yaml"
TEST_SECRET = "test-secret-not-for-production"
PASSWORD = "correct horse battery"


def service_missing(reason: str) -> None:
    """Skip on a laptop without the service; fail in CI, where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CLAMOR_TEST_REQUIRE_SERVICES=1 requires it)")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _fast_and_keyed() -> None:
    # Cheap argon2 parameters keep the suite fast; production uses the library's defaults.
    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    audit.configure(b"test-audit-key")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"clamor_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        service_missing(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'clamor.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    upgrade(database.engine)
    yield database
    database.dispose()


def _empty_all_tables(database: Database) -> None:
    tables = [t.name for t in reversed(load_all_models().metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.is_sqlite:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))
        else:
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(migrated_db: Database) -> Iterator[Database]:
    """A migrated, empty database — on SQLite and on PostgreSQL."""
    yield migrated_db
    _empty_all_tables(migrated_db)


@pytest.fixture
def frozen_now() -> Iterator[datetime]:
    moment = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    clock.freeze(moment)
    yield moment
    clock.freeze(None)


@dataclass(frozen=True)
class RoleUsers:
    """Usernames of users linked to the plan's people (all with PASSWORD)."""

    admin: str = "admin"
    gm: str = "gm"
    cs_manager: str = "cs_manager"
    cs_rep: str = "cs_rep"
    pr_manager: str = "pr_manager"
    analyst: str = "analyst"
    legal: str = "legal"


ROLE_PEOPLE = {
    "gm": "gm",
    "cs_manager": "cs_manager",
    "cs_rep": "cs_rep",
    "pr_manager": "pr_manager",
    "analyst": "opinion_analyst",
    "legal": "legal_head",
}


@pytest.fixture
def seeded(db: Database) -> RoleUsers:
    """The plan's organisation, an admin, and one login per role of the plan."""
    with db.write() as session:
        org.import_yaml(session, SYSTEM, DEFAULT_ORG.read_text(encoding="utf-8"))
        accounts.create_user(session, SYSTEM, username="admin", password=PASSWORD, is_admin=True)
        for username, person_key in ROLE_PEOPLE.items():
            accounts.create_user(session, SYSTEM, username=username, password=PASSWORD)
            org.update_person(
                session,
                SYSTEM,
                person_key,
                name=username.upper(),
                email=None,
                phone=None,
                username=username,
            )
    return RoleUsers()


@pytest.fixture
def settings(tmp_path: Path, db: Database) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db.url, secret_key=TEST_SECRET)
