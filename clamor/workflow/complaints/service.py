"""Complaint cases: created from intake items (stored first, then analysed), moved only through
the transition table, with permissions checked and every change audited in the same transaction.

Personal data: the complainant's name, phone, e-mail and ID number are encrypted at rest
(`clamor.storage.crypto`); views mask them, and the raw values come out only through `reveal`
and `export_complainant`, which need `complaints.reveal_pii` and are written to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session, lazyload

from clamor.accounts.models import User
from clamor.analysis.dedup import duplicate_key, hamming
from clamor.analysis.pii import EMAIL, ID_NUMBER, MOBILE, find_pii, mask, redact
from clamor.analysis.pipeline import analyze_many
from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.errors import NotFoundError, PermissionDenied, Term, ValidationError
from clamor.core.principal import Principal
from clamor.intake.connectors.base import (
    ALLOWED_ATTACHMENT_TYPES,
    CHANNELS,
    MAX_ATTACHMENTS,
    AttachmentIn,
    ComplaintIn,
)
from clamor.intake.models import Item
from clamor.intake.service import ItemIn, store_item_ids
from clamor.org.models import Group
from clamor.storage import crypto
from clamor.workflow.complaints import search, sla_service
from clamor.workflow.complaints.contacts import normalize_email, normalize_phone
from clamor.workflow.complaints.models import (
    Attachment,
    CaseEvent,
    Communication,
    Complainant,
    ComplaintCase,
)
from clamor.workflow.complaints.states import CaseAction, CaseState, allowed_actions, apply
from clamor.workflow.complaints.tracking import parse_tracking_code, tracking_code
from clamor.workflow.transitions import SlaEffect
from clamor.workflow.vocabulary import ALL_PERMISSIONS, Perm, Priority, RiskCategory

REPEAT_WINDOW = timedelta(days=30)
NEAR_DUPLICATE_BITS = 3
# Short texts ("退款", "发票开错了") are said alike by many different people: only texts with at
# least this many characters / words can make a case a repeat by their wording alone.
MIN_DUPLICATE_UNITS = 15
MAX_SUBJECT = 120
MAX_NAME = 200


# --- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contacts:
    """The contact details of a complaint, normalised (ValidationError names a bad field)."""

    name: str | None
    phone: str | None
    email: str | None
    id_number: str | None

    @property
    def any(self) -> bool:
        return any((self.name, self.phone, self.email, self.id_number))


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


MAX_TEXT = 50_000
MAX_ATTACHMENT_BYTES = 5_000_000


def _check_attachments(attachments: tuple[AttachmentIn, ...]) -> None:
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError.keyed(
            "error.complaints.too_many_attachments", field="attachments", max=MAX_ATTACHMENTS
        )
    for attachment in attachments:
        if attachment.content_type not in ALLOWED_ATTACHMENT_TYPES:
            raise ValidationError.keyed(
                "error.complaints.attachment_type",
                field="attachments",
                filename=attachment.filename,
                type=attachment.content_type,
            )
        if len(attachment.data) > MAX_ATTACHMENT_BYTES:
            raise ValidationError.keyed(
                "error.complaints.attachment_too_large",
                field="attachments",
                filename=attachment.filename,
                mb=MAX_ATTACHMENT_BYTES // 1_000_000,
            )


def check(incoming: ComplaintIn) -> Contacts:
    """Validate one complaint before anything is stored; returns its normalised contacts."""
    if incoming.channel not in CHANNELS:
        raise ValidationError.keyed(
            "error.complaints.one_of",
            field="channel",
            name=Term("error.complaints.field.channel"),
            allowed=", ".join(CHANNELS),
        )
    if not incoming.text.strip() and not (incoming.title or "").strip():
        raise ValidationError.keyed("error.complaints.complaint_text_empty", field="text")
    if len(incoming.text) > MAX_TEXT:
        raise ValidationError.keyed("error.complaints.text_too_long", field="text", max=MAX_TEXT)
    if not incoming.external_id.strip() or len(incoming.external_id) > 200:
        raise ValidationError.keyed("error.complaints.external_id_length", field="external_id")
    if incoming.received_at is not None:
        if incoming.received_at.tzinfo is None:
            raise ValidationError.keyed("error.complaints.received_at_zone", field="received_at")
        if incoming.received_at > clock.now() + timedelta(minutes=5):
            raise ValidationError.keyed("error.complaints.received_at_future", field="received_at")
    _check_attachments(incoming.attachments)
    name = _blank(incoming.name)
    if name and len(name) > MAX_NAME:
        raise ValidationError.keyed("error.complaints.name_too_long", field="name", max=MAX_NAME)
    phone = normalize_phone(incoming.phone) if _blank(incoming.phone) else None
    email = normalize_email(incoming.email) if _blank(incoming.email) else None
    id_number = _blank(incoming.id_number)
    if id_number and len(id_number) > 32:
        raise ValidationError.keyed("error.complaints.id_number_too_long", field="id_number")
    return Contacts(name, phone, email, id_number)


# --- creating cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    case: ComplaintCase
    created: bool  # False: the same channel and external id arrived before


@dataclass(frozen=True, slots=True)
class SubmittedId:
    """What a batch answer needs of one complaint's case, without loading the case."""

    case_id: int
    tracking_code: str
    created: bool  # False: the same channel and external id arrived before


PRIORITY_THRESHOLDS = ((60, Priority.URGENT), (40, Priority.HIGH), (15, Priority.NORMAL))


def priority_for(severity: int) -> Priority:
    """Priority from the analysis' severity score (0–100)."""
    for threshold, priority in PRIORITY_THRESHOLDS:
        if severity >= threshold:
            return priority
    return Priority.LOW


def category_for(label: str) -> str:
    try:
        return RiskCategory(label).value
    except ValueError:
        return RiskCategory.OTHER.value


def _subject(incoming: ComplaintIn) -> str:
    """The title, else the first line; personal data in it masked (it is shown in lists)."""
    title = _blank(incoming.title)
    if not title:
        title = incoming.text.strip().splitlines()[0] if incoming.text.strip() else "—"
    return redact(title)[:MAX_SUBJECT]


def _item_in(incoming: ComplaintIn) -> ItemIn:
    return ItemIn(
        kind="complaint",
        source=incoming.channel,
        external_id=incoming.external_id,
        text=incoming.text,
        title=_blank(incoming.title),
        published_at=incoming.received_at,
        meta=incoming.meta,
    )


def submit(session: Session, actor: Principal, batch: Sequence[ComplaintIn]) -> list[Submitted]:
    """`submit_ids`, with each complaint's case loaded (its complainant only when asked for)."""
    outcomes = submit_ids(session, actor, batch)
    cases: dict[int, ComplaintCase] = {}
    for chunk in _chunks(sorted({o.case_id for o in outcomes})):
        query = (
            select(ComplaintCase)
            .where(ComplaintCase.id.in_(chunk))
            .options(lazyload(ComplaintCase.complainant))
        )
        cases.update({case.id: case for case in session.scalars(query)})
    return [Submitted(cases[o.case_id], o.created) for o in outcomes]


def submit_ids(
    session: Session, actor: Principal, batch: Sequence[ComplaintIn]
) -> list[SubmittedId]:
    """Store, analyse and open a case for each complaint; one that arrived before (same channel
    and external id) returns its existing case. Raises ValidationError (naming the field) before
    storing anything when any complaint is invalid. Results in input order.

    Written in bulk, in the caller's transaction: whatever the batch size, a handful of
    executemany statements (items with their analyses, complainants, cases, events,
    attachments, search postings), a few look-ups for repeats, and one audit entry for the
    batch. No case object is built: the ids and tracking codes come from the rows written."""
    contacts = [check(incoming) for incoming in batch]
    now = clock.now()
    analysed: dict[tuple[str, str], Any] = {}

    def analyse(fresh: list[ItemIn]) -> list[dict[str, Any]]:
        """Only what is not stored yet is analysed; the analysis goes in with the item."""
        results = analyze_many([item.text for item in fresh])
        analysed.update({(i.source, i.external_id): a for i, a in zip(fresh, results, strict=True)})
        return [{"analysis": a.to_dict(), "analysed_at": now} for a in results]

    # Ids only: the new items' values are the complaints' own (and `now`), no ORM object each.
    items = [_item_in(incoming) for incoming in batch]
    stored = store_item_ids(session, items, analyse, now=now)
    fresh = [i for i, s in enumerate(stored) if s.created]
    news = [
        _new_case(batch[i], contacts[i], stored[i].item_id, analysed[_key(items[i])], now)
        for i in fresh
    ]
    if news:
        _open_cases(session, actor, news, [batch[i] for i in fresh], now)
    return _outcomes(session, [(s.item_id, s.created) for s in stored], news)


def _key(item: ItemIn) -> tuple[str, str]:
    return item.source, item.external_id


def _open_cases(
    session: Session,
    actor: Principal,
    news: list[_NewCase],
    incoming: list[ComplaintIn],
    now: datetime,
) -> None:
    """Write the new cases with their repeat links, first events, attachments, search postings
    and the batch's audit entry."""
    # Until inserted, a new case has a provisional id above every stored one, in arrival order
    # (as its real id will be): repeat detection runs before the insert, so that a link to an
    # earlier stored case goes in with the row and only a link inside the batch is updated.
    for number, new in enumerate(news):
        new.id = PROVISIONAL_ID + number
    links = _repeat_links(session, [new.prior() for new in news])
    for new in news:
        if new.id in links:
            new.row["repeat_of_id"], new.row["repeat_reason"] = links[new.id]
    _insert_cases(session, news, now)
    _link_inside_batch(session, news)
    _insert_records(session, actor, news, incoming, now)
    search.index_cases(session, [(n.id, n.row["subject"], n.text) for n in news])
    _audit_created(session, actor, news)


def _outcomes(
    session: Session, stored: list[tuple[int, bool]], news: list[_NewCase]
) -> list[SubmittedId]:
    """Each complaint's case id and tracking code: the new ones as written, the others (sent
    before) read in one look-up per 500."""
    cases = {n.row["item_id"]: (n.id, n.row["tracking_code"]) for n in news}
    known = sorted({item_id for item_id, _ in stored} - cases.keys())
    for chunk in _chunks(known):
        columns = (ComplaintCase.item_id, ComplaintCase.id, ComplaintCase.tracking_code)
        rows = session.execute(select(*columns).where(ComplaintCase.item_id.in_(chunk)))
        cases.update({item_id: (case_id, code) for item_id, case_id, code in rows})
    return [SubmittedId(*cases[item_id], created) for item_id, created in stored]


# Above every id a case is given (the ids are 32-bit integers on PostgreSQL).
PROVISIONAL_ID = 2**40


@dataclass
class _NewCase:
    """A case about to be inserted: its row, its complainant's row, and what repeat detection
    needs (plain values: bulk inserts, no ORM objects per complaint)."""

    row: dict[str, Any]
    complainant: dict[str, Any] | None
    text: str
    id: int = 0
    # The provisional id of the batch's case this one repeats, until the ids are known.
    repeats_provisional: int | None = None

    def prior(self) -> _Prior:
        person = self.complainant or {}
        return _Prior(
            self.id,
            self.row["received_at"],
            self.row.get("repeat_of_id") or self.id,
            person.get("phone_hash"),
            person.get("email_hash"),
            self.row["dup_hash"],
        )


def _complainant(contacts: Contacts, language: str, now: datetime) -> dict[str, Any] | None:
    if not contacts.any:
        return None
    return {
        "name": contacts.name,
        "phone": contacts.phone,
        "email": contacts.email,
        "id_number": contacts.id_number,
        "phone_hash": crypto.keyed_hash(contacts.phone) if contacts.phone else None,
        "email_hash": crypto.keyed_hash(contacts.email) if contacts.email else None,
        "language": language,
        "created_at": now,
    }


def _new_case(
    incoming: ComplaintIn, contacts: Contacts, item_id: int, analysis: Any, now: datetime
) -> _NewCase:
    """The case of a complaint whose item (received `now`) was just stored."""
    # 45 random bits per code: a collision in a million cases has odds of about 1 in 70; the
    # unique constraint turns that rare event into a retried request instead of a wrong link.
    language = incoming.language or ("en" if analysis.language == "en" else "zh-CN")
    row: dict[str, Any] = {
        "tracking_code": tracking_code(),
        "item_id": item_id,
        "channel": incoming.channel,
        "subject": _subject(incoming),
        "language": language,
        "status": CaseState.RECEIVED.value,
        "priority": priority_for(analysis.severity.score).value,
        "category": category_for(analysis.category.label),
        "severity": analysis.severity.score,
        "p_negative": float(analysis.sentiment.p_negative),
        "received_at": incoming.received_at or now,
        "updated_at": now,
        "pauses": [],
        "sla_cycle": 0,
        "sla_state": "ok",
        "repeat_of_id": None,
        "repeat_reason": None,
    }
    row.update(_duplicate_key(incoming.text))
    return _NewCase(row, _complainant(contacts, language, now), incoming.text)


def _insert_complainants(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert complainant rows in one executemany; their ids, in the order of `rows`."""
    table = Complainant.__table__
    if session.get_bind().dialect.name != "sqlite":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.scalars(statement, rows).all())
    # SQLite has no insert sentinel: an ordered RETURNING would be sent one row per statement.
    # The ids are given instead, above the largest: a write session holds SQLite's only write
    # lock from its first statement (BEGIN IMMEDIATE), so they are this transaction's to take —
    # and a writer without the lock fails on the primary key rather than linking wrongly.
    start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    ids = list(range(start, start + len(rows)))
    session.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


def _insert_cases(session: Session, news: list[_NewCase], now: datetime) -> None:
    """Complainants, then cases (with their deadlines), each one executemany; gives each new
    case its id."""
    policies = sla_service.policy_set(session)
    calendar = sla_service.business_calendar(session)
    people = [(n, n.complainant) for n in news if n.complainant is not None]
    if people:
        person_ids = _insert_complainants(session, [person for _, person in people])
        for (new, _), person_id in zip(people, person_ids, strict=True):
            new.row["complainant_id"] = person_id
    deadlines: dict[tuple[str, str, datetime], tuple[Any, Any, str]] = {}
    for new in news:
        new.row.setdefault("complainant_id", None)
        key = (new.row["priority"], new.row["category"], new.row["received_at"])
        if key not in deadlines:  # a batch shares a few (priority, category, time) triples
            deadlines[key] = sla_service.initial_deadlines(*key, now, policies, calendar)
        first, resolution, state = deadlines[key]
        new.row.update(first_response_due_at=first, resolution_due_at=resolution, sla_state=state)
        # A link to a case of this batch is written once that case has its id.
        if (new.row["repeat_of_id"] or 0) >= PROVISIONAL_ID:
            new.repeats_provisional = new.row["repeat_of_id"]
            new.row["repeat_of_id"] = None
    # RETURNING the item id too (unique per case), not `sort_by_parameter_order`: SQLite has no
    # insert sentinel, so SQLAlchemy would send an ordered RETURNING one row per statement.
    table = ComplaintCase.__table__
    statement = insert(table).returning(table.c.id, table.c.item_id)
    rows = session.execute(statement, [n.row for n in news])
    case_ids = {item_id: case_id for case_id, item_id in rows}
    for new in news:
        new.id = case_ids[new.row["item_id"]]


def _link_inside_batch(session: Session, news: list[_NewCase]) -> None:
    """Repeat links to a case of the same batch, now that its id is known (one executemany)."""
    real = {PROVISIONAL_ID + number: new.id for number, new in enumerate(news)}
    linked = []
    for new in news:
        if new.repeats_provisional is not None:
            new.row["repeat_of_id"] = real[new.repeats_provisional]
            linked.append(new)
    if linked:
        table = ComplaintCase.__table__
        statement = (
            update(table)
            .where(table.c.id == bindparam("case_id"))
            .values(repeat_of_id=bindparam("repeat_of"))
        )
        session.execute(
            statement, [{"case_id": n.id, "repeat_of": n.row["repeat_of_id"]} for n in linked]
        )


def _insert_records(
    session: Session,
    actor: Principal,
    news: list[_NewCase],
    incoming: list[ComplaintIn],
    now: datetime,
) -> None:
    """Each new case's first event and its attachments."""
    events = [
        {
            "case_id": new.id,
            "at": now,
            "actor": actor.username,
            "action": "create",
            "from_status": None,
            "to_status": new.row["status"],
            "reason": None,
            "data": {"channel": new.row["channel"], "repeat_of": new.row["repeat_of_id"]},
        }
        for new in news
    ]
    session.execute(insert(CaseEvent.__table__), events)
    attachments = [
        _attachment(new.id, attachment)
        for new, complaint in zip(news, incoming, strict=True)
        for attachment in complaint.attachments
    ]
    if attachments:
        session.execute(insert(Attachment.__table__), attachments)


def _audit_created(session: Session, actor: Principal, cases: list[_NewCase]) -> None:
    summary = [
        {
            "id": case.id,
            "tracking_code": case.row["tracking_code"],
            "channel": case.row["channel"],
            "priority": case.row["priority"],
            "category": case.row["category"],
            "item_id": case.row["item_id"],
        }
        for case in cases
    ]
    object_id = str(cases[0].id) if len(cases) == 1 else f"{cases[0].id}..{cases[-1].id}"
    after: dict[str, Any] = summary[0] if len(cases) == 1 else {"cases": summary}
    audit.record(session, actor, "complaint.create", "complaint", object_id, after=after)


def _attachment(case_id: int, incoming: AttachmentIn) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "filename": incoming.filename[:255],
        "content_type": incoming.content_type[:100],
        "size": len(incoming.data),
        "sha256": hashlib.sha256(incoming.data).hexdigest(),
        "data": incoming.data,
    }


# --- repeats ----------------------------------------------------------------------------------


def _bands(value: int) -> tuple[int, int, int, int]:
    return value & 0xFFFF, (value >> 16) & 0xFFFF, (value >> 32) & 0xFFFF, value >> 48 & 0xFFFF


def _duplicate_key(text: str) -> dict[str, Any]:
    """The case columns of its near-duplicate key (all None for a short text)."""
    key = duplicate_key(text)
    if key is None or key.units < MIN_DUPLICATE_UNITS:
        return dict.fromkeys(("dup_hash", "dup_band0", "dup_band1", "dup_band2", "dup_band3"))
    bands = _bands(key.simhash)
    return {"dup_hash": f"{key.simhash:016x}", **{f"dup_band{i}": bands[i] for i in range(4)}}


@dataclass(frozen=True)
class _Prior:
    id: int
    received_at: datetime
    root: int  # the first case of its repeat chain
    phone_hash: str | None
    email_hash: str | None
    dup_hash: str | None


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


_CASE_COLUMNS = (ComplaintCase.id, ComplaintCase.received_at, ComplaintCase.repeat_of_id)
_CONTACT_COLUMNS = (Complainant.phone_hash, Complainant.email_hash)


def _prior_row(row: Any) -> _Prior:
    root = row.repeat_of_id or row.id
    return _Prior(row.id, row.received_at, root, row.phone_hash, row.email_hash, row.dup_hash)


def _by_contact(
    session: Session, column: Any, hashes: list[str], since: datetime, until: datetime
) -> list[_Prior]:
    """Every stored case received in [since, until] whose complainant's `column` (the phone or
    e-mail hash) is one of `hashes`."""
    query = (
        select(*_CASE_COLUMNS, *_CONTACT_COLUMNS, ComplaintCase.dup_hash)
        .join(Complainant, Complainant.id == ComplaintCase.complainant_id)
        .where(column.in_(hashes), ComplaintCase.received_at.between(since, until))
    )
    return [_prior_row(row) for row in session.connection().execute(query)]


def _latest_by_contact(
    session: Session, column: Any, hashes: list[str], since: datetime, until: datetime
) -> list[_Prior]:
    """For each of `hashes`, its latest stored case received in [since, until] (by received_at,
    then id, as `_latest` orders), ranked by the database: one row per complainant, however many
    cases they have."""
    rank = func.row_number().over(
        partition_by=column,
        order_by=(ComplaintCase.received_at.desc(), ComplaintCase.id.desc()),
    )
    ranked = (
        select(*_CASE_COLUMNS, *_CONTACT_COLUMNS, ComplaintCase.dup_hash, rank.label("rank"))
        .join(Complainant, Complainant.id == ComplaintCase.complainant_id)
        .where(column.in_(hashes), ComplaintCase.received_at.between(since, until))
        .subquery()
    )
    query = select(ranked).where(ranked.c.rank == 1)
    return [_prior_row(row) for row in session.connection().execute(query)]


def _contact_candidates(
    session: Session, mine: list[_Prior], since: datetime, until: datetime
) -> list[_Prior]:
    """The stored cases that can be the contact link of one of `mine`: per phone / e-mail hash
    its latest case up to `until` — the answer for each of `mine` received no earlier than it.
    For a hash whose latest case came after one of `mine` (an import of past complaints), all
    of its cases in the window are read, as the latest before that one is wanted."""
    found: dict[int, _Prior] = {}
    for column in _CONTACT_COLUMNS:
        first_of: dict[str, datetime] = {}  # hash → the earliest of `mine` with it
        for prior in mine:
            value = getattr(prior, column.key)
            if value and (value not in first_of or prior.received_at < first_of[value]):
                first_of[value] = prior.received_at
        later: list[str] = []
        for chunk in _chunks(sorted(first_of)):
            for prior in _latest_by_contact(session, column, chunk, since, until):
                found[prior.id] = prior
                value = getattr(prior, column.key)
                if prior.received_at > first_of[value]:
                    later.append(value)
        for chunk in _chunks(sorted(later)):
            found.update({p.id: p for p in _by_contact(session, column, chunk, since, until)})
    return list(found.values())


def _near_duplicate_candidates(
    session: Session, mine: list[_Prior], since: datetime, until: datetime
) -> list[_Prior]:
    """Stored cases received in [since, until] sharing a SimHash band with one of `mine` (each
    band has an index). Their contacts are not read: a contact link is found by
    `_contact_candidates`, which holds the latest case of every contact that can link."""
    hashes = [int(p.dup_hash, 16) for p in mine if p.dup_hash]
    found: dict[int, _Prior] = {}
    for band in range(4):
        column = getattr(ComplaintCase, f"dup_band{band}")
        for chunk in _chunks(sorted({_bands(h)[band] for h in hashes})):
            query = select(*_CASE_COLUMNS, ComplaintCase.dup_hash).where(
                column.in_(chunk), ComplaintCase.received_at.between(since, until)
            )
            for row in session.connection().execute(query):  # plain rows: no ORM loading
                found[row.id] = _Prior(
                    row.id, row.received_at, row.repeat_of_id or row.id, None, None, row.dup_hash
                )
    return list(found.values())


class _RepeatIndex:
    """Earlier cases by contact hash and by SimHash band, for matching one case quickly."""

    def __init__(self, priors: Iterable[_Prior] = ()) -> None:
        self.by_contact: dict[str, list[_Prior]] = {}
        self.by_band: dict[tuple[int, int], list[_Prior]] = {}
        for prior in priors:
            self.add(prior)

    def add(self, prior: _Prior) -> None:
        for key in (prior.phone_hash, prior.email_hash):
            if key:
                self.by_contact.setdefault(key, []).append(prior)
        if prior.dup_hash:
            for band, value in enumerate(_bands(int(prior.dup_hash, 16))):
                self.by_band.setdefault((band, value), []).append(prior)

    def by_same_contact(self, mine: _Prior) -> list[_Prior]:
        keys = [k for k in (mine.phone_hash, mine.email_hash) if k]
        return [p for key in keys for p in self.by_contact.get(key, [])]

    def near_duplicates(self, mine: _Prior) -> list[_Prior]:
        if not mine.dup_hash:
            return []
        value = int(mine.dup_hash, 16)
        candidates = {
            p.id: p
            for band, part in enumerate(_bands(value))
            for p in self.by_band.get((band, part), [])
        }
        return [
            p
            for p in candidates.values()
            if p.dup_hash and hamming(value, int(p.dup_hash, 16)) <= NEAR_DUPLICATE_BITS
        ]


def _latest(mine: _Prior, candidates: list[_Prior]) -> _Prior | None:
    earlier = [
        p
        for p in candidates
        if p.id != mine.id and mine.received_at - REPEAT_WINDOW <= p.received_at <= mine.received_at
    ]
    return max(earlier, key=lambda p: (p.received_at, p.id), default=None)


def _without_contact_link(mine: list[_Prior], stored: list[_Prior]) -> list[_Prior]:
    """Those of `mine` (in arrival order) that no stored case nor earlier one of `mine` links to
    by contact: only they can be near-duplicate repeats."""
    index = _RepeatIndex(stored)
    alone = []
    for prior in mine:
        if _latest(prior, index.by_same_contact(prior)) is None:
            alone.append(prior)
        index.add(prior)
    return alone


def _repeat_links(session: Session, mine: list[_Prior]) -> dict[int, tuple[int, str]]:
    """case id → (first case of its chain, "contact" | "text") for those of `mine` (new cases,
    in arrival order, not stored yet) that repeat an earlier case — stored, or earlier in
    `mine`: the latest one within the window from the same contact (normalised phone or
    e-mail), else the latest with near-duplicate text; across channels.

    A few look-ups whatever the batch and the table: the latest case per contact, and the
    near-duplicate candidates of only those cases that no contact links."""
    if not mine:
        return {}
    since = min(p.received_at for p in mine) - REPEAT_WINDOW
    until = max(p.received_at for p in mine)
    stored = _contact_candidates(session, mine, since, until)
    alone = [p for p in _without_contact_link(mine, stored) if p.dup_hash]
    stored += _near_duplicate_candidates(session, alone, since, until)
    index = _RepeatIndex(stored)
    links: dict[int, tuple[int, str]] = {}
    for prior in mine:
        hit, reason = _latest(prior, index.by_same_contact(prior)), "contact"
        if hit is None:
            hit, reason = _latest(prior, index.near_duplicates(prior)), "text"
        if hit is not None:
            links[prior.id] = (hit.root, reason)
            prior = replace(prior, root=hit.root)
        index.add(prior)
    return links


# --- transitions ------------------------------------------------------------------------------


def permissions_of(actor: Principal) -> frozenset[str]:
    """The actor's permissions as the transition table reads them ('*' means all)."""
    return ALL_PERMISSIONS if "*" in actor.permissions else actor.permissions


def get_case(session: Session, case_id: int) -> ComplaintCase:
    case = session.get(ComplaintCase, case_id)
    if case is None:
        raise NotFoundError.keyed("error.complaints.no_case", id=case_id)
    return case


def find_by_code(session: Session, code: str) -> ComplaintCase | None:
    canonical = parse_tracking_code(code)
    return session.scalar(select(ComplaintCase).where(ComplaintCase.tracking_code == canonical))


def actions_for(actor: Principal, case: ComplaintCase) -> tuple[str, ...]:
    return allowed_actions(CaseState(case.status), permissions_of(actor))


def _resolve_fields(session: Session, case: ComplaintCase, fields: dict[str, Any]) -> None:
    """Turn what a person typed (a tracking code, a user name) into ids, naming bad fields."""
    fields["case_id"] = case.id
    target = fields.get("target_case")
    if isinstance(target, str) and target.strip():
        target = target.strip()
        if target.isdigit():
            fields["target_case"] = int(target)
        else:
            try:
                found = find_by_code(session, target)
            except ValidationError as exc:
                raise ValidationError.keyed(
                    "error.complaints.detail", field="target_case", detail=exc
                ) from exc
            if found is None:
                raise NotFoundError.keyed(
                    "error.complaints.no_case_code", field="target_case", code=target
                )
            fields["target_case"] = found.id
    for name in ("assignee_group", "assignee_user", "incident_id"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip() or None


def _assignee(session: Session, fields: dict[str, Any]) -> tuple[int | None, int | None]:
    group_id = user_id = None
    group = fields.get("assignee_group")
    if group is not None:
        found = session.scalar(
            select(Group.id).where(or_(Group.key == str(group), Group.id == _as_int(group)))
        )
        if found is None:
            raise ValidationError.keyed(
                "error.complaints.no_group", field="assignee_group", group=group
            )
        group_id = found
    user = fields.get("assignee_user")
    if user is not None:
        found = session.scalar(
            select(User.id).where(or_(User.username == str(user), User.id == _as_int(user)))
        )
        if found is None:
            raise ValidationError.keyed(
                "error.complaints.no_user", field="assignee_user", user=user
            )
        user_id = found
    return group_id, user_id


def _as_int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _communication(
    case: ComplaintCase, actor: Principal, kind: str, body: str, subject: str | None = None
) -> Communication:
    return Communication(
        case_id=case.id,
        at=clock.now(),
        direction="out",
        kind=kind,
        author=actor.display_name,
        subject=subject,
        body=body,
    )


def _merge_target(session: Session, case: ComplaintCase, target_id: int) -> ComplaintCase:
    target = session.get(ComplaintCase, target_id)
    if target is None:
        raise NotFoundError.keyed("error.complaints.no_case", field="target_case", id=target_id)
    if target.status == CaseState.MERGED.value:
        raise ValidationError.keyed("error.complaints.target_merged", field="target_case")
    return target


def act(
    session: Session,
    actor: Principal,
    case_id: int,
    action: str,
    fields: dict[str, Any] | None = None,
) -> ComplaintCase:
    """Take one action on a case: checked against the table and the actor's permissions,
    written with its effects, an event and an audit entry (with the reason) — or not at all."""
    case = get_case(session, case_id)
    values = dict(fields or {})
    _resolve_fields(session, case, values)
    transition = apply(CaseState(case.status), action, permissions_of(actor), values)
    now = clock.now()
    before = {"status": case.status, "assignee_user_id": case.assignee_user_id}
    _effects(session, actor, case, action, values, now)
    _sla_effects(case, transition.sla_effect, now)
    if CaseState(case.status) in sla_service.PAUSED_STATES and transition.target != case.status:
        sla_service.end_pause(case, now)
    if transition.pauses_sla and transition.changes_state:
        sla_service.start_pause(case, now)
    case.status = transition.target.value
    case.updated_at = now
    reason = _blank(values.get("reason"))
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor=actor.username,
            action=action,
            from_status=transition.source.value,
            to_status=case.status,
            reason=reason,
            data=_event_data(values),
        )
    )
    sla_service.refresh(
        case, now, sla_service.policy_set(session), sla_service.business_calendar(session)
    )
    audit.record(
        session,
        actor,
        f"complaint.{action}",
        "complaint",
        case.id,
        before=before,
        after={"status": case.status, "assignee_user_id": case.assignee_user_id},
        reason=reason,
    )
    return case


def _event_data(values: dict[str, Any]) -> dict[str, Any] | None:
    kept = {
        k: values[k]
        for k in ("assignee_group", "assignee_user", "target_case", "incident_id")
        if values.get(k) is not None
    }
    return kept or None


def _effects(
    session: Session,
    actor: Principal,
    case: ComplaintCase,
    action: str,
    values: dict[str, Any],
    now: datetime,
) -> None:
    if action == CaseAction.ASSIGN:
        case.assignee_group_id, case.assignee_user_id = _assignee(session, values)
    elif action == CaseAction.REQUEST_INFO:
        session.add(_communication(case, actor, "message", str(values["message"])))
    elif action == CaseAction.REPLY:
        session.add(
            _communication(case, actor, "reply", str(values["reply"]), values.get("subject"))
        )
    elif action == CaseAction.MERGE:
        target = _merge_target(session, case, int(values["target_case"]))
        case.merged_into_id = target.id
    elif action == CaseAction.ESCALATE:
        case.incident_id = _as_int(values["incident_id"])
        if case.incident_id < 0:
            raise ValidationError.keyed("error.complaints.incident_id_number", field="incident_id")


def _sla_effects(case: ComplaintCase, effect: SlaEffect, now: datetime) -> None:
    if effect is SlaEffect.FIRST_RESPONSE:
        case.first_responded_at = case.first_responded_at or now
    elif effect is SlaEffect.RESOLVED:
        case.resolved_at = now
        case.first_responded_at = case.first_responded_at or now
    elif effect is SlaEffect.CLOSED:
        case.closed_at = now
    elif effect is SlaEffect.REOPENED:
        case.sla_cycle += 1
        case.cycle_started_at = now
        case.resolved_at = None
        case.closed_at = None


def set_priority(
    session: Session, actor: Principal, case_id: int, priority: str, reason: str
) -> ComplaintCase:
    """Override the priority the analysis suggested (a new SLA promise); audited with reason."""
    actor.require(Perm.COMPLAINTS_ASSIGN.value)
    try:
        chosen = Priority(priority)
    except ValueError:
        raise ValidationError.keyed(
            "error.complaints.one_of",
            field="priority",
            name=Term("error.complaints.field.priority"),
            allowed=", ".join(p.value for p in Priority),
        ) from None
    if not reason.strip():
        raise ValidationError.keyed("error.complaints.priority_reason", field="reason")
    case = get_case(session, case_id)
    before = case.priority
    case.priority = chosen.value
    case.updated_at = clock.now()
    sla_service.refresh(
        case,
        case.updated_at,
        sla_service.policy_set(session),
        sla_service.business_calendar(session),
    )
    audit.record(
        session,
        actor,
        "complaint.set_priority",
        "complaint",
        case.id,
        before={"priority": before},
        after={"priority": case.priority},
        reason=reason.strip(),
    )
    return case


def add_communication(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    kind: str,
    direction: str,
    body: str,
    subject: str | None = None,
) -> Communication:
    """Log a call, message, e-mail or note on a case (needs complaints.handle)."""
    actor.require(Perm.COMPLAINTS_HANDLE.value)
    if kind not in ("call", "message", "email", "note"):
        raise ValidationError.keyed("error.complaints.comm_kind", field="kind")
    if direction not in ("in", "out", "internal"):
        raise ValidationError.keyed("error.complaints.comm_direction", field="direction")
    if not body.strip():
        raise ValidationError.keyed("error.complaints.body_empty", field="body")
    case = get_case(session, case_id)
    entry = Communication(
        case_id=case.id,
        at=clock.now(),
        direction=direction,
        kind=kind,
        author=actor.display_name,
        subject=_blank(subject),
        body=body.strip(),
    )
    session.add(entry)
    session.flush()
    audit.record(
        session, actor, "complaint.communication", "complaint", case.id, after={"kind": kind}
    )
    return entry


# --- reading, masked --------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactView:
    name: str | None
    phone: str | None
    email: str | None
    id_number: str | None
    erased: bool


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1)


def contact_view(person: Complainant | None, revealed: bool) -> ContactView | None:
    if person is None:
        return None
    if revealed:
        return ContactView(
            person.name, person.phone, person.email, person.id_number, person.erased_at is not None
        )
    return ContactView(
        name=mask_name(person.name) if person.name else None,
        phone=mask(person.phone, MOBILE) if person.phone else None,
        email=mask(person.email, EMAIL) if person.email else None,
        id_number=mask(person.id_number, ID_NUMBER) if person.id_number else None,
        erased=person.erased_at is not None,
    )


def masked_text(item: Item) -> str:
    """The complaint text with the personal data the analysis found replaced by masks."""
    return redact(item.text, find_pii(item.text))


def reveal(session: Session, actor: Principal, case_id: int) -> ComplaintCase:
    """Allow the raw personal data of one case to be shown; audited."""
    if not actor.can(Perm.COMPLAINTS_REVEAL_PII.value):
        raise PermissionDenied.keyed("error.complaints.reveal_needs_permission")
    case = get_case(session, case_id)
    audit.record(session, actor, "complaint.reveal_pii", "complaint", case.id)
    return case


# --- the public status page ------------------------------------------------------------------


def _contact_hashes(contact: str) -> tuple[str | None, str | None]:
    """(phone hash, e-mail hash) of what the visitor typed; whichever parses."""
    value = contact.strip()
    if "@" in value:
        try:
            return None, crypto.keyed_hash(normalize_email(value))
        except ValidationError:
            return None, None
    try:
        return crypto.keyed_hash(normalize_phone(value)), None
    except ValidationError:
        return None, None


def public_lookup(session: Session, code: str, contact: str) -> ComplaintCase | None:
    """The case with tracking `code` whose complainant gave `contact` — else None, the same for
    an unknown code as for a wrong contact. A mistyped code (bad check character) is a
    ValidationError: that tells the visitor nothing about any case."""
    canonical = parse_tracking_code(code)
    phone_hash, email_hash = _contact_hashes(contact)
    case = session.scalar(select(ComplaintCase).where(ComplaintCase.tracking_code == canonical))
    person = case.complainant if case is not None else None
    if person is None:
        return None
    phone_ok = bool(phone_hash and person.phone_hash) and hmac.compare_digest(
        str(phone_hash), str(person.phone_hash)
    )
    email_ok = bool(email_hash and person.email_hash) and hmac.compare_digest(
        str(email_hash), str(person.email_hash)
    )
    return case if phone_ok or email_ok else None


def public_events(session: Session, case: ComplaintCase) -> list[CaseEvent]:
    """The steps the complainant may see: status changes, without who or why."""
    return [
        event
        for event in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
        if event.from_status != event.to_status
    ]


# --- the complainant's rights: export and erasure ---------------------------------------------


def _complainant_or_404(session: Session, complainant_id: int) -> Complainant:
    person = session.get(Complainant, complainant_id)
    if person is None:
        raise NotFoundError.keyed("error.complaints.no_complainant", id=complainant_id)
    return person


def _cases_of(session: Session, person: Complainant) -> list[ComplaintCase]:
    return list(
        session.scalars(
            select(ComplaintCase)
            .where(ComplaintCase.complainant_id == person.id)
            .order_by(ComplaintCase.id)
        )
    )


def export_complainant(session: Session, actor: Principal, complainant_id: int) -> dict[str, Any]:
    """Everything held on one complainant (their right of access); audited."""
    if not actor.can(Perm.COMPLAINTS_REVEAL_PII.value):
        raise PermissionDenied.keyed("error.complaints.export_needs_permission")
    person = _complainant_or_404(session, complainant_id)
    cases = []
    for case in _cases_of(session, person):
        item = session.get(Item, case.item_id)
        comms = session.scalars(
            select(Communication).where(Communication.case_id == case.id).order_by(Communication.id)
        )
        cases.append(
            {
                "tracking_code": case.tracking_code,
                "channel": case.channel,
                "received_at": case.received_at.isoformat(),
                "status": case.status,
                "subject": case.subject,
                "text": item.text if item else "",
                "communications": [
                    {
                        "at": c.at.isoformat(),
                        "kind": c.kind,
                        "direction": c.direction,
                        "subject": c.subject,
                        "body": c.body,
                    }
                    for c in comms
                ],
            }
        )
    audit.record(session, actor, "complainant.export", "complainant", person.id)
    return {
        "complainant": {
            "name": person.name,
            "phone": person.phone,
            "email": person.email,
            "id_number": person.id_number,
            "language": person.language,
            "created_at": person.created_at.isoformat(),
        },
        "cases": cases,
    }


def erase_complainant(session: Session, actor: Principal, complainant_id: int, reason: str) -> int:
    """Erase a complainant's personal data on request; their cases stay, anonymised, for the
    statistics. Returns the number of cases anonymised."""
    if not actor.can(Perm.COMPLAINTS_REVEAL_PII.value):
        raise PermissionDenied.keyed("error.complaints.erase_needs_permission")
    if not reason.strip():
        raise ValidationError.keyed("error.complaints.erase_reason", field="reason")
    person = _complainant_or_404(session, complainant_id)
    person.name = person.phone = person.email = person.id_number = None
    person.phone_hash = person.email_hash = None
    person.erased_at = clock.now()
    cases = _cases_of(session, person)
    for case in cases:
        item = session.get(Item, case.item_id)
        before = (case.subject, item.text if item is not None else "")
        if item is not None:
            item.text = redact(item.text)
            if item.analysis:
                normalized = str(item.analysis.get("normalized_text", ""))
                item.analysis = {**item.analysis, "normalized_text": redact(normalized)}
            item.title = redact(item.title) if item.title else None
            item.author = None
            item.raw = None
        case.subject = redact(case.subject)
        for comm in session.scalars(select(Communication).where(Communication.case_id == case.id)):
            comm.body = redact(comm.body)
        # The erased words leave the search index too.
        search.reindex_case(session, case.id, before, (case.subject, item.text if item else ""))
    audit.record(
        session,
        actor,
        "complainant.erase",
        "complainant",
        person.id,
        after={"cases": len(cases)},
        reason=reason.strip(),
    )
    return len(cases)
