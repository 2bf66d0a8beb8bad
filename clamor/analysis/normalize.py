"""Text normalisation: the one form every model and rule in `clamor.analysis` reads.

Steps, in order: drop control characters; NFKC (full-width → half-width, compatibility forms);
traditional → simplified Chinese (OpenCC `t2s`, character by character, which is what the models
were trained on); lower case. URLs and @mentions are replaced by placeholder tokens (so that
`http://t.co/xyz` does not look like a word) but are kept in the result as signals, as are Weibo
repost chains (`//@user:`), bracket emoticons (`[怒]`) and emoji.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

URL_TOKEN = " ⟨url⟩ "
MENTION_TOKEN = "⟨at⟩"

_URL_RE = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff01-\uff5e\u4e00-\u9fff]+", re.I)
# Weibo repost chain: "my comment//@alice: her comment//@bob: original".
_REPOST_RE = re.compile(r"//\s*@([^\s:：/]{1,30})\s*[:：]")
_MENTION_RE = re.compile(r"@([A-Za-z0-9_\-\u4e00-\u9fff]{1,30})")
_EMOTICON_RE = re.compile(r"\[([\u4e00-\u9fffA-Za-z]{1,6})\]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\u200b-\u200f\u2028\u2029]")
_SPACE_RE = re.compile(r"\s+")
# Emoji and pictographs (the main blocks; enough to keep them as signals).
_EMOJI_RE = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff\U0001f900-\U0001f9ff]"
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """The normalised text and the signals taken out of (or noticed in) the raw text."""

    text: str
    urls: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    repost_chain: tuple[str, ...] = ()
    emoticons: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()
    converted_traditional: bool = False


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc  # imported lazily: only needed once text has CJK in it

    return opencc.OpenCC("t2s")


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese; text without CJK is returned untouched (fast path)."""
    if not has_cjk(text):
        return text
    return _t2s().convert(text)


def clean_unicode(text: str) -> str:
    """Drop control/zero-width characters and apply NFKC (full-width → half-width)."""
    text = _CONTROL_RE.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text


def normalize(text: str) -> Normalized:
    """Normalise `text` for the models; the signals found are returned alongside."""
    cleaned = clean_unicode(text)
    return normalize_simplified(to_simplified(cleaned), cleaned)


def normalize_simplified(simplified: str, cleaned: str) -> Normalized:
    """`normalize` from its first two steps' results (for callers that already have them)."""
    repost_chain = tuple(_REPOST_RE.findall(simplified))
    urls = tuple(_URL_RE.findall(simplified))
    body = _URL_RE.sub(URL_TOKEN, simplified)
    body = _REPOST_RE.sub(" // ", body)
    mentions = tuple(_MENTION_RE.findall(body))
    body = _MENTION_RE.sub(MENTION_TOKEN, body)
    body = _SPACE_RE.sub(" ", body).strip().lower()
    return Normalized(
        text=body,
        urls=urls,
        mentions=mentions,
        repost_chain=repost_chain,
        emoticons=tuple(_EMOTICON_RE.findall(simplified)),
        emoji=tuple(_EMOJI_RE.findall(simplified)),
        converted_traditional=simplified != cleaned,
    )


def model_text(text: str) -> str:
    """The normalised text only (what the classifiers read)."""
    return normalize(text).text


_KEY_DROP_RE = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


def comparison_key(text: str) -> str:
    """A form for finding the same review written twice: spacing, punctuation, width, script and
    case differences removed. Used to keep test texts out of training data."""
    return _KEY_DROP_RE.sub("", to_simplified(clean_unicode(text)).lower())
