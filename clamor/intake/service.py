"""Storing incoming items idempotently: the same (source, external id) twice is one item."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached

from clamor.core import clock
from clamor.core.errors import ValidationError
from clamor.intake.models import Item

MAX_TEXT_CHARS = 1_000_000
ITEM_KINDS = frozenset({"complaint", "post"})


@dataclass(frozen=True)
class ItemIn:
    kind: str
    source: str
    external_id: str
    text: str
    published_at: datetime | None = None
    author: str | None = None
    title: str | None = None
    url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None


@dataclass(frozen=True)
class Stored:
    item: Item
    created: bool  # False: the same source and external id arrived before


@dataclass(frozen=True, slots=True)
class StoredId:
    item_id: int
    created: bool  # False: the same source and external id arrived before


def validate(incoming: ItemIn) -> None:
    if incoming.kind not in ITEM_KINDS:
        raise ValidationError.keyed(
            "error.intake.kind_unknown", field="kind", kinds=", ".join(sorted(ITEM_KINDS))
        )
    if not incoming.source.strip():
        raise ValidationError.keyed("error.intake.field_empty", field="source")
    if not incoming.external_id.strip():
        raise ValidationError.keyed("error.intake.field_empty", field="external_id")
    if len(incoming.external_id) > 200:
        raise ValidationError.keyed("error.intake.too_long", field="external_id", max=200)
    if not incoming.text.strip() and not (incoming.title or "").strip():
        raise ValidationError.keyed("error.intake.field_empty", field="text")
    if len(incoming.text) > MAX_TEXT_CHARS:
        raise ValidationError.keyed("error.intake.too_long", field="text", max=MAX_TEXT_CHARS)
    if incoming.published_at is not None and incoming.published_at.tzinfo is None:
        raise ValidationError.keyed("error.intake.no_time_zone", field="published_at")


def store_items(
    session: Session,
    batch: Sequence[ItemIn],
    enrich: Callable[[list[ItemIn]], list[dict[str, Any]]] | None = None,
) -> list[Stored]:
    """Store each item unless its (source, external id) is known; results in input order.

    One multi-row INSERT … ON CONFLICT DO NOTHING per batch (on SQLite and PostgreSQL alike), so
    a concurrent writer storing the same item is resolved by the unique constraint without
    failing the batch; duplicates inside one batch count once.

    `enrich(fresh)`, when given, returns more column values (e.g. `analysis`, `analysed_at`) for
    each item not stored yet, written by the same INSERT — the same transaction as an UPDATE
    after it, one statement fewer per row.
    """
    for incoming in batch:
        validate(incoming)
    unique = list({(i.source, i.external_id): i for i in reversed(batch)}.values())[::-1]
    keys = [(i.source, i.external_id) for i in unique]
    known = _existing(session, keys)
    fresh = [i for i in unique if (i.source, i.external_id) not in known]
    extra = enrich(fresh) if enrich is not None and fresh else None
    stored = _insert_ignoring_conflicts(session, fresh, extra) if fresh else {}
    inserted = set(stored)
    # Stored by someone else between the look-up and the insert: read what they stored.
    raced = [key for key in ((i.source, i.external_id) for i in fresh) if key not in stored]
    stored.update(_existing(session, raced))
    results: list[Stored] = []
    for incoming in batch:
        key = (incoming.source, incoming.external_id)
        created = key in inserted
        inserted.discard(key)  # a repeat inside the batch is not created again
        results.append(Stored(stored.get(key) or known[key], created=created))
    return results


def store_item_ids(
    session: Session,
    batch: Sequence[ItemIn],
    enrich: Callable[[list[ItemIn]], list[dict[str, Any]]] | None = None,
    *,
    now: datetime | None = None,
) -> list[StoredId]:
    """`store_items` for callers that need only the ids (the monitoring intake, at thousands of
    posts a second; complaint intake, which has the values it stored): the same statements,
    without building an ORM object per item. `now`: the items' `received_at` (default: now)."""
    for incoming in batch:
        validate(incoming)
    unique = list({(i.source, i.external_id): i for i in reversed(batch)}.values())[::-1]
    known = _existing_ids(session, [(i.source, i.external_id) for i in unique])
    fresh = [i for i in unique if (i.source, i.external_id) not in known]
    extra = enrich(fresh) if enrich is not None and fresh else None
    rows = _insert_rows(session, fresh, extra, now=now)
    inserted = {key: item_id for key, (item_id, _) in rows.items()}
    raced = [key for key in ((i.source, i.external_id) for i in fresh) if key not in inserted]
    ids = {**known, **inserted, **_existing_ids(session, raced)}
    created_keys = set(inserted)
    results: list[StoredId] = []
    for incoming in batch:
        key = (incoming.source, incoming.external_id)
        results.append(StoredId(ids[key], created=key in created_keys))
        created_keys.discard(key)  # a repeat inside the batch is not created again
    return results


def _existing_ids(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(Item.source, Item.external_id, Item.id).where(
            tuple_(Item.source, Item.external_id).in_(chunk)
        )
        found.update({(source, ext): item_id for source, ext, item_id in session.execute(query)})
    return found


def _existing(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
    found: dict[tuple[str, str], Item] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(Item).where(tuple_(Item.source, Item.external_id).in_(chunk))
        found.update({(item.source, item.external_id): item for item in session.scalars(query)})
    return found


def _insert_ignoring_conflicts(
    session: Session, fresh: list[ItemIn], extra: list[dict[str, Any]] | None = None
) -> dict[tuple[str, str], Item]:
    """Insert what is not there yet; the items this call really inserted, by key.

    The rows come back as persistent objects built from the values just written and the ids the
    INSERT returned — no second SELECT (`make_transient_to_detached` + `add`)."""
    inserted: dict[tuple[str, str], Item] = {}
    for key, (item_id, row) in _insert_rows(session, fresh, extra).items():
        item = Item(id=item_id, **row)
        make_transient_to_detached(item)
        session.add(item)
        inserted[key] = item
    return inserted


def _insert_rows(
    session: Session,
    fresh: list[ItemIn],
    extra: list[dict[str, Any]] | None = None,
    *,
    now: datetime | None = None,
) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """INSERT … ON CONFLICT DO NOTHING; the id and column values of each row really inserted."""
    if not fresh:
        return {}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = now or clock.now()
    rows = [
        {
            "kind": i.kind,
            "source": i.source,
            "external_id": i.external_id,
            "received_at": now,
            "published_at": i.published_at,
            "author": i.author,
            "title": i.title,
            "text": i.text,
            "url": i.url,
            "meta": i.meta,
            "raw": i.raw,
            "analysed_at": None,
            "analysis": None,
        }
        for i in fresh
    ]
    if extra is not None:
        for row, more in zip(rows, extra, strict=True):
            row.update(more)
    # One executemany: SQLAlchemy sends it as a few multi-row INSERTs ("insertmanyvalues") from
    # one cached compiled statement, with the RETURNING rows of those really inserted.
    table = Item.__table__
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(table.c.id, table.c.source, table.c.external_id)
    )
    by_key = {(row["source"], row["external_id"]): row for row in rows}
    return {
        (source, external_id): (item_id, by_key[(source, external_id)])
        for item_id, source, external_id in session.execute(statement, rows).all()
    }


def pending_items(session: Session, limit: int = 1000) -> list[Item]:
    """Items stored but not analysed yet (e.g. left by a crash), oldest first."""
    query = select(Item).where(Item.analysed_at.is_(None)).order_by(Item.id).limit(limit)
    return list(session.scalars(query))


def record_analysis(session: Session, item: Item, analysis: dict[str, Any]) -> None:
    item.analysis = analysis
    item.analysed_at = clock.now()
