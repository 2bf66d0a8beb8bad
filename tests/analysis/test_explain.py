from __future__ import annotations

from clamor.analysis.explain import searchable, spans_of


def test_spans_of_plain_gapped_and_cue_features() -> None:
    text = "刚买完手机就接到骚扰电话,个人信息被泄露"
    assert spans_of(text, "电话") == ((10, 12),)
    assert spans_of(text, "买__机") == ((1, 5),)
    assert [text[a:b] for a, b in spans_of(text, "L:privacy")] == ["骚扰电话", "个人信息", "泄露"]
    assert spans_of(text, "L:unknown") == ()
    assert spans_of(text, "⟨url⟩") == ()


def test_searchable_keeps_offsets_of_the_raw_text() -> None:
    for raw in ("這個ＡＢＣ很好", "㈱公司 OK", "İstanbul 很好", ""):
        folded = searchable(raw)
        assert len(folded) == len(raw)
    assert searchable("這個ＡＢＣ很好") == "这个abc很好"
