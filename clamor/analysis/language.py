"""Language: zh / en / other, and whether the text mixes Chinese and Latin script.

A script count, not a statistical detector: Clamor only has models for Chinese and English, so
the question is which of the two models reads the text, and whether it is neither. Counting
scripts answers that in ~2 µs per text; lingua restricted to zh+en (the alternative measured in
`benchmarks/analysis.py`) is ~10× slower and cannot say "other". Latin-script text that is not
English is caught by a few non-English function words and accents — enough to route it away
from the English model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clamor.analysis.frozen import quick_init

ZH, EN, OTHER = "zh", "en", "other"

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
# Other alphabets: Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai …
_OTHER_ALPHA_RE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u0dff\u0e00-\u0e7f]")
_ACCENT_RE = re.compile(r"[À-ÖØ-öø-ÿĀ-ž]")
_WORD_RE = re.compile(r"[a-zà-ÿ]+")
# Frequent words of other Latin-script languages that are not English words.
_NON_EN_WORDS = frozenset(
    [
        "der",
        "die",
        "und",
        "nicht",
        "ist",
        "ich",
        "sie",
        "wir",
        "les",
        "des",
        "est",
        "une",
        "pas",
        "pour",
        "avec",
        "que",
        "qui",
        "dans",
        "sur",
        "el",
        "los",
        "las",
        "por",
        "una",
        "con",
        "para",
        "muy",
        "pero",
        "como",
        "más",
        "és",
        "het",
        "een",
        "niet",
        "zijn",
        "ik",
        "não",
        "uma",
        "com",
        "sono",
        "della",
        "anche",
        "molto",
        "ja",
        "ei",
        "että",
    ]
)
MIXED_SHARE = 0.2
LETTERS_PER_HAN = 3.0


@quick_init
@dataclass(frozen=True, slots=True)
class Language:
    code: str  # "zh" | "en" | "other"
    mixed: bool  # Chinese and Latin script both carry a real share of the letters
    han_share: float  # share of Han characters among all letters/characters counted


_RARE_SCRIPT_RE = re.compile(
    "[\u3040-\u30ff\uac00-\ud7af\u1100-\u11ff\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff"
    "\u0900-\u0dff\u0e00-\u0e7f]"
)


# Han code points (the ranges of _HAN_RE) → deleted: the length lost under str.translate is the
# number of Han characters, counted in C without a match object per character as findall makes.
_HAN_DELETE = dict.fromkeys(
    [*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000), *range(0xF900, 0xFB00)]
)


def count_han(text: str) -> int:
    return len(text) - len(text.translate(_HAN_DELETE)) if not text.isascii() else 0


def detect(text: str) -> Language:
    han = count_han(text)
    kana = hangul = other_alpha = 0
    if han < len(text) and not text.isascii() and _RARE_SCRIPT_RE.search(text):
        kana = len(_KANA_RE.findall(text))
        hangul = len(_HANGUL_RE.findall(text))
        other_alpha = len(_OTHER_ALPHA_RE.findall(text))
    latin_text = _strip_handles(text)
    latin = count_latin(latin_text)
    total = han + kana + hangul + other_alpha + latin
    if total == 0:
        return Language(OTHER, False, 0.0)
    han_share = han / total
    # One Han character carries about as much as a short Latin word (~3 letters).
    latin_units = latin / LETTERS_PER_HAN
    mixed = han >= 2 and latin >= 3 and min(han, latin_units) / (han + latin_units) >= MIXED_SHARE
    if (kana > 0 and kana >= han * 0.1) or hangul > max(han, latin) or other_alpha > han + latin:
        return Language(OTHER, mixed, han_share)
    if han > 0 and han >= latin_units:
        return Language(ZH, mixed, han_share)
    if latin > 0 and _looks_english(latin_text):
        return Language(EN, mixed, han_share)
    if han > 0:
        return Language(ZH, mixed, han_share)
    return Language(OTHER, mixed, han_share)


_HANDLE_RE = re.compile(r"@\w+|https?://\S+|#")


def _strip_handles(text: str) -> str:
    """@handles and URLs are Latin script whatever the language, so they are not counted."""
    return _HANDLE_RE.sub(" ", text)


_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def count_latin(text: str) -> int:
    """Latin letters, accented ones included. For ASCII text (most English posts) a byte
    deletion counts them without a regex match object per letter."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data) - len(data.translate(None, _ASCII_LETTERS))
    return len(_LATIN_RE.findall(text)) + len(_ACCENT_RE.findall(text))


# ASCII bytes → themselves for a–z, a space for anything else: split() then gives exactly the
# runs _WORD_RE finds in lower-cased ASCII text, in C calls only (~1 µs instead of ~3).
_ASCII_WORD_CHARS = bytes(b if 97 <= b <= 122 else 32 for b in range(256))
_NON_EN_WORDS_ASCII = frozenset(w.encode() for w in _NON_EN_WORDS if w.isascii())


def _looks_english(text: str) -> bool:
    if text.isascii():
        ascii_words = text.encode().lower().translate(_ASCII_WORD_CHARS).split()
        if not ascii_words:
            return False
        foreign = sum(map(_NON_EN_WORDS_ASCII.__contains__, ascii_words))
        return foreign * 5 < len(ascii_words)  # (no accented word in ASCII text)
    words = _WORD_RE.findall(text.lower())
    if not words:
        return False
    foreign = sum(map(_NON_EN_WORDS.__contains__, words))
    # Accents are not ASCII: skip the per-word search when there can be none.
    accented = 0 if text.isascii() else sum(1 for w in words if _ACCENT_RE.search(w))
    return foreign * 5 < len(words) and accented * 8 < len(words)
