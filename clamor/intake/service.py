"""Storing incoming items idempotently: the same (source, external id) twice is one item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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


def validate(incoming: ItemIn) -> None:
    if incoming.kind not in ITEM_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(sorted(ITEM_KINDS))}", field="kind")
    if not incoming.source.strip():
        raise ValidationError("source must not be empty", field="source")
    if not incoming.external_id.strip():
        raise ValidationError("external_id must not be empty", field="external_id")
    if len(incoming.external_id) > 200:
        raise ValidationError("external_id is longer than 200 characters", field="external_id")
    if not incoming.text.strip() and not (incoming.title or "").strip():
        raise ValidationError("text must not be empty", field="text")
    if len(incoming.text) > MAX_TEXT_CHARS:
        raise ValidationError(f"text is longer than {MAX_TEXT_CHARS} characters", field="text")
    if incoming.published_at is not None and incoming.published_at.tzinfo is None:
        raise ValidationError("published_at needs a time zone", field="published_at")


def _new_item(incoming: ItemIn) -> Item:
    return Item(
        kind=incoming.kind,
        source=incoming.source,
        external_id=incoming.external_id,
        received_at=clock.now(),
        published_at=incoming.published_at,
        author=incoming.author,
        title=incoming.title,
        text=incoming.text,
        url=incoming.url,
        meta=incoming.meta,
        raw=incoming.raw,
    )


def store_items(session: Session, batch: Sequence[ItemIn]) -> list[Stored]:
    """Store each item unless its (source, external id) is known; results in input order.

    Duplicates inside one batch count once. A concurrent writer storing the same item between
    our look-up and our insert is caught by the unique constraint and resolved per item under a
    savepoint, so the rest of the batch is unaffected.
    """
    for incoming in batch:
        validate(incoming)
    keys = list(dict.fromkeys((i.source, i.external_id) for i in batch))
    known = _existing(session, keys)
    results: list[Stored] = []
    for incoming in batch:
        key = (incoming.source, incoming.external_id)
        if key in known:
            results.append(Stored(known[key], created=False))
            continue
        item = _insert_one(session, incoming)
        created = item is not None
        item = item or _existing(session, [key])[key]
        known[key] = item
        results.append(Stored(item, created=created))
    return results


def _existing(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
    found: dict[tuple[str, str], Item] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(Item).where(tuple_(Item.source, Item.external_id).in_(chunk))
        found.update({(item.source, item.external_id): item for item in session.scalars(query)})
    return found


def _insert_one(session: Session, incoming: ItemIn) -> Item | None:
    item = _new_item(incoming)
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:
        return None
    return item


def pending_items(session: Session, limit: int = 1000) -> list[Item]:
    """Items stored but not analysed yet (e.g. left by a crash), oldest first."""
    query = select(Item).where(Item.analysed_at.is_(None)).order_by(Item.id).limit(limit)
    return list(session.scalars(query))


def record_analysis(session: Session, item: Item, analysis: dict[str, Any]) -> None:
    item.analysis = analysis
    item.analysed_at = clock.now()
