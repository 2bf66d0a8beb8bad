"""RSS 2.0 and Atom feeds: parsed with the standard library's XML parser (no DTDs, no
entities), fetched with conditional GET (ETag / Last-Modified), polled on each source's own
schedule with exponential back-off while it fails.

A connector is one small module: turn what the platform gives into `ItemIn`s and hand them to
`pipeline.ingest`. A feed that fails (HTTP error, network, malformed XML) records its error —
with the line and column for XML — on the source and is tried again later; nothing else stops.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import or_, select, update

from clamor.core import clock
from clamor.core.errors import ValidationError
from clamor.intake.service import ItemIn
from clamor.monitoring import pipeline
from clamor.monitoring.models import Source
from clamor.queue.base import Queue
from clamor.storage.database import Database

POLL_FEED = "poll_feed"
MAX_FEED_BYTES = 5_000_000
MAX_BACKOFF_SECONDS = 6 * 3600
ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


class FeedError(ValidationError):
    """A feed that could not be read; the message says where."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    external_id: str
    title: str | None
    text: str
    url: str | None
    author: str | None
    published_at: datetime | None


# -- parsing -----------------------------------------------------------------------------------


def parse_feed(data: bytes) -> list[FeedEntry]:
    """Entries of an RSS 2.0 or Atom document; FeedError names the line and column."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise FeedError.keyed("error.monitoring.feed_dtd", field="feed")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise FeedError.keyed(
            "error.monitoring.feed_malformed",
            field="feed",
            line=line,
            column=column + 1,
            detail=exc.msg,
        ) from None
    if root.tag == f"{ATOM}feed":
        return [_atom_entry(entry) for entry in root.iter(f"{ATOM}entry")]
    if root.tag in ("rss", "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"):
        return [_rss_entry(item) for item in root.iter() if _local(item.tag) == "item"]
    raise FeedError.keyed("error.monitoring.feed_not_rss", field="feed", root=_local(root.tag))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    value = "".join(element.itertext()).strip()
    return value or None


def _child(element: ET.Element, *names: str) -> ET.Element | None:
    for name in names:
        found = element.find(name)
        if found is not None:
            return found
    for child in element:  # RSS 1.0 and other namespaced variants
        if _local(child.tag) in {_local(n) for n in names}:
            return child
    return None


def _rss_entry(item: ET.Element) -> FeedEntry:
    title = _text(_child(item, "title"))
    link = _text(_child(item, "link"))
    body = _text(_child(item, f"{CONTENT}encoded", "description")) or ""
    guid = _text(_child(item, "guid"))
    published = _date(_text(_child(item, "pubDate", f"{DC}date")))
    author = _text(_child(item, "author", f"{DC}creator"))
    return FeedEntry(_identity(guid, link, title, body), title, body, link, author, published)


def _atom_entry(entry: ET.Element) -> FeedEntry:
    title = _text(entry.find(f"{ATOM}title"))
    link = None
    for candidate in entry.findall(f"{ATOM}link"):
        if candidate.get("rel", "alternate") == "alternate":
            link = candidate.get("href")
            break
    body = _text(entry.find(f"{ATOM}content")) or _text(entry.find(f"{ATOM}summary")) or ""
    identity = _text(entry.find(f"{ATOM}id"))
    published = _date(_text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated")))
    author = _text(entry.find(f"{ATOM}author/{ATOM}name"))
    return FeedEntry(_identity(identity, link, title, body), title, body, link, author, published)


def _identity(*parts: str | None) -> str:
    for part in parts[:2]:
        if part:
            return part[:200]
    digest = hashlib.sha256("\n".join(p or "" for p in parts).encode()).hexdigest()
    return f"sha256:{digest[:40]}"


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def entry_to_item(source: Source, entry: FeedEntry) -> ItemIn:
    return ItemIn(
        kind="post",
        source=f"feed:{source.id}",
        external_id=entry.external_id,
        text=entry.text or entry.title or "",
        title=entry.title,
        url=entry.url,
        author=entry.author,
        published_at=entry.published_at,
        meta={"source_name": source.name},
    )


# -- fetching ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None


class Fetcher:
    """Conditional GET over HTTP(S)."""

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout

    def fetch(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {"User-Agent": "Clamor feed poller", "Accept": "application/rss+xml, */*"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with (
            httpx.Client(timeout=self.timeout, follow_redirects=True) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise FeedError.keyed(
                        "error.monitoring.feed_too_large", field="feed", max=MAX_FEED_BYTES
                    )
            return FetchResult(
                response.status_code,
                body,
                response.headers.get("etag"),
                response.headers.get("last-modified"),
            )


# -- polling -----------------------------------------------------------------------------------


def backoff_seconds(interval: int, failures: int) -> int:
    return min(MAX_BACKOFF_SECONDS, interval * 2 ** max(0, failures))


def poll_source(db: Database, queue: Queue, fetcher: Fetcher, source_id: int) -> int:
    """Fetch one feed and ingest its new entries; returns how many items were new.

    Failures are recorded on the source (and delay its next poll), not raised: a broken feed
    must not park the job or stop other feeds.
    """
    with db.read() as session:
        source = session.get(Source, source_id)
        if source is None or not source.enabled or source.kind != "feed" or not source.url:
            return 0
        url, etag, last_modified = source.url, source.etag, source.last_modified
    try:
        result = fetcher.fetch(url, etag, last_modified)
        if result.status == 304:
            entries: list[FeedEntry] = []
        elif result.status >= 400:
            raise FeedError.keyed(
                "error.monitoring.feed_http", field="url", status=result.status, url=url
            )
        else:
            entries = parse_feed(result.body)
    except (FeedError, httpx.HTTPError) as exc:
        message = exc.message if isinstance(exc, FeedError) else f"{type(exc).__name__}: {exc}"
        _record_failure(db, source_id, message)
        return 0
    now = clock.now()
    with db.write() as session:
        source = session.get(Source, source_id)
        if source is None:
            return 0
        stored = pipeline.ingest(session, queue, [entry_to_item(source, e) for e in entries])
        created = sum(1 for s in stored if s.created)
        if result.status != 304:
            source.etag = result.etag
            source.last_modified = result.last_modified
        source.failures = 0
        source.last_error = None
        source.last_polled_at = now
        source.next_poll_at = now + timedelta(seconds=source.interval_seconds)
        source.items_total += created
    return created


def _record_failure(db: Database, source_id: int, message: str) -> None:
    now = clock.now()
    with db.write() as session:
        source = session.get(Source, source_id)
        if source is None:
            return
        source.failures += 1
        source.last_error = message[:2000]
        source.last_polled_at = now
        source.next_poll_at = now + timedelta(
            seconds=backoff_seconds(source.interval_seconds, source.failures)
        )


def enqueue_due_polls(db: Database, queue: Queue) -> int:
    """Enqueue a poll for every feed that is due; each is claimed by a conditional UPDATE, so
    several workers ticking at once enqueue it once."""
    now = clock.now()
    with db.read() as session:
        due = session.execute(
            select(Source.id, Source.interval_seconds).where(
                Source.kind == "feed",
                Source.enabled.is_(True),
                or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now),
            )
        ).all()
    enqueued = 0
    for source_id, interval in due:
        with db.write() as session:
            claimed = session.execute(
                update(Source)
                .where(
                    Source.id == source_id,
                    or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now),
                )
                .values(next_poll_at=now + timedelta(seconds=interval))
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed == 1:
                queue.enqueue(POLL_FEED, {"source_id": source_id}, session=session)
                enqueued += 1
    return enqueued
