"""Delivering the outbox: plan each pending message into deliveries (e-mail addresses of the
people it concerns, webhooks subscribed to their group), then send what is due, with retries
and back-off, recording every attempt.

    outbox row ("group:leadership")
        └─ plan() ─► Delivery(email a@x) · Delivery(email b@x) · Delivery(webhook:3)
                         └─ run_due() ─► DeliveryAttempt … until delivered (or failed)

Nothing is lost: a message stays in the outbox and its deliveries stay pending while a server is
down; each attempt pushes the next one back (30 s, 1 min, 2 min … at most an hour) until
`MAX_ATTEMPTS`. A delivery is claimed with a conditional UPDATE (exactly one row changed) before
it is sent, so two workers never send the same one; a worker that dies mid-send leaves a claim
that is released after `CLAIM_TIMEOUT` (at least once, never silently dropped).

Quiet hours: e-mail to a person inside their quiet hours waits until the hours end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clamor.core import clock
from clamor.core.config import Settings
from clamor.notify.channels import DeliveryError, Message, SmtpSender, WebhookSender
from clamor.notify.models import Outbox
from clamor.notify.tables import Delivery, DeliveryAttempt, Preference, WebhookEndpoint
from clamor.org.models import Group, Membership, Person
from clamor.storage.database import Database

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
PLANNED = "planned"  # outbox state once its deliveries exist
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
CLAIM_TIMEOUT = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 30 s, 1 min, 2 min, … at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


# --- planning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    channel: str  # email | webhook
    address: str  # e-mail address or "webhook:<id>"
    user_id: int | None = None


def _group(session: Session, ref: str) -> Group | None:
    if ref.isdigit():
        return session.get(Group, int(ref))
    found = session.scalar(select(Group).where(Group.key == ref))
    return found or session.scalar(select(Group).where(Group.kind == ref).order_by(Group.id))


def _people(session: Session, group: Group, leader_only: bool) -> list[Person]:
    query = (
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.group_id == group.id)
    )
    if leader_only:
        query = query.where(Membership.role == "leader")
    return list(session.scalars(query.order_by(Person.id)))


def _webhooks(session: Session, group_key: str | None) -> list[Destination]:
    found = []
    for hook in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))):
        if "*" in hook.groups or (group_key is not None and group_key in hook.groups):
            found.append(Destination("webhook", f"webhook:{hook.id}"))
    return found


def destinations(session: Session, row: Outbox) -> list[Destination]:
    """Who an outbox row reaches: an address as given; a user's e-mail; a group's members'
    e-mails (or its leader's) plus the webhooks subscribed to that group; with
    `webhooks:<group>`, only those webhooks."""
    recipient = row.recipient.strip()
    if row.channel == "email" and "@" in recipient and ":" not in recipient:
        return [Destination("email", recipient)]
    kind, _, ref = recipient.partition(":")
    people: list[Person] = []
    group_key: str | None = None
    if kind == "webhooks":  # only the group bots subscribed to the group (briefings)
        group = _group(session, ref)
        return _webhooks(session, group.key if group else ref)
    if kind == "user" and ref.isdigit():
        person = session.scalar(select(Person).where(Person.user_id == int(ref)))
        people = [person] if person else []
    elif kind in ("group", "leader"):
        ref, _, role = ref.partition(":")
        group = _group(session, ref)
        if group is not None:
            group_key = group.key
            people = _people(session, group, leader_only=kind == "leader" or role == "leader")
    found = [Destination("email", p.email, p.user_id) for p in people if p.email]
    return found + _webhooks(session, group_key)


def _quiet_until(pref: Preference | None, now: datetime) -> datetime | None:
    if pref is None or not pref.quiet_start or not pref.quiet_end:
        return None
    zone = ZoneInfo(pref.timezone)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(pref.quiet_start), time.fromisoformat(pref.quiet_end)
    t = local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, zone).astimezone(now.tzinfo)


def plan(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Turn pending outbox rows into deliveries (idempotent). Returns the deliveries made."""
    now = now or clock.now()
    made = 0
    rows = session.scalars(
        select(Outbox).where(Outbox.state == PENDING).order_by(Outbox.id).limit(limit)
    ).all()
    for row in rows:
        # Claim the row first (exactly one row changed): two workers planning at once never
        # both expand it; the loser skips it.
        claimed = session.execute(
            update(Outbox).where(Outbox.id == row.id, Outbox.state == PENDING).values(state=PLANNED)
        ).rowcount
        if claimed != 1:
            continue
        seen: set[str] = set()
        for target in destinations(session, row):
            if target.address in seen:
                continue
            seen.add(target.address)
            pref = (
                session.scalar(select(Preference).where(Preference.user_id == target.user_id))
                if target.user_id is not None
                else None
            )
            if target.channel == "email" and pref is not None and not pref.email:
                continue
            session.add(
                Delivery(
                    outbox_id=row.id,
                    channel=target.channel,
                    destination=target.address,
                    state=PENDING,
                    attempts=0,
                    next_attempt_at=_quiet_until(pref, now) or now,
                    created_at=now,
                )
            )
            made += 1
    session.flush()
    return made


# --- sending -----------------------------------------------------------------------------------


@dataclass
class Senders:
    smtp: SmtpSender | None
    webhooks: WebhookSender


@dataclass
class RunResult:
    planned: int = 0
    delivered: int = 0
    failed: int = 0  # attempts that failed this run
    gave_up: list[int] = field(default_factory=list)


def _claim(db: Database, delivery_id: int, now: datetime) -> bool:
    with db.write() as session:
        changed = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == PENDING)
            .values(state=SENDING, claimed_at=now)
        ).rowcount
    return changed == 1


def _release_stale_claims(session: Session, now: datetime) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.state == SENDING, Delivery.claimed_at < now - CLAIM_TIMEOUT)
        .values(state=PENDING)
    )


@dataclass(frozen=True)
class _Job:
    channel: str
    destination: str
    message: Message
    hook: tuple[str, str, str | None] | None  # kind, url, secret


def _job(session: Session, delivery_id: int) -> _Job:
    delivery = session.get(Delivery, delivery_id)
    row = session.get(Outbox, delivery.outbox_id) if delivery else None
    if delivery is None or row is None:
        raise DeliveryError("the outbox message is gone")
    message = Message(
        key=f"clamor-{delivery.id}",
        subject=row.subject,
        body=row.body,
        created_at=row.created_at.isoformat(),
    )
    hook = None
    if delivery.channel == "webhook":
        endpoint = session.get(WebhookEndpoint, int(delivery.destination.removeprefix("webhook:")))
        if endpoint is None or not endpoint.active:
            raise DeliveryError(f"{delivery.destination} no longer exists or is inactive")
        hook = (endpoint.kind, endpoint.url, endpoint.secret)
    return _Job(delivery.channel, delivery.destination, message, hook)


def _send(senders: Senders, job: _Job, now: datetime) -> None:
    if job.hook is not None:
        kind, url, secret = job.hook
        senders.webhooks.send(kind, url, secret, job.message, now.timestamp())
        return
    if senders.smtp is None:
        raise DeliveryError("no SMTP relay configured (CLAMOR_SMTP_RELAY_HOST)")
    senders.smtp.send(job.destination, job.message)


def run_due(
    db: Database,
    senders: Senders,
    now: Callable[[], datetime] = clock.now,
    limit: int = 200,
) -> RunResult:
    """Plan pending outbox rows, then try every due delivery once. Safe to run from many
    workers at once and as often as you like."""
    result = RunResult()
    with db.write() as session:
        moment = now()
        _release_stale_claims(session, moment)
        result.planned = plan(session, moment)
        due = list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.state == PENDING, Delivery.next_attempt_at <= moment)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit)
            )
        )
    for delivery_id in due:
        if not _claim(db, delivery_id, now()):
            continue  # another worker has it
        error: str | None = None
        try:
            with db.read() as session:
                job = _job(session, delivery_id)
            _send(senders, job, now())  # no database session is held while sending
        except DeliveryError as failure:
            error = str(failure)
        _finish(db, delivery_id, error, now(), result)
    return result


def _finish(
    db: Database, delivery_id: int, error: str | None, moment: datetime, result: RunResult
) -> None:
    with db.write() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return
        delivery.attempts += 1
        session.add(
            DeliveryAttempt(delivery_id=delivery.id, at=moment, ok=error is None, error=error)
        )
        if error is None:
            delivery.state, delivery.delivered_at, delivery.last_error = DELIVERED, moment, None
            result.delivered += 1
            return
        result.failed += 1
        delivery.last_error = error
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = FAILED
            result.gave_up.append(delivery.id)
        else:
            delivery.state = PENDING
            delivery.next_attempt_at = moment + backoff(delivery.attempts)


def senders_from_settings(settings: Settings, client: httpx.Client) -> Senders:
    """Senders as the settings configure them (the SMTP relay is optional)."""
    host = settings.smtp_relay_host
    smtp = SmtpSender(host, settings.smtp_relay_port, settings.smtp_from) if host else None
    return Senders(smtp=smtp, webhooks=WebhookSender(client))
