"""Run a long regex of alternatives only over the alternatives that can match a given text.

Python's `re` tries every alternative of `a|b|c|…` at every position of the text, so a pattern
of ~100 keywords costs ~70 µs on a tweet even when none of them is there — which is the usual
case. Almost every alternative needs some literal string to be present ("explod" for
`explod\\w*`, "viral" for `go(?:ing)? viral`); a substring test per alternative is ~40 ns. So
`AlternativesGate` keeps the alternatives whose literal occurs in the text, in their original
order and under their original group names, and runs a regex of only those (compiled once per
distinct set, cached). An alternative that cannot match anywhere in the text changes neither
which alternative wins at a position nor where matches start, so the matches are exactly those
of the full pattern; an alternative with no literal to test (or one we cannot parse) is always
kept.
"""

from __future__ import annotations

import itertools
import operator
import re
import threading
from collections.abc import Sequence

try:  # the parser behind `re`; private, so any surprise only turns the shortcut off
    from re import _constants as _sre_constants
    from re import _parser as _sre_parser
except ImportError:  # pragma: no cover - Python without re._parser
    _sre_parser = None
    _sre_constants = None

# Distinct sets of alternatives seen; a text stream yields few, but bound it all the same.
CACHE_LIMIT = 4096


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of `pattern` (`|` outside groups and character classes)."""
    parts: list[str] = []
    depth, start, i, in_class = 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            # "]" right after "[" or "[^" is a literal member, not the end of the class.
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def required_literal(alternative: str, flags: int = 0) -> str:
    """The longest run of literal characters every match of `alternative` contains, or "" when
    there is none we can be sure of (then the alternative is always run)."""
    if _sre_parser is None or flags & (re.IGNORECASE | re.VERBOSE):
        return ""
    try:
        parsed = _sre_parser.parse(alternative, flags)
    except (re.error, TypeError, ValueError):
        return ""
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return ""  # an inline (?i) or (?x)
    best = run = ""
    for op, arg in parsed:
        if op is _sre_constants.LITERAL:
            run += chr(arg)
        elif op is _sre_constants.AT:
            continue  # \b, ^ …: zero-width, the characters on either side stay adjacent
        else:
            best, run = max(best, run, key=len), ""
    return max(best, run, key=len)


def literal_trie(literals: Sequence[str]) -> str:
    """A regex that matches exactly where one of `literals` (non-empty) starts: the literals as
    a trie, so that at each position `re` follows one branch per character instead of trying
    every literal. Only where a match starts is meant (a literal that extends another one is
    cut at the shorter)."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for literal in literals:
        node = trie
        for ch in literal:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branch(node: dict) -> str:  # type: ignore[type-arg]
        if "" in node:
            return ""  # a literal ends here: whatever follows, there is a match
        alternatives = [re.escape(ch) + branch(rest) for ch, rest in sorted(node.items())]
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"

    if not literals or any(not literal for literal in literals):
        raise ValueError("literal_trie needs non-empty literals")
    return branch(trie)


class AlternativesGate:
    """`groups` is a list of (group name or None, pattern); the full regex is the alternation
    of the groups, each a named group when it has a name — as one would write it by hand."""

    def __init__(self, groups: Sequence[tuple[str | None, str]], flags: int = 0) -> None:
        self._flags = flags
        self._groups = [(name, split_alternatives(pattern)) for name, pattern in groups]
        # (group index, alternative index, literal) for every alternative, in pattern order.
        self._always: list[tuple[int, int]] = []
        self._tests: list[tuple[int, int, str]] = []
        for g, (_, alternatives) in enumerate(self._groups):
            for a, alternative in enumerate(alternatives):
                literal = required_literal(alternative, flags)
                if literal:
                    self._tests.append((g, a, literal))
                else:
                    self._always.append((g, a))
        self._index_tests()
        self._cache: dict[tuple[tuple[int, int], ...], re.Pattern[str]] = {}
        self._lock = threading.Lock()
        everything = tuple(
            (g, a) for g, (_, alts) in enumerate(self._groups) for a in range(len(alts))
        )
        self.full = self._compile(everything)
        if self.full.flags & (re.IGNORECASE | re.VERBOSE):
            # An inline flag in one alternative applies to all of them: no shortcut.
            self._always, self._tests = list(everything), []
            self._index_tests()

    def _index_tests(self) -> None:
        # Literals by their first character: one set intersection with the text's characters
        # rules out most of them before any substring test.
        # Literals that start with a non-ASCII character (Chinese ones), by that character: one
        # set intersection with the text's characters rules out most of them before any
        # substring test.
        self._by_first: dict[str, list[tuple[int, int, str]]] = {}
        for test in self._tests:
            if not test[2][0].isascii():
                self._by_first.setdefault(test[2][0], []).append(test)
        self._firsts = frozenset(self._by_first)
        # The others (the English ones): a text holds most ASCII letters, so indexing them by
        # first letter rules out little, and ~40 substring tests cost ~7 µs. But a text usually
        # holds none of them, which one search of a trie-shaped regex of them shows in ~2 µs.
        self._ascii_tests = [test for test in self._tests if test[2][0].isascii()]
        literals = sorted({literal for _, _, literal in self._ascii_tests})
        self._ascii_screen = re.compile(literal_trie(literals)) if literals else None
        # Likewise for the others: a screen, then the index.
        literals = sorted({literal for _, _, literal in self._tests if not literal[0].isascii()})
        self._wide_screen = re.compile(literal_trie(literals)) if literals else None

    def pattern_for(self, text: str) -> re.Pattern[str] | None:
        """A regex equivalent to the full one on `text`, or None when nothing can match."""
        kept = self._kept(text)
        return self._pattern(tuple(kept)) if kept else None

    def search(self, text: str) -> re.Match[str] | None:
        pattern = self.pattern_for(text)
        return pattern.search(text) if pattern is not None else None

    def search_each(self, text: str) -> list[bool]:
        """For each group, whether its own pattern matches somewhere in `text`."""
        found = [False] * len(self._groups)
        for g, items in itertools.groupby(self._kept(text), key=operator.itemgetter(0)):
            found[g] = self._pattern(tuple(items)).search(text) is not None
        return found

    def _kept(self, text: str) -> list[tuple[int, int]]:
        """(group, alternative) of every alternative that may match `text`, in pattern order."""
        screen = self._ascii_screen
        kept = (
            [(g, a) for g, a, literal in self._ascii_tests if literal in text]
            if screen is not None and screen.search(text) is not None
            else []
        )
        # (An ASCII text holds no literal that starts with another character.)
        wide = self._wide_screen
        if wide is not None and not text.isascii() and wide.search(text) is not None:
            by_first = self._by_first
            kept += [
                (g, a)
                for first in self._firsts.intersection(text)
                for g, a, literal in by_first[first]
                if literal in text
            ]
        if not kept and not self._always:
            return kept
        return sorted(kept + self._always)

    def _pattern(self, kept: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
        pattern = self._cache.get(kept)
        if pattern is None:
            pattern = self._compile(kept)
            with self._lock:
                if len(self._cache) >= CACHE_LIMIT:
                    self._cache.clear()
                self._cache[kept] = pattern
        return pattern

    def _compile(self, kept: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
        parts = []
        for g, (name, alternatives) in enumerate(self._groups):
            chosen = [alternatives[a] for gg, a in kept if gg == g]
            if not chosen:
                continue
            body = "|".join(chosen)
            parts.append(f"(?P<{name}>{body})" if name else body)
        return re.compile("|".join(parts), self._flags)
