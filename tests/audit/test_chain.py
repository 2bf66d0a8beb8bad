from dataclasses import replace
from datetime import UTC, datetime, timedelta

from clamor.audit.chain import GENESIS_HASH, ChainRow, hashed_fields, row_hash, verify_chain

KEY = b"k"


def make_chain(count: int) -> list[ChainRow]:
    rows, prev = [], GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(1, count + 1):
        columns = dict(
            id=index,
            at=start + timedelta(seconds=index),
            actor_id=1,
            actor="alice",
            action="org.member.add",
            object_type="group",
            object_id="leadership",
            before=None,
            after={"person": "张三", "n": index},
            reason=None,
        )
        digest = row_hash(KEY, prev, hashed_fields(**columns))
        rows.append(ChainRow(**columns, prev_hash=prev, hash=digest))
        prev = digest
    return rows


def head_of(rows: list[ChainRow]) -> tuple[int, str]:
    return rows[-1].id, rows[-1].hash


def test_an_untouched_chain_verifies() -> None:
    rows = make_chain(5)
    assert verify_chain(KEY, rows, head_of(rows)) == []


def test_an_edited_row_is_named() -> None:
    rows = make_chain(5)
    rows[2] = replace(rows[2], after={"person": "李四", "n": 3})
    problems = verify_chain(KEY, rows, head_of(rows))
    assert [(p.row_id, p.problem) for p in problems] == [(3, "was changed after it was written")]


def test_a_deleted_row_is_named() -> None:
    rows = make_chain(5)
    head = head_of(rows)
    del rows[1]
    assert verify_chain(KEY, rows, head)[0].row_id == 3


def test_deleting_the_newest_rows_is_caught_by_the_head() -> None:
    rows = make_chain(5)
    head = head_of(rows)
    problems = verify_chain(KEY, rows[:3], head)
    assert problems and "ends at row 3" in problems[0].problem


def test_a_row_forged_without_the_key_is_caught() -> None:
    rows = make_chain(3)
    forged_fields = dict(
        id=4,
        at=rows[-1].at,
        actor_id=1,
        actor="mallory",
        action="x",
        object_type="y",
        object_id="z",
        before=None,
        after=None,
        reason=None,
    )
    forged = ChainRow(
        **forged_fields,
        prev_hash=rows[-1].hash,
        hash=row_hash(b"wrong key", rows[-1].hash, hashed_fields(**forged_fields)),
    )
    problems = verify_chain(KEY, [*rows, forged], (4, forged.hash))
    assert problems[0].row_id == 4
