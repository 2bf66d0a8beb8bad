from sqlalchemy import text

from clamor.audit import service as audit
from clamor.core.principal import SYSTEM
from clamor.storage.database import Database


def write_entries(db: Database, count: int) -> None:
    for index in range(count):
        with db.write() as session:
            audit.record(
                session, SYSTEM, "test.change", "thing", index, after={"名称": f"第{index}"}
            )


def test_untouched_log_verifies(db: Database) -> None:
    write_entries(db, 4)
    with db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.rows_checked == 4


def test_a_row_edited_in_the_database_is_named(db: Database) -> None:
    write_entries(db, 4)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
    with db.read() as session:
        result = audit.verify(session)
    assert not result.ok
    assert (result.problems[0].row_id, result.problems[0].problem) == (
        2,
        "was changed after it was written",
    )


def test_a_deleted_row_is_named(db: Database) -> None:
    write_entries(db, 4)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 3"))
    with db.read() as session:
        assert audit.verify(session).problems[0].row_id == 4


def test_the_newest_row_deleted_is_caught(db: Database) -> None:
    write_entries(db, 3)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = 3"))
    with db.read() as session:
        problems = audit.verify(session).problems
    assert "ends at row 2" in problems[0].problem


def test_a_failed_transaction_leaves_no_audit_row(db: Database) -> None:
    write_entries(db, 1)
    try:
        with db.write() as session:
            audit.record(session, SYSTEM, "test.change", "thing", 99)
            raise RuntimeError("the business change failed")
    except RuntimeError:
        pass
    write_entries(db, 1)
    with db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.rows_checked == 2


def test_search_filters(db: Database) -> None:
    write_entries(db, 3)
    with db.write() as session:
        audit.record(session, SYSTEM, "org.member.add", "group", "leadership")
    with db.read() as session:
        found = audit.search(session, audit.AuditFilter(action="org."))
        assert [e.object_id for e in found] == ["leadership"]
        newest_first = audit.search(session, audit.AuditFilter(object_type="thing"), limit=2)
        assert [e.object_id for e in newest_first] == ["2", "1"]
        older = audit.search(
            session, audit.AuditFilter(object_type="thing", before_id=newest_first[-1].id)
        )
        assert [e.object_id for e in older] == ["0"]
