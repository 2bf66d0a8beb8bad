"""The resource registry and training records: who may change them (`org.manage`), checked
input, every change audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.clock import LOCAL_ZONE
from clamor.core.errors import NotFoundError, Term, ValidationError
from clamor.core.principal import Principal
from clamor.resources.models import Attendance, Resource, TrainingSession

# Plan §5: (1) information collection tools, (2) communication channels, (3) legal support.
KINDS = (
    "monitoring_tool",
    "feedback_system",
    "hotline",
    "online_platform",
    "social_account",
    "legal_contact",
)
TOPICS = ("complaints", "opinion", "drill", "other")
MANAGE = "org.manage"


def _text(value: str | None, field: str, limit: int, required: bool = False) -> str | None:
    text = (value or "").strip()
    label = Term(f"error.resources.label.{field}")
    if required and not text:
        raise ValidationError.keyed("error.resources.empty", field=field, label=label)
    if len(text) > limit:
        raise ValidationError.keyed("error.resources.too_long", field=field, label=label, max=limit)
    return text or None


def resources(session: Session, *, include_inactive: bool = False) -> list[Resource]:
    query = select(Resource).order_by(Resource.kind, Resource.name)
    if not include_inactive:
        query = query.where(Resource.active.is_(True))
    return list(session.scalars(query))


def add_resource(
    session: Session,
    actor: Principal,
    *,
    kind: str,
    name: str,
    detail: str = "",
    contact: str | None = None,
    url: str | None = None,
) -> Resource:
    actor.require(MANAGE)
    if kind not in KINDS:
        raise ValidationError.keyed(
            "error.resources.kind_unknown", field="kind", kinds=", ".join(KINDS)
        )
    link = _text(url, "url", 2000)
    if link and not link.startswith(("http://", "https://")):
        raise ValidationError.keyed("error.resources.bad_url", field="url")
    resource = Resource(
        kind=kind,
        name=_text(name, "name", 200, required=True) or "",
        detail=_text(detail, "detail", 5000) or "",
        contact=_text(contact, "contact", 200),
        url=link,
        active=True,
        updated_at=clock.now(),
    )
    session.add(resource)
    session.flush()
    audit.record(
        session,
        actor,
        "resource.add",
        "resource",
        resource.id,
        after={"kind": kind, "name": resource.name, "contact": resource.contact},
    )
    return resource


def retire_resource(session: Session, actor: Principal, resource_id: int) -> Resource:
    actor.require(MANAGE)
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotFoundError.keyed("error.resources.no_resource", id=resource_id)
    resource.active, resource.updated_at = False, clock.now()
    audit.record(session, actor, "resource.retire", "resource", resource.id)
    return resource


def trainings(session: Session) -> list[TrainingSession]:
    return list(session.scalars(select(TrainingSession).order_by(TrainingSession.held_at.desc())))


def add_training(
    session: Session,
    actor: Principal,
    *,
    title: str,
    topic: str,
    held_at: datetime | str,
    trainer: str,
    notes: str = "",
) -> TrainingSession:
    actor.require(MANAGE)
    if topic not in TOPICS:
        raise ValidationError.keyed(
            "error.resources.topic_unknown", field="topic", topics=", ".join(TOPICS)
        )
    if isinstance(held_at, str):
        try:
            held_at = datetime.fromisoformat(held_at.strip())
        except ValueError:
            raise ValidationError.keyed("error.resources.bad_held_at", field="held_at") from None
    if held_at.tzinfo is None:
        # The form's date and time is what the trainer reads on the wall clock: Beijing time.
        held_at = held_at.replace(tzinfo=LOCAL_ZONE)
    held_at = held_at.astimezone(UTC)
    training = TrainingSession(
        title=_text(title, "title", 300, required=True) or "",
        topic=topic,
        held_at=held_at,
        trainer=_text(trainer, "trainer", 200, required=True) or "",
        notes=_text(notes, "notes", 5000) or "",
        created_by=actor.username,
    )
    session.add(training)
    session.flush()
    audit.record(
        session,
        actor,
        "training.add",
        "training",
        training.id,
        after={"title": training.title, "topic": topic, "held_at": held_at.isoformat()},
    )
    return training


def attendance(session: Session, training_id: int) -> dict[str, bool]:
    rows = session.execute(
        select(User.username, Attendance.attended)
        .join(User, User.id == Attendance.user_id)
        .where(Attendance.session_id == training_id)
        .order_by(User.username)
    ).all()
    return {name: attended for name, attended in rows}


def record_attendance(
    session: Session,
    actor: Principal,
    training_id: int,
    present: Iterable[str],
    absent: Iterable[str] = (),
) -> dict[str, bool]:
    """Mark who attended (and who was expected but did not); unknown users are refused."""
    actor.require(MANAGE)
    training = session.get(TrainingSession, training_id)
    if training is None:
        raise NotFoundError.keyed("error.resources.no_training", id=training_id)
    wanted = {name: True for name in present} | {name: False for name in absent}
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(wanted)))}
    missing = sorted(set(wanted) - set(users))
    if missing:
        raise ValidationError.keyed(
            "error.resources.unknown_user", field="attendees", username=missing[0]
        )
    for name, attended in wanted.items():
        row = session.scalar(
            select(Attendance).where(
                Attendance.session_id == training.id, Attendance.user_id == users[name].id
            )
        )
        if row is None:
            session.add(
                Attendance(session_id=training.id, user_id=users[name].id, attended=attended)
            )
        else:
            row.attended = attended
    session.flush()
    audit.record(session, actor, "training.attendance", "training", training.id, after=wanted)
    return attendance(session, training.id)
