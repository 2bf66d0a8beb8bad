from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from clamor.core.errors import ValidationError
from clamor.intake.models import Item
from clamor.intake.service import ItemIn, pending_items, record_analysis, store_items
from clamor.storage.database import Database


def post(external_id: str, text: str = "屏幕碎了，客服不理人") -> ItemIn:
    return ItemIn(
        kind="post", source="weibo", external_id=external_id, text=text, meta={"reposts": 3}
    )


def count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Item)) or 0


def test_the_same_external_id_twice_is_one_item(db: Database) -> None:
    with db.write() as session:
        first = store_items(session, [post("1"), post("2"), post("1")])
    assert [r.created for r in first] == [True, True, False]
    assert first[0].item.id == first[2].item.id
    with db.write() as session:
        again = store_items(session, [post("2"), post("3")])
    assert [r.created for r in again] == [False, True]
    assert count(db) == 3


def test_same_id_from_another_source_is_another_item(db: Database) -> None:
    with db.write() as session:
        store_items(session, [post("1")])
        other = ItemIn(kind="complaint", source="webform", external_id="1", text="退款")
        assert store_items(session, [other])[0].created
    assert count(db) == 2


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (ItemIn(kind="tweet", source="x", external_id="1", text="t"), "kind"),
        (ItemIn(kind="post", source="", external_id="1", text="t"), "source"),
        (ItemIn(kind="post", source="x", external_id=" ", text="t"), "external_id"),
        (ItemIn(kind="post", source="x", external_id="1", text="  "), "text"),
        (
            ItemIn(
                kind="post",
                source="x",
                external_id="1",
                text="t",
                published_at=datetime(2026, 1, 1),
            ),
            "published_at",
        ),
    ],
)
def test_a_bad_item_fails_the_batch_before_anything_is_stored(
    db: Database, bad: ItemIn, field: str
) -> None:
    with pytest.raises(ValidationError) as caught, db.write() as session:
        store_items(session, [post("ok"), bad])
    assert caught.value.field == field
    assert count(db) == 0


def test_unanalysed_items_are_found_again(db: Database) -> None:
    with db.write() as session:
        stored = store_items(session, [post("1"), post("2")])
        record_analysis(session, stored[0].item, {"sentiment": "negative"})
    with db.read() as session:
        assert [i.external_id for i in pending_items(session)] == ["2"]


def test_published_at_round_trips_in_utc(db: Database) -> None:
    moment = datetime(2026, 2, 1, 8, 30, tzinfo=UTC)
    with db.write() as session:
        store_items(
            session,
            [ItemIn(kind="post", source="rss", external_id="a", text="t", published_at=moment)],
        )
    with db.read() as session:
        assert session.scalar(select(Item.published_at)) == moment


def test_enrich_writes_more_columns_for_new_items_only(db: Database) -> None:
    seen: list[list[str]] = []

    def enrich(fresh: list[ItemIn]) -> list[dict]:
        seen.append([i.external_id for i in fresh])
        return [
            {"analysis": {"n": len(i.text)}, "analysed_at": datetime(2026, 3, 1, tzinfo=UTC)}
            for i in fresh
        ]

    with db.write() as session:
        store_items(session, [post("1")])
    with db.write() as session:
        stored = store_items(session, [post("1"), post("2"), post("2")], enrich)
        # The new item is usable at once, with what was written (no second read needed).
        assert stored[1].item.analysis == {"n": len(post("2").text)} and stored[1].item.id
        stored[1].item.title = "changed later in the same transaction"
    assert seen == [["2"]] and [s.created for s in stored] == [False, True, False]
    with db.read() as session:
        item = session.scalar(select(Item).where(Item.external_id == "2"))
        assert item.analysis == {"n": len(post("2").text)} and item.analysed_at is not None
        assert item.title == "changed later in the same transaction"
        assert session.scalar(select(Item.analysis).where(Item.external_id == "1")) is None
