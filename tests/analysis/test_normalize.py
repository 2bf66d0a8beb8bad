from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clamor.analysis.normalize import MENTION_TOKEN, comparison_key, normalize


def test_traditional_becomes_simplified_and_fullwidth_becomes_halfwidth() -> None:
    result = normalize("這個產品ＡＢＣ１２３很糟糕！")
    assert result.text == "这个产品abc123很糟糕!"
    assert result.converted_traditional


def test_urls_and_mentions_become_placeholders_but_are_kept() -> None:
    result = normalize("@United my bag is lost http://t.co/AbC123 help")
    assert "http" not in result.text
    assert "⟨url⟩" in result.text and MENTION_TOKEN in result.text
    assert result.urls == ("http://t.co/AbC123",)
    assert result.mentions == ("United",)


def test_weibo_repost_chain_and_emoticons() -> None:
    result = normalize("太过分了[怒]//@小明:转发微博//@消费者报道: 某品牌手机起火")
    assert result.repost_chain == ("小明", "消费者报道")
    assert result.emoticons == ("怒",)
    assert "[怒]" in result.text
    assert "//@" not in result.text


def test_emoji_are_kept_as_signals() -> None:
    result = normalize("垃圾客服😡😡")
    assert result.emoji == ("😡", "😡")
    assert "😡" in result.text


def test_control_characters_and_bom_are_dropped() -> None:
    assert normalize("\ufeff好\x00评\u200b").text == "好评"


def test_comparison_key_ignores_spacing_punctuation_script_and_case() -> None:
    assert comparison_key("這個 酒店，很好！") == comparison_key("这个酒店很好")
    assert comparison_key("Great Hotel!!") == comparison_key("great hotel")
    assert comparison_key("很好") != comparison_key("不好")


@given(st.text(max_size=300))
def test_normalize_never_fails_and_is_idempotent_on_its_output(text: str) -> None:
    once = normalize(text).text
    assert isinstance(once, str)
    assert "\x00" not in once
