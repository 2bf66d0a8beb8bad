"""Reply templates in force: the shipped ones (`templates.DEFAULT_TEMPLATES`), each replaced by an
edited one of the same kind and language when there is one. Editing needs complaints.configure
(admins, the complaint handling group's leader), is checked (an unknown placeholder is refused,
naming it and the field) and audited with the text before and after."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.errors import Term, ValidationError
from clamor.core.principal import Principal
from clamor.workflow.complaints.models import ReplyTemplateRow
from clamor.workflow.complaints.templates import (
    DEFAULT_TEMPLATES,
    LANGUAGES,
    ReplyTemplate,
    TemplateKind,
    template_for,
)

CONFIGURE = "complaints.configure"
MAX_SUBJECT = 500
MAX_BODY = 20_000


def templates_in_force(session: Session) -> list[ReplyTemplate]:
    """Every (kind, language): the edited template, else the shipped one."""
    by_key = {(t.kind, t.language): t for t in DEFAULT_TEMPLATES}
    for row in session.scalars(select(ReplyTemplateRow)):
        try:
            kind = TemplateKind(row.kind)
        except ValueError:
            continue  # a kind this version no longer has
        by_key[(kind, row.language)] = ReplyTemplate(kind, row.language, row.subject, row.body)
    return list(by_key.values())


def edited_keys(session: Session) -> set[tuple[str, str]]:
    return {(r.kind, r.language) for r in session.scalars(select(ReplyTemplateRow))}


def template(session: Session, kind: TemplateKind, language: str) -> ReplyTemplate:
    """The template in force of `kind` in `language` (else in the default language)."""
    return template_for(kind, language, templates_in_force(session))


def _kind(value: str) -> TemplateKind:
    try:
        return TemplateKind(value)
    except ValueError:
        raise ValidationError.keyed(
            "error.complaints.one_of",
            field="kind",
            name=Term("error.complaints.field.kind"),
            allowed=", ".join(k.value for k in TemplateKind),
        ) from None


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValidationError.keyed(
            "error.complaints.one_of",
            field="language",
            name=Term("error.complaints.field.language"),
            allowed=", ".join(LANGUAGES),
        )
    return value


def save_template(
    session: Session, actor: Principal, kind: str, language: str, subject: str, body: str
) -> ReplyTemplate:
    """Store an edited template (ValidationError naming `subject` or `body` for an unknown or
    malformed placeholder, or an empty or too long text); audited."""
    actor.require(CONFIGURE)
    chosen, lang = _kind(kind), _language(language)
    subject, body = subject.strip(), body.strip().replace("\r\n", "\n")
    for field, value, limit in (("subject", subject, MAX_SUBJECT), ("body", body, MAX_BODY)):
        if not value:
            raise ValidationError.keyed(
                "error.complaints.template_empty",
                field=field,
                part=Term(f"error.complaints.field.{field}"),
            )
        if len(value) > limit:
            raise ValidationError.keyed(
                "error.complaints.template_too_long",
                field=field,
                part=Term(f"error.complaints.field.{field}"),
                max=limit,
            )
    edited = ReplyTemplate(chosen, lang, subject, body)  # checks the placeholders
    before = template(session, chosen, lang)
    row = session.scalar(
        select(ReplyTemplateRow).where(
            ReplyTemplateRow.kind == chosen.value, ReplyTemplateRow.language == lang
        )
    )
    if row is None:
        row = ReplyTemplateRow(kind=chosen.value, language=lang)
        session.add(row)
    row.subject, row.body = subject, body
    row.updated_at, row.updated_by = clock.now(), actor.username
    session.flush()
    audit.record(
        session,
        actor,
        "complaint.reply_template",
        "reply_template",
        f"{chosen.value}/{lang}",
        before={"subject": before.subject, "body": before.body},
        after={"subject": subject, "body": body},
    )
    return edited


def reset_template(session: Session, actor: Principal, kind: str, language: str) -> ReplyTemplate:
    """Go back to the shipped template of this kind and language; audited."""
    actor.require(CONFIGURE)
    chosen, lang = _kind(kind), _language(language)
    before = template(session, chosen, lang)
    session.execute(
        delete(ReplyTemplateRow).where(
            ReplyTemplateRow.kind == chosen.value, ReplyTemplateRow.language == lang
        )
    )
    shipped = template_for(chosen, lang)
    audit.record(
        session,
        actor,
        "complaint.reply_template_reset",
        "reply_template",
        f"{chosen.value}/{lang}",
        before={"subject": before.subject, "body": before.body},
        after={"subject": shipped.subject, "body": shipped.body},
    )
    return shipped
