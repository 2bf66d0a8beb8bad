"""Personal-data detection: property tests for ID numbers and cards, fixed cases for the rest."""

from __future__ import annotations

import itertools
import string
from datetime import date, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from clamor.analysis.pii import (
    BANK_CARD,
    EMAIL,
    ID_NUMBER,
    LANDLINE,
    MOBILE,
    find_pii,
    id_check_char,
    id_number_valid,
    luhn_valid,
    mask,
    redact,
)

birth_dates = st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31))
regions = st.integers(min_value=110000, max_value=829999)
sequence = st.integers(min_value=0, max_value=999)


def make_id(region: int, born: date, seq: int) -> str:
    first17 = f"{region:06d}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def luhn_complete(body: str) -> str:
    for digit in string.digits:
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("no Luhn digit")


@given(regions, birth_dates, sequence)
def test_generated_id_numbers_are_valid_and_found(region: int, born: date, seq: int) -> None:
    number = make_id(region, born, seq)
    assert id_number_valid(number)
    spans = find_pii(f"我的身份证号{number}，请核实")
    assert [(s.kind, s.text) for s in spans] == [(ID_NUMBER, number)]


@given(regions, birth_dates, sequence, st.sampled_from("0123456789X"))
def test_wrong_check_character_is_rejected(region: int, born: date, seq: int, wrong: str) -> None:
    number = make_id(region, born, seq)
    assume(wrong != number[-1])
    bad = number[:-1] + wrong
    assert not id_number_valid(bad)
    assert not any(s.kind == ID_NUMBER for s in find_pii(f"身份证 {bad} 。"))


@given(regions, st.integers(min_value=0, max_value=400), sequence)
def test_impossible_birth_dates_are_rejected(region: int, offset: int, seq: int) -> None:
    # Month 13 never exists; the checksum is made valid so only the date can fail.
    first17 = f"{region:06d}1990{13 + offset % 87:02d}01{seq:03d}"
    assert not id_number_valid(first17 + id_check_char(first17))


@given(st.from_regex(r"6[0-9]{14}", fullmatch=True))
def test_luhn_completed_cards_are_found_with_context(body: str) -> None:
    card = luhn_complete(body)
    assert luhn_valid(card)
    spans = find_pii(f"银行卡号：{card}")
    assert [(s.kind, s.text) for s in spans] == [(BANK_CARD, card)]
    grouped = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    assert [s.kind for s in find_pii(f"refund to {grouped} please")] == [BANK_CARD]


@given(st.from_regex(r"6[0-9]{15}", fullmatch=True))
def test_cards_failing_luhn_are_never_reported(number: str) -> None:
    assume(not luhn_valid(number))
    assert not any(s.kind == BANK_CARD for s in find_pii(f"银行卡 {number}"))


@given(st.from_regex(r"[3-6][0-9]{15}", fullmatch=True))
def test_bare_long_numbers_without_card_context_are_not_cards(number: str) -> None:
    # Order numbers of 16 digits pass Luhn one time in ten: without a card word they stay.
    assert not any(s.kind == BANK_CARD for s in find_pii(f"订单 {number} 还没发货"))


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mobile_numbers_in_all_spellings(number: str) -> None:
    spellings = [
        number,
        f"+86 {number}",
        f"{number[:3]}-{number[3:7]}-{number[7:]}",
        f"{number[:3]} {number[3:7]} {number[7:]}",
    ]
    for spelling in spellings:
        spans = find_pii(f"电话{spelling}，谢谢")
        assert [s.kind for s in spans] == [MOBILE], spelling
        assert spans[0].masked == f"{number[:3]}****{number[-4:]}"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from("0123456789"))
def test_mobile_inside_longer_digit_run_is_not_reported(number: str, extra: str) -> None:
    assert find_pii(f"单号{number}{extra}") == []
    assert find_pii(f"x {extra}{number} y") == []


def test_mask_shapes() -> None:
    assert mask("13812345678", MOBILE) == "138****5678"
    assert mask("11010519491231002X", ID_NUMBER) == "110105********002X"
    assert mask("6222021234567890128", BANK_CARD) == "6222 **** **** 0128"
    assert mask("alice@example.com", EMAIL) == "a***@example.com"


def test_landline_and_email() -> None:
    text = "请拨打010-62345678或写信给 zhang.san@example.com.cn 投诉"
    kinds = [(s.kind, s.text) for s in find_pii(text)]
    assert kinds == [(LANDLINE, "010-62345678"), (EMAIL, "zhang.san@example.com.cn")]


def test_order_numbers_and_timestamps_are_not_personal_data() -> None:
    samples = [
        "订单号：19513967161 衣服比实体店的薄",
        "2015-02-24 11:35:52 -0800",
        "下单时间20170618123045，到货很快",
        "tracking no. 4111111111111111",
        "时间戳1424780152 和 1424780152000",
        "发票号码：10342543（金额为3217元）属于订单号：4491950",
    ]
    for text in samples:
        assert find_pii(text) == [], text


def test_redact_replaces_every_span() -> None:
    text = "张三 13812345678 身份证11010519491231002X"
    assert redact(text) == "张三 138****5678 身份证110105********002X"


def test_to_dict_leaves_out_the_raw_value() -> None:
    span = find_pii("call 13812345678")[0]
    assert span.to_dict() == {"kind": MOBILE, "start": 5, "end": 16, "masked": "138****5678"}


@given(st.text(max_size=200))
def test_any_text_gives_ordered_non_overlapping_spans(text: str) -> None:
    spans = find_pii(text)
    for a, b in itertools.pairwise(spans):
        assert a.end <= b.start
    for span in spans:
        assert text[span.start : span.end] == span.text


def test_dates_near_edges() -> None:
    first17 = f"110105{date(2000, 2, 29):%Y%m%d}123"
    assert id_number_valid(first17 + id_check_char(first17))
    feb30 = "11010520000230123"
    assert not id_number_valid(feb30 + id_check_char(feb30))
    assert (date(2000, 2, 29) + timedelta(days=1)).month == 3
