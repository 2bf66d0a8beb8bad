"""Appending to and reading the audit log. Called by every service in the same transaction as
the change it records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from clamor.audit.chain import GENESIS_HASH, ChainProblem, ChainRow, hashed_fields, row_hash
from clamor.audit.chain import verify_chain as verify_rows
from clamor.audit.models import AuditEntry, AuditHead
from clamor.core import clock
from clamor.core.principal import Principal

# Any constant: serialises appends on PostgreSQL (SQLite write sessions already are serial).
_AUDIT_LOCK_ID = 0x434C414D  # "CLAM"

_chain_key: bytes | None = None


def configure(key: bytes) -> None:
    """Set the HMAC key of the chain (derived from the installation's secret)."""
    global _chain_key
    _chain_key = key


def _key() -> bytes:
    if _chain_key is None:
        raise RuntimeError("audit chain key not configured")
    return _chain_key


def record(
    session: Session,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str | int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _AUDIT_LOCK_ID})
    head = session.get(AuditHead, 1)
    prev_id, prev_hash = (head.last_id, head.last_hash) if head else (0, GENESIS_HASH)
    columns: dict[str, Any] = {
        "id": prev_id + 1,
        "at": clock.now(),
        "actor_id": actor.user_id,
        "actor": actor.username,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "before": before,
        "after": after,
        "reason": reason,
    }
    digest = row_hash(_key(), prev_hash, hashed_fields(**columns))
    entry = AuditEntry(**columns, prev_hash=prev_hash, hash=digest)
    session.add(entry)
    if head is None:
        session.add(AuditHead(id=1, last_id=entry.id, last_hash=entry.hash))
    else:
        head.last_id, head.last_hash = entry.id, entry.hash
    session.flush()
    return entry


def _rows(session: Session, batch: int = 1000) -> Iterator[ChainRow]:
    last = 0
    while True:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not entries:
            return
        for entry in entries:
            yield ChainRow(
                id=entry.id,
                at=entry.at,
                actor_id=entry.actor_id,
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                before=entry.before,
                after=entry.after,
                reason=entry.reason,
                prev_hash=entry.prev_hash,
                hash=entry.hash,
            )
        last = entries[-1].id


@dataclass(frozen=True)
class VerifyResult:
    rows_checked: int
    problems: list[ChainProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session) -> VerifyResult:
    head = session.get(AuditHead, 1)
    counted: list[int] = []

    def counting(rows: Iterator[ChainRow]) -> Iterator[ChainRow]:
        for row in rows:
            counted.append(row.id)
            yield row

    problems = verify_rows(
        _key(), counting(_rows(session)), (head.last_id, head.last_hash) if head else None
    )
    return VerifyResult(rows_checked=len(counted), problems=problems)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset pagination: rows older than this id


def _as_utc(moment: datetime) -> datetime:
    """Filter bounds without a zone are taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def search(session: Session, filters: AuditFilter, limit: int = 50) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action))
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEntry.object_id == filters.object_id)
    if filters.since:
        query = query.where(AuditEntry.at >= _as_utc(filters.since))
    if filters.until:
        query = query.where(AuditEntry.at < _as_utc(filters.until))
    if filters.before_id:
        query = query.where(AuditEntry.id < filters.before_id)
    return list(session.scalars(query))
