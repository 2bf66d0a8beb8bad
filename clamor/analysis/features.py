"""Which n-gram features a model reads (`FeatureConfig`), and their string forms.

Character n-grams carry Chinese (no word segmentation needed, robust to typos and new words);
gapped character pairs catch negation across a filler; word uni/bigrams carry English; cue
groups share one feature between a Chinese and an English wording. The models hash these
(`hashing`); the string forms here define them and serve tests and reasons.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'’]*|⟨url⟩|⟨at⟩|[!?]{1,3}")


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    char_min: int = 1
    char_max: int = 4
    words: bool = False
    word_bigrams: bool = True
    cues: bool = False
    gaps: bool = False  # character pairs one and two characters apart ("不_好", "没__到")

    def to_list(self) -> list[int]:
        return [
            self.char_min,
            self.char_max,
            int(self.words),
            int(self.word_bigrams),
            int(self.cues),
            int(self.gaps),
        ]

    @classmethod
    def from_list(cls, values: list[int]) -> FeatureConfig:
        v = [*values, 0, 0, 0, 0, 0, 0][:6]
        return cls(int(v[0]), int(v[1]), bool(v[2]), bool(v[3]), bool(v[4]), bool(v[5]))


# Cue groups: the same feature ("L:privacy") for a Chinese and an English wording, so that what
# the category model learns from Chinese examples carries over to English text and back.
CUES: dict[str, str] = {
    "privacy": r"隐私|个人信息|个人资料|用户信息|用户数据|泄露|泄漏|信息被|卖信息|"
    r"骚扰电话|推销电话|诈骗电话|骚扰短信|被盗|盗号|盗刷|账号被|被冒用|权限|监听|偷拍|定位|"
    r"privacy|personal (?:data|info)|\bleak|breach|hack|identity theft|spam call|my data",
    "social": r"污染|环保|排放|废水|虚假宣传|欺骗消费者|欺诈|歧视|童工|欠薪|克扣|慈善|捐款|违法|"
    r"违规|哄抬|坐地起价|发国难财|偷税|良心|黑心|三无|无证|公共安全|"
    r"discriminat|racis|pollut|environment|false advertis|price goug|illegal|charity|unethical",
    "service": r"态度|客服|服务员|前台|店员|工作人员|不理|推脱|踢皮球|敷衍|骂人|不耐烦|爱理不理|"
    r"不给退|拒绝退|拒退|拒绝|不承认|不负责|投诉无门|没人管|"
    r"rude|attitude|customer service|\bagent|\bstaff|hung up|ignor|no response|unhelpful|"
    r"on hold|refus",
    "quality": r"质量|坏了|故障|破损|漏水|死机|发热|假货|做工|划痕|异味|变质|不新鲜|"
    r"delay|\blate\b|cancel|broken|damag|defect|crash|\bbug|dirty|lost",
}
_CUE_RES = {name: re.compile(pattern) for name, pattern in CUES.items()}


def cue_features(text: str) -> list[str]:
    return ["L:" + name for name, pattern in _CUE_RES.items() if pattern.search(text)]


def char_ngrams(text: str, lo: int, hi: int) -> list[str]:
    """All character n-grams of `text` with lo <= n <= hi (spaces kept: they mark word edges)."""
    out: list[str] = []
    size = len(text)
    for n in range(lo, hi + 1):
        out.extend(text[i : i + n] for i in range(size - n + 1))
    return out


def gapped_pairs(text: str) -> list[str]:
    """Pairs of characters with one or two characters between them: they catch a negation or
    degree word and the word it governs across a filler ("不太好" → "不_好", "没有收到" → "没__到"),
    which contiguous n-grams of this length miss."""
    out = [text[i] + "_" + text[i + 2] for i in range(len(text) - 2)]
    out.extend(text[i] + "__" + text[i + 3] for i in range(len(text) - 3))
    return out


def word_ngrams(text: str, bigrams: bool = True) -> list[str]:
    words = _WORD_RE.findall(text)
    out = ["w:" + w for w in words]
    if bigrams:
        out.extend(f"b:{a} {b}" for a, b in itertools.pairwise(words))
    return out


def extract(text: str, config: FeatureConfig) -> list[str]:
    """The feature strings of an already normalised text (what `hashing` hashes)."""
    feats = char_ngrams(text, config.char_min, config.char_max)
    if config.words:
        feats.extend(word_ngrams(text, config.word_bigrams))
    if config.gaps:
        feats.extend(gapped_pairs(text))
    if config.cues:
        feats.extend(cue_features(text))
    return feats
