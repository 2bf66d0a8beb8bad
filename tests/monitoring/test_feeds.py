"""RSS/Atom: parsing (with the position of malformed XML), and polling a real HTTP server on
loopback with conditional GET and per-source back-off."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from clamor.core import clock
from clamor.core.principal import SYSTEM
from clamor.intake.models import Item
from clamor.monitoring import feeds, service
from clamor.monitoring.feeds import FeedError, Fetcher, parse_feed, poll_source
from clamor.monitoring.models import Source
from clamor.queue.models import QueueJob
from clamor.queue.table import TableQueue
from clamor.storage.database import Database

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>新闻</title>
<item><title>某品牌手机电池起火</title><link>https://news.example/1</link>
<description>多名用户反映充电时电池起火。</description><guid>news-1</guid>
<pubDate>Tue, 10 Mar 2026 08:00:00 +0800</pubDate><dc:creator>记者甲</dc:creator></item>
<item><title>Second story</title><link>https://news.example/2</link>
<description>No guid here.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>
<entry><title>Data leak at Nova</title><id>urn:uuid:1</id>
<link rel="alternate" href="https://blog.example/leak"/><updated>2026-03-10T01:00:00Z</updated>
<summary>Customer addresses were exposed.</summary><author><name>Ann</name></author></entry>
</feed>"""


def test_rss_entries() -> None:
    first, second = parse_feed(RSS.encode())
    assert (first.external_id, first.title, first.author) == (
        "news-1",
        "某品牌手机电池起火",
        "记者甲",
    )
    assert first.text == "多名用户反映充电时电池起火。"
    assert first.published_at is not None and first.published_at.utcoffset() == timedelta(hours=8)
    assert second.external_id == "https://news.example/2" and second.published_at is None


def test_atom_entries() -> None:
    [entry] = parse_feed(ATOM.encode())
    assert (entry.external_id, entry.url, entry.author) == (
        "urn:uuid:1",
        "https://blog.example/leak",
        "Ann",
    )
    assert entry.text == "Customer addresses were exposed."


def test_malformed_xml_names_line_and_column() -> None:
    broken = (
        b"<rss><channel>\n<item><title>ok</title>\n<description>unclosed</item></channel></rss>"
    )
    with pytest.raises(FeedError) as caught:
        parse_feed(broken)
    assert "line 3, column" in caught.value.message


def test_entities_and_other_documents_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><rss>&a;</rss>'
    with pytest.raises(FeedError, match="DTD"):
        parse_feed(bomb)
    with pytest.raises(FeedError, match="not an RSS or Atom"):
        parse_feed(b"<html><body/></html>")


class FeedServer:
    """A real HTTP server on loopback that serves one feed with an ETag and Last-Modified."""

    def __init__(self) -> None:
        self.body = RSS.encode()
        self.status = 200
        self.etag = '"v1"'
        self.requests: list[dict[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(dict(self.headers))
                if owner.status != 200:
                    self.send_response(owner.status)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == owner.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", owner.etag)
                self.send_header("Last-Modified", "Tue, 10 Mar 2026 00:00:00 GMT")
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def _source(db: Database, url: str) -> int:
    with db.write() as session:
        return service.add_feed(session, SYSTEM, "news", url, 60).id


def test_polling_stores_entries_once_and_uses_conditional_get(
    db: Database, feed_server: FeedServer
) -> None:
    queue = TableQueue(db)
    source_id = _source(db, feed_server.url)
    assert poll_source(db, queue, Fetcher(), source_id) == 2
    assert poll_source(db, queue, Fetcher(), source_id) == 0  # 304 Not Modified
    assert feed_server.requests[1].get("If-None-Match") == '"v1"'
    assert feed_server.requests[1].get("If-Modified-Since") == "Tue, 10 Mar 2026 00:00:00 GMT"
    feed_server.etag = '"v2"'  # changed feed with the same entries: stored once
    assert poll_source(db, queue, Fetcher(), source_id) == 0
    with db.read() as session:
        items = session.scalars(select(Item).order_by(Item.id)).all()
        source = session.get(Source, source_id)
        jobs = session.scalars(select(QueueJob)).all()
    assert [i.external_id for i in items] == ["news-1", "https://news.example/2"]
    assert items[0].source == f"feed:{source_id}" and items[0].title == "某品牌手机电池起火"
    assert (source.etag, source.items_total, source.failures) == ('"v2"', 2, 0)
    assert [(j.kind, j.payload) for j in jobs] == [("analyse", {"item_ids": [i.id for i in items]})]


def test_a_failing_feed_backs_off_and_records_its_error(
    db: Database, feed_server: FeedServer, frozen_now
) -> None:
    queue = TableQueue(db)
    source_id = _source(db, feed_server.url)
    feed_server.body = b"<rss><channel><item><title>x</title></channel></rss>"
    assert poll_source(db, queue, Fetcher(), source_id) == 0
    with db.read() as session:
        source = session.get(Source, source_id)
    assert source.failures == 1 and "malformed XML at line 1" in source.last_error
    assert source.next_poll_at == frozen_now + timedelta(seconds=120)
    feed_server.status = 503
    poll_source(db, queue, Fetcher(), source_id)
    with db.read() as session:
        source = session.get(Source, source_id)
    assert source.failures == 2 and source.last_error == f"HTTP 503 from {feed_server.url}"
    assert source.next_poll_at == frozen_now + timedelta(seconds=240)
    feed_server.status, feed_server.body = 200, RSS.encode()
    assert poll_source(db, queue, Fetcher(), source_id) == 2
    with db.read() as session:
        source = session.get(Source, source_id)
    assert (source.failures, source.last_error) == (0, None)


def test_due_feeds_are_enqueued_once(db: Database, frozen_now) -> None:
    queue = TableQueue(db)
    source_id = _source(db, "http://127.0.0.1:9/feed")
    assert feeds.enqueue_due_polls(db, queue) == 1
    assert feeds.enqueue_due_polls(db, queue) == 0  # claimed until its interval passes
    clock.freeze(frozen_now + timedelta(seconds=61))
    assert feeds.enqueue_due_polls(db, queue) == 1
    jobs = queue.claim("w", 10)
    assert [(j.kind, j.payload) for j in jobs] == [("poll_feed", {"source_id": source_id})] * 2


def test_feed_sources_are_validated(db: Database) -> None:
    from clamor.core.errors import ValidationError

    with db.write() as session, pytest.raises(ValidationError) as caught:
        service.add_feed(session, SYSTEM, "bad", "ftp://x/feed", 60)
    assert caught.value.field == "url"
