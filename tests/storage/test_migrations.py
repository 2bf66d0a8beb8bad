from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from clamor.migrations import current_revision, head_revision, load_all_models
from clamor.storage.database import Database


def test_upgrade_reaches_head(db: Database) -> None:
    assert current_revision(db.engine) == head_revision(db.engine)


def test_models_match_the_migrations(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, load_all_models().metadata)
    assert differences == []


def test_timestamps_come_back_aware_utc(db: Database) -> None:
    from clamor.audit import service as audit
    from clamor.core.principal import SYSTEM

    with db.write() as session:
        written = audit.record(session, SYSTEM, "x", "y", 1).at
    with db.read() as session:
        (entry,) = audit.search(session, audit.AuditFilter())
    assert entry.at == written and entry.at.utcoffset().total_seconds() == 0
