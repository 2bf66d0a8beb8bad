from clamor.analysis.emotes import CAP, NO_EMOTES, STEP, read_emotes
from clamor.analysis.explain import searchable
from clamor.analysis.normalize import normalize
from clamor.analysis.pipeline import analyze
from clamor.analysis.sentiment import classify


def test_each_known_emoticon_counts_once_per_occurrence_up_to_the_cap() -> None:
    signal = read_emotes(["泪", "泪", "哈哈"], ["😡"])
    assert signal.shift == -2 * STEP
    assert signal.counted == (("[泪]", -1), ("[哈哈]", 1), ("😡", -1))
    assert read_emotes(["怒"] * 10, []).shift == -CAP * STEP


def test_unknown_or_ambiguous_emoticons_say_nothing() -> None:
    assert read_emotes(["微笑", "doge", "某个新表情"], ["🙂", "😂"]) is NO_EMOTES
    assert not NO_EMOTES


def test_emoticon_names_are_read_in_any_case() -> None:
    assert read_emotes(["GOOD"], []).shift == STEP


def test_a_weibo_emoticon_decides_an_otherwise_undecided_post() -> None:
    result = analyze("[怒][怒]")
    assert result.sentiment.label == "negative"
    first = result.sentiment.reasons[0]
    assert (first.text, first.spans) == ("[怒]", ((0, 3), (3, 6)))
    assert analyze("今天心情😊").sentiment.label == "positive"
    assert analyze("今天心情😡").sentiment.label == "negative"


def test_an_emoticon_does_not_overturn_clear_words() -> None:
    assert analyze("质量太差了，垃圾[哈哈]").sentiment.label == "negative"
    assert analyze("房间干净，服务很好，非常满意[泪]").sentiment.label == "positive"


def test_the_emoticon_moves_the_probability_the_way_it_leans() -> None:
    plain = analyze("又加班到十点").sentiment.p_negative
    assert analyze("又加班到十点[泪]").sentiment.p_negative > plain
    assert analyze("又加班到十点[哈哈]").sentiment.p_negative < plain


def test_english_text_is_left_to_the_model_that_learned_emoji() -> None:
    text = "my flight was delayed again 😡"
    norm = normalize(text)
    with_emotes = classify(
        norm.text, "en", searchable(text), emotes=read_emotes(norm.emoticons, norm.emoji)
    )
    assert with_emotes == classify(norm.text, "en", searchable(text))
