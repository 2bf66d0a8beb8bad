from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clamor.analysis.language import EN, OTHER, ZH, detect


def test_chinese_english_and_other() -> None:
    assert detect("这家酒店的服务太差了").code == ZH
    assert detect("@united my flight was Cancelled Flightled again").code == EN
    assert detect("このホテルはとても良かったです").code == OTHER
    assert detect("Отличный сервис, спасибо").code == OTHER
    assert detect("호텔이 정말 좋았어요").code == OTHER


def test_non_english_latin_text_is_other() -> None:
    assert detect("Le service était très mauvais et je ne suis pas content").code == OTHER
    assert detect("El servicio es muy malo y no funciona para nada").code == OTHER


def test_mixed_script() -> None:
    result = detect("iPhone 的 battery 太差了, really bad")
    assert result.mixed
    assert result.code in (ZH, EN)
    assert not detect("华为平板质量很好").mixed


def test_handles_do_not_make_chinese_text_english() -> None:
    assert detect("@HuaweiMobile @JD_Service 手机屏幕坏了").code == ZH


def test_empty_emoji_digits_are_other() -> None:
    for text in ("", "😡😡😡", "12345 678", "!!!???"):
        assert detect(text).code == OTHER


@given(st.text(max_size=200))
def test_detect_never_fails(text: str) -> None:
    assert detect(text).code in (ZH, EN, OTHER)
