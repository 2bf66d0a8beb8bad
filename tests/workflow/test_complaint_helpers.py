"""Tracking codes, contact keys and reply templates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clamor.core.errors import ValidationError
from clamor.workflow.complaints.contacts import (
    PriorComplaint,
    normalize_email,
    normalize_phone,
    repeat_keys,
    repeats_of,
)
from clamor.workflow.complaints.templates import (
    DEFAULT_TEMPLATES,
    LANGUAGES,
    ReplyTemplate,
    TemplateKind,
    render,
    template_for,
)
from clamor.workflow.complaints.tracking import (
    ALPHABET,
    CODE_LENGTH,
    check_character,
    is_valid_tracking_code,
    parse_tracking_code,
    tracking_code,
)

# -- tracking codes ------------------------------------------------------------------------


def test_tracking_code_shape() -> None:
    code = tracking_code(random.Random(7).randrange)
    assert len(code) == CODE_LENGTH + 1 and code[5] == "-"
    assert set(code.replace("-", "")) <= set(ALPHABET)
    assert not set("ILOU") & set(code)
    assert parse_tracking_code(code) == code


def test_tracking_codes_differ() -> None:
    codes = {tracking_code() for _ in range(200)}
    assert len(codes) == 200


def test_typed_variants_are_accepted() -> None:
    code = tracking_code(random.Random(3).randrange)
    typed = " " + code.lower().replace("-", " ") + " "
    assert parse_tracking_code(typed) == code
    body = "01010O1I0"  # O and I typed for 0 and 1
    canonical = "010100110"
    assert parse_tracking_code(body + check_character(canonical)) == parse_tracking_code(
        canonical + check_character(canonical)
    )


@given(st.text(alphabet=ALPHABET, min_size=9, max_size=9), st.integers(0, 8), st.data())
def test_every_single_typo_is_caught(body: str, position: int, data: st.DataObject) -> None:
    code = body + check_character(body)
    wrong = data.draw(st.sampled_from([c for c in ALPHABET if c != code[position]]))
    typo = code[:position] + wrong + code[position + 1 :]
    assert is_valid_tracking_code(code)
    assert not is_valid_tracking_code(typo)


def test_most_neighbour_swaps_are_caught() -> None:
    rng = random.Random(11)
    caught = total = 0
    for _ in range(300):
        body = "".join(rng.choice(ALPHABET) for _ in range(9))
        code = body + check_character(body)
        i = rng.randrange(CODE_LENGTH - 1)
        if code[i] == code[i + 1]:
            continue
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        total += 1
        caught += not is_valid_tracking_code(swapped)
    assert caught / total > 0.95


@pytest.mark.parametrize("text", ["", "ABCDE", "ABCDE-FGHJK-M", "ABCDE-FGHJU"])
def test_malformed_codes_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_tracking_code(text)
    assert error.value.field == "tracking_code"


# -- contacts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138-1234-5678",
        "0086 13812345678",
        "13812345678",
        "8613812345678",
        "(+86) 138 1234 5678",
    ],
)
def test_chinese_mobile_forms_give_one_key(raw: str) -> None:
    assert normalize_phone(raw) == "+8613812345678"


def test_landline_and_foreign_numbers() -> None:
    assert normalize_phone("010-8888 6666") == "+861088886666"
    assert normalize_phone("+1 (415) 555-0100") == "+14155550100"


@pytest.mark.parametrize("raw", ["call me", "12345", "+86 138x1234", "４１５５５５０１００"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalize_phone(raw)
    assert error.value.field == "phone"


def test_email_is_lowercased_but_not_provider_merged() -> None:
    assert normalize_email("  Zhang.San@Example.COM ") == "zhang.san@example.com"
    assert normalize_email("mailto:a@b.cn") == "a@b.cn"
    assert normalize_email("zhang.san+shop@gmail.com") != normalize_email("zhangsan@gmail.com")
    with pytest.raises(ValidationError) as error:
        normalize_email("not-an-address")
    assert error.value.field == "email"


def test_repeat_detection_within_window() -> None:
    now = datetime(2025, 6, 30, tzinfo=UTC)
    keys = repeat_keys(phone="138 1234 5678", email=None)
    earlier = [
        PriorComplaint("old", now - timedelta(days=45), repeat_keys(phone="+8613812345678")),
        PriorComplaint("recent", now - timedelta(days=3), repeat_keys(phone="0086-13812345678")),
        PriorComplaint("other", now - timedelta(days=1), repeat_keys(email="x@y.cn")),
    ]
    assert repeats_of(keys, now, earlier) == ("recent",)
    assert repeats_of(keys, now, earlier, window=timedelta(days=60)) == ("old", "recent")
    assert repeat_keys() == frozenset()


# -- templates ------------------------------------------------------------------------------

VALUES = {
    "tracking_code": "84G7Z-WYRDT",
    "name": "张三",
    "company_name": "示例科技",
    "status_url": "https://example.cn/status",
    "due_date": "2025-10-09",
    "reason": "重复投诉",
    "message": "订单号",
    "reply_text": "已退款",
    "handler_name": "李四",
}


def test_every_kind_exists_in_both_languages_and_renders() -> None:
    for kind in TemplateKind:
        for language in LANGUAGES:
            template = template_for(kind, language)
            assert template.language == language
            message = render(template, VALUES)
            assert "84G7Z-WYRDT" in message.subject + message.body
            assert "{" not in message.body


def test_render_fills_placeholders() -> None:
    message = render(template_for(TemplateKind.ACKNOWLEDGEMENT, "en"), VALUES)
    assert message.body.startswith("Dear 张三,")
    assert "reply by 2025-10-09" in message.body


def test_unknown_placeholder_is_named() -> None:
    with pytest.raises(ValidationError, match=r"\{order_id\}") as error:
        ReplyTemplate(TemplateKind.REPLY, "en", "Hi", "Order {order_id}")
    assert error.value.field == "body"


@pytest.mark.parametrize("body", ["{name.__class__}", "{name!r}", "{name:>10}", "{name"])
def test_unsafe_or_malformed_placeholders_are_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        ReplyTemplate(TemplateKind.REPLY, "en", "Hi", body)


def test_missing_value_is_named_and_literal_braces_stay() -> None:
    template = ReplyTemplate(TemplateKind.REPLY, "en", "{tracking_code}", "{{literal}} {name}")
    with pytest.raises(ValidationError) as error:
        render(template, {"tracking_code": "X"})
    assert error.value.field == "name"
    assert render(template, {"tracking_code": "X", "name": "N"}).body == "{literal} N"


def test_unknown_language_falls_back_to_chinese() -> None:
    assert template_for(TemplateKind.CLOSURE, "fr").language == "zh-CN"
    with pytest.raises(ValidationError):
        ReplyTemplate(TemplateKind.REPLY, "fr", "a", "b")
    assert len(DEFAULT_TEMPLATES) == len(TemplateKind) * len(LANGUAGES)
