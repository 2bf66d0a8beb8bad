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

from clamor.analysis.frozen import quick_init

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


@quick_init
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


_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese; text without CJK is returned untouched (fast path)."""
    if not has_cjk(text):
        return text
    return _t2s().convert(text)


def clean_unicode(text: str) -> str:
    """Drop control/zero-width characters and apply NFKC (full-width → half-width)."""
    text = _CONTROL_RE.sub("", text)
    if not text.isascii():
        text = nfkc(text)
    return text


# NFKC, fast. `unicodedata.normalize` costs ~30 µs on a 100-character Chinese review (nearly
# all of them carry a full-width "，" or "！", so its quick check does not help). But NFKC is
# decomposition, then reordering of combining marks, then canonical composition; when no
# character of the decomposed text is a combining mark (ccc ≠ 0) or the second half of a
# canonical pair, the last two steps do nothing and NFKC(text) is the concatenation of the
# per-character decompositions — one `str.translate` over a table filled as characters are
# seen. Any other character maps to a sentinel, and a text containing one takes the full path.
_SENTINEL = "\U0010fffe"
# Second halves of canonical pairs that are not combining marks (ccc 0), computed from
# `unicodedata` 14.0; any other Unicode version is recomputed on first use (~0.5 s, once).
_PAIR_SECONDS_UNIDATA = "14.0.0"
_PAIR_SECONDS_CCC0 = frozenset(
    [
        *(0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6),
        *(0x0D3E, 0x0D57, 0x0DCF, 0x0DDF, 0x0FB5, 0x0FB7, 0x102E, 0x1B35, 0x11127, 0x1133E),
        *(0x11357, 0x114B0, 0x114BA, 0x114BD, 0x115AF, 0x11930),
        # Hangul vowels and trailing consonants: they compose with the syllable before them by
        # rule, not by a decomposition mapping.
        *range(0x1161, 0x1176),
        *range(0x11A8, 0x11C3),
    ]
)


def pair_seconds_ccc0() -> frozenset[int]:
    """Code points that canonical composition may join to the character before them while
    having combining class 0 (from `unicodedata` itself)."""
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for code in range(0x110000):
        mapping = unicodedata.decomposition(chr(code))
        if mapping and mapping[0] != "<":
            parts = mapping.split()
            if len(parts) == 2 and unicodedata.combining(chr(int(parts[1], 16))) == 0:
                seconds.add(int(parts[1], 16))
    return frozenset(seconds)


class _NfkcTable(dict[int, str]):
    """code point → its NFKD, or the sentinel where composition could be involved."""

    seconds: frozenset[int] | None = None

    def __missing__(self, code: int) -> str:
        seconds = type(self).seconds
        if seconds is None:
            same = unicodedata.unidata_version == _PAIR_SECONDS_UNIDATA
            seconds = type(self).seconds = _PAIR_SECONDS_CCC0 if same else pair_seconds_ccc0()
        char = chr(code)
        decomposed = unicodedata.normalize("NFKD", char)
        simple = char != _SENTINEL and all(
            unicodedata.combining(d) == 0 and ord(d) not in seconds for d in decomposed
        )
        value = decomposed if simple else _SENTINEL
        self[code] = value
        return value


_NFKC_TABLE = _NfkcTable()


def nfkc(text: str) -> str:
    """Exactly `unicodedata.normalize("NFKC", text)`, mostly by table lookups."""
    out = text.translate(_NFKC_TABLE)
    if _SENTINEL in out:
        return unicodedata.normalize("NFKC", text)
    return out


def normalize(text: str) -> Normalized:
    """Normalise `text` for the models; the signals found are returned alongside."""
    cleaned = clean_unicode(text)
    return normalize_simplified(to_simplified(cleaned), cleaned)


def normalize_simplified(simplified: str, cleaned: str) -> Normalized:
    """`normalize` from its first two steps' results (for callers that already have them)."""
    # Each regex runs only when the character it cannot match without is there ("@" for
    # mentions and reposts, "://" or "www." for URLs …): most posts have none of them.
    at = "@" in simplified
    repost_chain = tuple(_REPOST_RE.findall(simplified)) if at else ()
    body = simplified
    urls: tuple[str, ...] = ()
    if "://" in simplified or "www." in simplified.lower():
        urls = tuple(_URL_RE.findall(simplified))
        body = _URL_RE.sub(URL_TOKEN, body)
    if repost_chain:
        body = _REPOST_RE.sub(" // ", body)
    mentions: tuple[str, ...] = ()
    if "@" in body:
        mentions = tuple(_MENTION_RE.findall(body))
        body = _MENTION_RE.sub(MENTION_TOKEN, body)
    # str.split() splits on exactly the characters `\s` matches: the same as
    # _SPACE_RE.sub(" ", body).strip(), in one C call.
    body = " ".join(body.split()).lower()
    ascii_only = simplified.isascii()
    return Normalized(
        text=body,
        urls=urls,
        mentions=mentions,
        repost_chain=repost_chain,
        emoticons=tuple(_EMOTICON_RE.findall(simplified)) if "[" in simplified else (),
        emoji=() if ascii_only else tuple(_EMOJI_RE.findall(simplified)),
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
