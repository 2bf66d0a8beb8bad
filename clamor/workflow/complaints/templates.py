"""Reply templates with placeholders, in zh-CN and English.

Placeholders are `{name}` from a fixed vocabulary (`PLACEHOLDERS`). Templates are edited by admins,
so they are checked when built: an unknown placeholder, an attribute or index (`{name.__class__}`,
which `str.format` would happily evaluate), a conversion or a format spec is refused with a
ValidationError naming it. `{{` and `}}` give literal braces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from string import Formatter

from clamor.core.errors import Term, ValidationError

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "tracking_code",
        "name",
        "case_title",
        "received_date",
        "due_date",
        "handler_name",
        "company_name",
        "status_url",
        "reply_text",
        "reason",
        "message",
    }
)

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


class TemplateKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    REJECTION = "rejection"
    REQUEST_INFO = "request_info"
    REPLY = "reply"
    FEEDBACK_REQUEST = "feedback_request"
    CLOSURE = "closure"


def placeholders_in(text: str, part: str = "body") -> frozenset[str]:
    """The placeholders `text` uses; ValidationError naming any that is not allowed."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as error:
        raise ValidationError.keyed(
            "error.complaints.template_malformed",
            field=part,
            part=Term(f"error.complaints.field.{part}"),
            detail=str(error),
        ) from error
    found: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise ValidationError.keyed(
                "error.complaints.template_unknown_placeholder",
                field=part,
                name=name,
                part=Term(f"error.complaints.field.{part}"),
                allowed=", ".join(sorted(PLACEHOLDERS)),
            )
        if spec or conversion:
            raise ValidationError.keyed(
                "error.complaints.template_placeholder_format",
                field=part,
                name=name,
                part=Term(f"error.complaints.field.{part}"),
            )
        found.add(name)
    return frozenset(found)


@dataclass(frozen=True)
class ReplyTemplate:
    kind: TemplateKind
    language: str
    subject: str
    body: str

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValidationError.keyed(
                "error.complaints.template_language", field="language", lang=self.language
            )
        placeholders_in(self.subject, "subject")
        placeholders_in(self.body, "body")

    @property
    def placeholders(self) -> frozenset[str]:
        return placeholders_in(self.subject, "subject") | placeholders_in(self.body, "body")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str


def render(template: ReplyTemplate, values: Mapping[str, object]) -> RenderedMessage:
    """Fill in the placeholders; a placeholder without a value is a ValidationError naming it."""
    missing = sorted(template.placeholders - {k for k, v in values.items() if v is not None})
    if missing:
        raise ValidationError.keyed(
            "error.complaints.template_values_missing",
            field=missing[0],
            kind=str(template.kind),
            lang=template.language,
            missing=", ".join(f"{{{name}}}" for name in missing),
        )
    text_values = {name: str(values[name]) for name in template.placeholders}
    return RenderedMessage(
        subject=template.subject.format_map(text_values),
        body=template.body.format_map(text_values),
    )


def _t(kind: TemplateKind, language: str, subject: str, body: str) -> ReplyTemplate:
    return ReplyTemplate(kind, language, subject, body)


K = TemplateKind
DEFAULT_TEMPLATES: tuple[ReplyTemplate, ...] = (
    _t(
        K.ACKNOWLEDGEMENT,
        "zh-CN",
        "【{company_name}】已收到您的投诉（编号 {tracking_code}）",
        "{name}，您好：\n\n我们已收到您的投诉，受理编号为 {tracking_code}。"
        "您可凭此编号和提交时留下的联系方式在 {status_url} 查询处理进度。"
        "我们将在 {due_date} 前给您答复。\n\n{company_name} 客户服务部",
    ),
    _t(
        K.ACKNOWLEDGEMENT,
        "en",
        "[{company_name}] We have received your complaint ({tracking_code})",
        "Dear {name},\n\nWe have received your complaint; its tracking code is "
        "{tracking_code}. With this code and the contact you gave, you can follow its progress "
        "at {status_url}. We will reply by {due_date}.\n\n{company_name} Customer Service",
    ),
    _t(
        K.REJECTION,
        "zh-CN",
        "【{company_name}】关于您的投诉 {tracking_code}",
        "{name}，您好：\n\n经审核，您的投诉（编号 {tracking_code}）未予受理，原因：{reason}。"
        "如有疑问，请回复本邮件或致电客服热线。\n\n{company_name} 客户服务部",
    ),
    _t(
        K.REJECTION,
        "en",
        "[{company_name}] About your complaint {tracking_code}",
        "Dear {name},\n\nAfter review we cannot take up your complaint ({tracking_code}). "
        "Reason: {reason}. If you have questions, reply to this e-mail or call our hotline."
        "\n\n{company_name} Customer Service",
    ),
    _t(
        K.REQUEST_INFO,
        "zh-CN",
        "【{company_name}】投诉 {tracking_code} 需要您补充信息",
        "{name}，您好：\n\n为处理您的投诉（编号 {tracking_code}），我们需要您补充以下信息："
        "\n\n{message}\n\n处理人：{handler_name}",
    ),
    _t(
        K.REQUEST_INFO,
        "en",
        "[{company_name}] More information needed for {tracking_code}",
        "Dear {name},\n\nTo handle your complaint ({tracking_code}) we need the following:"
        "\n\n{message}\n\nYour handler: {handler_name}",
    ),
    _t(
        K.REPLY,
        "zh-CN",
        "【{company_name}】投诉 {tracking_code} 处理结果",
        "{name}，您好：\n\n关于您的投诉（编号 {tracking_code}），处理结果如下：\n\n{reply_text}"
        "\n\n处理人：{handler_name}",
    ),
    _t(
        K.REPLY,
        "en",
        "[{company_name}] Our reply to {tracking_code}",
        "Dear {name},\n\nHere is our reply to your complaint ({tracking_code}):\n\n{reply_text}"
        "\n\nYour handler: {handler_name}",
    ),
    _t(
        K.FEEDBACK_REQUEST,
        "zh-CN",
        "【{company_name}】您对投诉 {tracking_code} 的处理满意吗？",
        "{name}，您好：\n\n请告诉我们您对投诉（编号 {tracking_code}）处理结果是否满意："
        "{status_url}\n\n{company_name} 客户服务部",
    ),
    _t(
        K.FEEDBACK_REQUEST,
        "en",
        "[{company_name}] Are you satisfied with how we handled {tracking_code}?",
        "Dear {name},\n\nPlease tell us whether you are satisfied with the outcome of your "
        "complaint ({tracking_code}): {status_url}\n\n{company_name} Customer Service",
    ),
    _t(
        K.CLOSURE,
        "zh-CN",
        "【{company_name}】投诉 {tracking_code} 已办结",
        "{name}，您好：\n\n您的投诉（编号 {tracking_code}）已办结。感谢您的反馈。"
        "\n\n{company_name} 客户服务部",
    ),
    _t(
        K.CLOSURE,
        "en",
        "[{company_name}] Complaint {tracking_code} closed",
        "Dear {name},\n\nYour complaint ({tracking_code}) is now closed. Thank you for telling "
        "us.\n\n{company_name} Customer Service",
    ),
)


def template_for(
    kind: TemplateKind,
    language: str,
    templates: Iterable[ReplyTemplate] = DEFAULT_TEMPLATES,
) -> ReplyTemplate:
    """The template of `kind` in `language`, else in the default language."""
    by_key = {(t.kind, t.language): t for t in templates}
    found = by_key.get((kind, language)) or by_key.get((kind, DEFAULT_LANGUAGE))
    if found is None:
        raise ValidationError.keyed(
            "error.complaints.no_template",
            kind=str(kind),
            lang=language,
            default=DEFAULT_LANGUAGE,
        )
    return found
