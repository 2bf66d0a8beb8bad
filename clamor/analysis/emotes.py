"""Emoticons and emoji as sentiment signals for Chinese text.

The Chinese sentiment model learned from product, hotel and delivery reviews, which hardly ever
contain Weibo's bracket emoticons (`[怒]`, `[泪]`) or emoji, so on a Weibo post it reads them as
nothing — yet on Weibo they are often the clearest sign of how the writer feels. This stage reads
them from a small hand-made lexicon (below: the emoticon's own name, or the emoji's Unicode
name, says which way it leans; ambiguous ones — [微笑] and 🙂 are mostly sarcastic on Chinese
social media, 😂 both amused and embarrassed, [doge] mocking — are left out) and shifts the
model's log-odds by `STEP` per emoticon, in all at most `CAP` steps either way. One emoticon
moves an undecided text out of the neutral band; it does not overturn clear words.

The English model learned emoji from the airline tweets itself, so this applies to Chinese only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

STEP = 1.0  # log-odds per emoticon
CAP = 3  # at most this many steps in all, either way

_POSITIVE_EMOTICONS = (  # noqa: SIM905 (a word list reads best as words)
    "哈哈 嘻嘻 爱你 鼓掌 赞 心 给力 威武 太开心 开心 亲亲 可爱 花心 "
    "偷笑 酷 好爱哦 耶 good ok 握手 礼物 蛋糕 笑哈哈 馋嘴 害羞 "
    "好棒 憧憬 抱抱 加油 鲜花 玫瑰 胜利 强 棒棒糖 哈哈哈 大笑 得意 喜 "
    "笑 萌 赞啊 好喜欢 爱心 拥抱 飞吻 色 呲牙 愉快 庆祝"
).split()
_NEGATIVE_EMOTICONS = (  # noqa: SIM905 (a word list reads best as words)
    "泪 怒 抓狂 衰 生病 鄙视 晕 悲伤 失望 委屈 可怜 吐 哼 左哼哼 "
    "右哼哼 怒骂 伤心 弱 汗 黑线 阴险 闭嘴 囧 蜡烛 傻眼 泪流满面 崩溃 "
    "不要 生气 咒骂 愤怒 哭 大哭 悲催 郁闷 不开心 打脸 怒视 心碎 难过 "
    "流泪 尴尬 发怒 撇嘴 折磨 冷汗 擦汗 快哭了 凋谢 差劲 鄙视你"
).split()
_POSITIVE_EMOJI = "😀😃😄😁😆😊😍🥰😘😗😙😚☺🤗👍👏🙏💯❤💕💖💗💓💞💝🎉🎊🌹💐✌👌🥳😎😋🤩😻🤣💪🌈🎁🏆"
_NEGATIVE_EMOJI = "😠😡🤬😤😞😔😟😕🙁☹😣😖😫😩😢😭😿💔👎😒🙄😨😰😱🤮🤢😷😓💢🖕😾💩😪"

POLARITY: dict[str, int] = {
    **{f"[{name}]": 1 for name in _POSITIVE_EMOTICONS},
    **{f"[{name}]": -1 for name in _NEGATIVE_EMOTICONS},
    **dict.fromkeys(_POSITIVE_EMOJI, 1),
    **dict.fromkeys(_NEGATIVE_EMOJI, -1),
}


@dataclass(frozen=True, slots=True)
class EmoteSignal:
    """How far the emoticons move the log-odds toward positive, and each one that counted."""

    shift: float
    counted: tuple[tuple[str, int], ...]  # (emoticon as written, +1 or -1), first occurrences

    def __bool__(self) -> bool:
        return bool(self.counted)


NO_EMOTES = EmoteSignal(0.0, ())


def read_emotes(emoticons: Iterable[str], emoji: Iterable[str]) -> EmoteSignal:
    """The signal of a text's bracket emoticons (names without brackets, as `normalize` found
    them, one per occurrence) and emoji."""
    total = 0
    counted: dict[str, int] = {}
    for token in [f"[{name.lower()}]" for name in emoticons] + list(emoji):
        polarity = POLARITY.get(token)
        if polarity is not None:
            total += polarity
            counted.setdefault(token, polarity)
    if not counted:
        return NO_EMOTES
    return EmoteSignal(STEP * max(-CAP, min(CAP, total)), tuple(counted.items()))
