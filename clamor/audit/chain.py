"""The hash chain, pure. Each row's hash is an HMAC (keyed with the installation's secret) over
the previous row's hash and the row's own fields, so a row edited, deleted or inserted behind the
application's back breaks the chain at that row, and nobody without the key can mend it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class ChainRow:
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    prev_hash: str
    hash: str


def canonical(row_fields: dict[str, Any]) -> bytes:
    return json.dumps(
        row_fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")


def row_hash(key: bytes, prev_hash: str, fields: dict[str, Any]) -> str:
    message = prev_hash.encode("ascii") + b"\n" + canonical(fields)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hashed_fields(
    *,
    id: int,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None,
) -> dict[str, Any]:
    # Microsecond ISO form: both SQLite and PostgreSQL keep microseconds exactly.
    return {
        "id": id,
        "at": at.isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "reason": reason,
    }


@dataclass(frozen=True)
class ChainProblem:
    row_id: int | None
    problem: str


def verify_chain(
    key: bytes, rows: Iterable[ChainRow], head: tuple[int, str] | None
) -> list[ChainProblem]:
    """Walk the rows in id order; report the first row where the chain breaks, and the head."""
    problems: list[ChainProblem] = []
    expected_prev, expected_id = GENESIS_HASH, 1
    for row in rows:
        if row.id != expected_id:
            problems.append(ChainProblem(row.id, f"rows {expected_id}..{row.id - 1} are missing"))
            return problems
        if row.prev_hash != expected_prev:
            problems.append(ChainProblem(row.id, "does not follow the previous row"))
            return problems
        fields = hashed_fields(
            id=row.id,
            at=row.at,
            actor_id=row.actor_id,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            before=row.before,
            after=row.after,
            reason=row.reason,
        )
        if not hmac.compare_digest(row_hash(key, row.prev_hash, fields), row.hash):
            problems.append(ChainProblem(row.id, "was changed after it was written"))
            return problems
        expected_prev, expected_id = row.hash, row.id + 1
    last_id = expected_id - 1
    if head is not None and head != (last_id, expected_prev):
        problems.append(
            ChainProblem(head[0], f"the log ends at row {last_id} but was written up to {head[0]}")
        )
    if head is None and last_id > 0:
        problems.append(ChainProblem(None, "the chain's head record is missing"))
    return problems
