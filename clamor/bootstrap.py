"""Opening an installation's database: the one step every process (web, worker, CLI) shares."""

from __future__ import annotations

from clamor.audit import service as audit
from clamor.core.config import Settings, derive_key, read_secret
from clamor.migrations import upgrade
from clamor.storage import crypto
from clamor.storage.database import Database


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """Connect, configure the audit chain's key, and bring the schema to head."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    audit.configure(derive_key(read_secret(settings), "audit-chain"))
    crypto.configure(derive_key(read_secret(settings), "pii"))
    if migrate:
        upgrade(db.engine)
    return db
