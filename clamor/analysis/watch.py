"""Watch queries: a small boolean query language, compiled so that many queries cost little.

A watch query names what the opinion monitoring group wants to follow (a brand, a product, an
executive, a competitor). The language, loosest binding first::

    query    := or
    or       := and (("OR" | "或") and)*
    and      := unary (["AND" | "且"] unary)*        juxtaposition is AND
    unary    := ("NOT" | "非") unary | near
    near     := primary ("NEAR/" n primary)*         left-associative
    primary  := "(" or ")" | field ":" value | "phrase" | word | word*

- Operators are upper case (`AND`, `OR`, `NOT`, `NEAR/3`); the Chinese 且 / 或 / 非 count as
  operators only when they stand alone between spaces, so 或者 inside a term stays a term.
- Matching is case-insensitive on a normalised form of the text (NFKC, case-folded, traditional
  Chinese mapped to simplified, every run of punctuation/space read as one space).
- A Latin word matches whole words only (`flight` does not match `flights`; `flight*` does);
  Chinese has no word boundaries, so a Chinese term matches as a substring.
- `a NEAR/n b`: at most n *units* between the two, where a unit is a Latin word or one Chinese
  character — i.e. NEAR counts words in English and characters in Chinese, and mixed text
  consistently. Operands of NEAR must be terms, phrases, prefixes, OR-groups of those or NEARs.
- Field filters: `lang:`, `source:`, `author:`, `category:`; the value may be quoted or end in `*`.

`WatchSet.compile({query_id: text})` parses every query and builds one Aho-Corasick automaton
over all their terms; `match(text, fields)` scans the text once and evaluates only the queries
whose terms occurred (plus the few that can match without any term, e.g. `source:weibo`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Self

from clamor.core.errors import ValidationError
from clamor.core.i18n import translate

FIELDS = frozenset({"lang", "source", "author", "category"})
_OPERATORS = {"AND": "AND", "OR": "OR", "NOT": "NOT", "且": "AND", "或": "OR", "非": "NOT"}
_NEAR_RE = re.compile(r"NEAR/(\d+)$")
_FIELD_RE = re.compile(r"([A-Za-z_]+):(.*)$", re.S)
_QUOTES = {'"': '"', "“": "”", "「": "」"}
_STOP_CHARS = set('()"“”「」') | {" ", "\t", "\n", "\r", "\u3000"}


class QuerySyntaxError(ValidationError):
    """A watch query that cannot be parsed; `position` is the 0-based character offset.

    `keyed(key, position=…, **params)`: the catalogue entry `key` says what is wrong, and the
    message (and `text(language)`) add where, in the words of `error.watch.at_position`."""

    def __init__(
        self,
        message: str,
        position: int,
        *,
        field: str | None = "query",
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{message} at position {position}", field=field, key=key, params=params)
        self.position = position

    @classmethod
    def keyed(
        cls, key: str, *, field: str | None = "query", position: int = 0, **params: Any
    ) -> Self:
        reason = ValidationError.keyed(key, field=field, **params)
        return cls(reason.message, position, field=field, key=key, params=reason.params)

    def reason(self) -> ValidationError:
        """What is wrong without where, in either language (to wrap in another message)."""
        what = self.message.rsplit(" at position", 1)[0]
        return ValidationError(what, field=self.field, key=self.key, params=self.params)

    def text(self, language: str) -> str:
        if not self.key:
            return self.message
        return translate(
            "error.watch.at_position",
            language,
            reason=self.reason().text(language),
            position=self.position,
        )


# ---------------------------------------------------------------------------------------------
# Normalisation shared by queries and texts (so both sides agree on what a "word" is).


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x3040 <= code <= 0x30FF
        or 0x20000 <= code <= 0x2FFFF
    )


def is_word_char(char: str) -> bool:
    """A letter or digit that belongs to a space-delimited word (Latin, Cyrillic, digits…)."""
    return char.isalnum() and not is_cjk(char)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    return _to_simplified(folded) if len(folded) == 1 and is_cjk(folded) else folded


def _to_simplified(char: str) -> str:
    converted = _opencc().convert(char)
    # Keep offsets exact: take the conversion only when it stays one character.
    return converted if len(converted) == 1 else char


@lru_cache(maxsize=1)
def _opencc():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """`text` is the matching form; `origin[i]` is the offset in the original of `text[i]`."""

    text: str
    origin: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1


# Text made only of ASCII, CJK ideographs and CJK punctuation is already NFKC (apart from the
# ideographic space, a separator either way), so it can take the fast path below.
_SIMPLE_TEXT_RE = re.compile(r"[\x00-\x7f\u3000-\u303f\u4e00-\u9fff]*")
_ALNUM_RUN_RE = re.compile(r"[^\W_]+")


def normalize_for_match(raw: str) -> NormalizedText:
    if _SIMPLE_TEXT_RE.fullmatch(raw):
        return _normalize_simple(raw)
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(raw):
        for folded in _fold_char(char):
            if folded.isalnum():
                chars.append(folded)
                origin.append(index)
            elif unicodedata.category(folded).startswith("M"):
                continue  # a combining mark belongs to the letter before it
            elif chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return NormalizedText("".join(chars), tuple(origin))


def _normalize_simple(raw: str) -> NormalizedText:
    folded = raw.lower()
    if not raw.isascii():
        simplified = _opencc().convert(folded)
        folded = simplified if len(simplified) == len(folded) else folded
    parts: list[str] = []
    origin: list[int] = []
    previous_end = 0
    for run in _ALNUM_RUN_RE.finditer(folded):
        start, end = run.span()
        if parts:
            parts.append(" ")
            origin.append(previous_end)
        parts.append(run.group())
        origin.extend(range(start, end))
        previous_end = end
    return NormalizedText("".join(parts), tuple(origin))


def normalize_term(raw: str) -> str:
    return normalize_for_match(raw).text


# ---------------------------------------------------------------------------------------------
# The syntax tree. Terms hold their normalised text; `render()` gives back a parseable query.


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    prefix: bool = False
    phrase: bool = False

    def render(self) -> str:
        if self.phrase or " " in self.text:
            return f'"{self.text}"'
        return self.text + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class FieldFilter:
    name: str
    value: str
    prefix: bool = False

    def render(self) -> str:
        return f'{self.name}:"{self.value}"' + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def render(self) -> str:
        return f"NOT {_render_operand(self.child)}"


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def render(self) -> str:
        return " AND ".join(_render_operand(child) for child in self.children)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]

    def render(self) -> str:
        return " OR ".join(_render_operand(child) for child in self.children)


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int

    def render(self) -> str:
        right = self.right.render() if isinstance(self.right, Term) else f"({self.right.render()})"
        left = (
            self.left.render() if isinstance(self.left, Term | Near) else f"({self.left.render()})"
        )
        return f"{left} NEAR/{self.distance} {right}"


Node = Term | FieldFilter | Not | And | Or | Near


def _render_operand(node: Node) -> str:
    return f"({node.render()})" if isinstance(node, And | Or | Near) else node.render()


# ---------------------------------------------------------------------------------------------
# Tokenizer and recursive-descent parser.


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "OP", "NEAR", "TERM", "FIELD", "END"
    position: int
    value: str = ""
    number: int = 0
    quoted: bool = False
    prefix: bool = False
    field: str = ""


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    closing = _QUOTES[query[start]]
    end = query.find(closing, start + 1)
    if end < 0:
        raise QuerySyntaxError.keyed("error.watch.unterminated_quote", position=start)
    return query[start + 1 : end], end + 1


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(query):
        char = query[index]
        if char.isspace():
            index += 1
        elif char in "()":
            tokens.append(_Token(char, index))
            index += 1
        elif char in _QUOTES:
            text, end = _read_quoted(query, index)
            tokens.append(_term_token(text, index, quoted=True, prefix=False))
            index = end
        elif char in "”」":
            raise QuerySyntaxError.keyed("error.watch.stray_closing_quote", position=index)
        else:
            index = _read_word(query, index, tokens)
    tokens.append(_Token("END", len(query)))
    return tokens


def _read_word(query: str, start: int, tokens: list[_Token]) -> int:
    end = start
    while end < len(query) and query[end] not in _STOP_CHARS and not query[end].isspace():
        end += 1
    word = query[start:end]
    if word in _OPERATORS:
        tokens.append(_Token("OP", start, _OPERATORS[word]))
        return end
    if word.startswith("NEAR/") or word == "NEAR":
        near = _NEAR_RE.match(word)
        if near is None:
            raise QuerySyntaxError.keyed("error.watch.near_distance", position=start)
        tokens.append(_Token("NEAR", start, number=int(near.group(1))))
        return end
    field = _FIELD_RE.match(word)
    if field is not None:
        return _read_field(query, start, end, field.group(1), field.group(2), tokens)
    prefix = word.endswith("*")
    tokens.append(
        _term_token(word.rstrip("*") if prefix else word, start, quoted=False, prefix=prefix)
    )
    return end


def _read_field(
    query: str, start: int, end: int, name: str, value: str, tokens: list[_Token]
) -> int:
    if name.lower() not in FIELDS:
        known = ", ".join(sorted(FIELDS))
        raise QuerySyntaxError.keyed(
            "error.watch.unknown_field", position=start, name=name, known=known
        )
    if not value and end < len(query) and query[end] in _QUOTES:
        value, end = _read_quoted(query, end)
        prefix = end < len(query) and query[end] == "*"
        end += 1 if prefix else 0
    else:
        prefix = value.endswith("*")
        value = value.rstrip("*")
    if not value.strip():
        raise QuerySyntaxError.keyed("error.watch.field_no_value", position=start, name=name)
    tokens.append(
        _Token("FIELD", start, value.strip().casefold(), prefix=prefix, field=name.lower())
    )
    return end


def _term_token(raw: str, position: int, *, quoted: bool, prefix: bool) -> _Token:
    text = normalize_term(raw)
    if not text:
        raise QuerySyntaxError.keyed(
            "error.watch.phrase_no_letters" if quoted else "error.watch.term_no_letters",
            position=position,
        )
    return _Token("TERM", position, text, quoted=quoted, prefix=prefix)


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokenize(query)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if self.current.kind == "END":
            raise QuerySyntaxError.keyed("error.watch.empty_query", position=0)
        node = self.parse_or()
        if self.current.kind == ")":
            raise QuerySyntaxError.keyed(
                "error.watch.unbalanced_parenthesis", position=self.current.position
            )
        if self.current.kind != "END":
            raise QuerySyntaxError.keyed(
                "error.watch.unexpected_input", position=self.current.position
            )
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.current.kind == "OP" and self.current.value == "OR":
            self.advance()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while True:
            token = self.current
            if token.kind == "OP" and token.value == "AND":
                self.advance()
            elif not (
                token.kind in ("(", "TERM", "FIELD") or (token.kind, token.value) == ("OP", "NOT")
            ):
                break
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        if self.current.kind == "OP" and self.current.value == "NOT":
            self.advance()
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        start = self.current.position
        node = self.parse_primary()
        while self.current.kind == "NEAR":
            near_token = self.advance()
            right_start = self.current.position
            right = self.parse_primary()
            _require_positional(node, start)
            _require_positional(right, right_start)
            node = Near(node, right, near_token.number)
        return node

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "(":
            self.advance()
            if self.current.kind == ")":
                raise QuerySyntaxError.keyed(
                    "error.watch.empty_parentheses", position=token.position
                )
            node = self.parse_or()
            if self.current.kind != ")":
                raise QuerySyntaxError.keyed(
                    "error.watch.unbalanced_parenthesis", position=token.position
                )
            self.advance()
            return node
        if token.kind == "TERM":
            self.advance()
            return Term(token.value, prefix=token.prefix, phrase=token.quoted)
        if token.kind == "FIELD":
            self.advance()
            return FieldFilter(token.field, token.value, token.prefix)
        if token.kind == "END":
            raise QuerySyntaxError.keyed("error.watch.ends_early", position=token.position)
        if token.kind == ")":
            raise QuerySyntaxError.keyed(
                "error.watch.unbalanced_parenthesis", position=token.position
            )
        label = f"NEAR/{token.number}" if token.kind == "NEAR" else token.value
        raise QuerySyntaxError.keyed(
            "error.watch.operator_needs_term", position=token.position, operator=label
        )


def _is_positional(node: Node) -> bool:
    if isinstance(node, Term | Near):
        return True
    return isinstance(node, Or) and all(_is_positional(child) for child in node.children)


def _require_positional(node: Node, position: int) -> None:
    if not _is_positional(node):
        raise QuerySyntaxError.keyed("error.watch.near_positional", position=position)


def parse_query(query: str) -> Node:
    """Parse one watch query; raises `QuerySyntaxError` (a `ValidationError`) with the position."""
    return _Parser(query).parse()


# ---------------------------------------------------------------------------------------------
# Evaluation against one text.

Span = tuple[int, int]


def iter_terms(node: Node, *, positive_only: bool = False) -> Iterable[Term]:
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Not):
        if not positive_only:
            yield from iter_terms(node.child)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from iter_terms(child, positive_only=positive_only)
    elif isinstance(node, Near):
        yield from iter_terms(node.left, positive_only=positive_only)
        yield from iter_terms(node.right, positive_only=positive_only)


def requires_term(node: Node) -> bool:
    """True when the query can only be true if at least one of its terms occurs."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, And):
        return any(requires_term(child) for child in node.children)
    if isinstance(node, Or):
        return all(requires_term(child) for child in node.children)
    return False


class _Evaluation:
    """One query over one text: `occurrences[term]` are spans in the normalised text."""

    def __init__(
        self,
        occurrences: Mapping[Term, list[Span]],
        text: str,
        fields: Mapping[str, object],
    ) -> None:
        self.occurrences = occurrences
        self.text = text
        self._unit_starts: list[int] | None = None  # computed on the first NEAR only
        self.fields = fields

    def truth(self, node: Node) -> bool:
        if isinstance(node, Term | Near):
            return bool(self.spans(node))
        if isinstance(node, FieldFilter):
            return _field_matches(self.fields.get(node.name), node)
        if isinstance(node, Not):
            return not self.truth(node.child)
        if isinstance(node, And):
            return all(self.truth(child) for child in node.children)
        if isinstance(node, Or):
            return any(self.truth(child) for child in node.children)
        raise TypeError(node)

    def spans(self, node: Node) -> list[Span]:
        if isinstance(node, Term):
            return self.occurrences.get(node, [])
        if isinstance(node, Or):
            return [span for child in node.children for span in self.spans(child)]
        if isinstance(node, Near):
            return self._near(node)
        raise TypeError(node)

    def _near(self, node: Near) -> list[Span]:
        lefts = self.spans(node.left)
        rights = self.spans(node.right) if lefts else []
        joined = []
        for left in lefts:
            for right in rights:
                if self.distance(left, right) <= node.distance:
                    joined.append((min(left[0], right[0]), max(left[1], right[1])))
        return joined

    def distance(self, first: Span, second: Span) -> int:
        """Units (Latin words or CJK characters) strictly between two spans; 0 if they overlap."""
        before, after = (first, second) if first[0] <= second[0] else (second, first)
        if after[0] < before[1]:
            return 0
        if self._unit_starts is None:
            self._unit_starts = [unit.start() for unit in _UNIT_RE.finditer(self.text)]
        starts = self._unit_starts
        return bisect_left(starts, after[0]) - bisect_left(starts, before[1])


def _field_matches(value: object, node: FieldFilter) -> bool:
    if value is None:
        return False
    values = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    for candidate in values:
        folded = str(candidate).strip().casefold()
        if folded == node.value or (node.prefix and folded.startswith(node.value)):
            return True
    return False


_CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\U00020000-\U0002ffff"
# A unit is one CJK character or a run of other letters/digits (the same units as below).
_UNIT_RE = re.compile(f"[{_CJK_CLASS}]|(?:(?![{_CJK_CLASS}])[^\\W_])+")


def units_before(text: str) -> list[int]:
    """`result[i]` = number of units (Latin words, CJK characters) starting before offset i."""
    counts = [0] * (len(text) + 1)
    running = 0
    previous_is_word = False
    for index, char in enumerate(text):
        counts[index] = running
        word = is_word_char(char)
        if is_cjk(char) or (word and not previous_is_word):
            running += 1
        previous_is_word = word
    counts[len(text)] = running
    return counts


# ---------------------------------------------------------------------------------------------
# Aho-Corasick over the distinct term strings of every query.


class _Automaton:
    def __init__(self, patterns: list[str]) -> None:
        self.goto: list[dict[str, int]] = [{}]
        self.output: list[list[int]] = [[]]
        for pattern_id, pattern in enumerate(patterns):
            self._insert(pattern, pattern_id)
        self.fail = [0] * len(self.goto)
        self._link()

    def _insert(self, pattern: str, pattern_id: int) -> None:
        state = 0
        for char in pattern:
            next_state = self.goto[state].get(char)
            if next_state is None:
                next_state = len(self.goto)
                self.goto[state][char] = next_state
                self.goto.append({})
                self.output.append([])
            state = next_state
        self.output[state].append(pattern_id)

    def _link(self) -> None:
        queue = list(self.goto[0].values())
        head = 0
        while head < len(queue):
            state = queue[head]
            head += 1
            for char, child in self.goto[state].items():
                queue.append(child)
                fallback = self.fail[state]
                while fallback and char not in self.goto[fallback]:
                    fallback = self.fail[fallback]
                link = self.goto[fallback].get(char, 0)
                self.fail[child] = link if link != child else 0
                self.output[child] = self.output[child] + self.output[self.fail[child]]

    def find(self, text: str) -> list[tuple[int, int]]:
        """(pattern id, end offset) for every occurrence, overlapping ones included."""
        goto, fail, output = self.goto, self.fail, self.output
        hits: list[tuple[int, int]] = []
        state = 0
        for index, char in enumerate(text):
            while state and char not in goto[state]:
                state = fail[state]
            state = goto[state].get(char, 0)
            if output[state]:
                hits.extend((pattern_id, index + 1) for pattern_id in output[state])
        return hits


# ---------------------------------------------------------------------------------------------
# The compiled set.


@dataclass(frozen=True, slots=True)
class Highlight:
    start: int  # offsets in the original text, end exclusive
    end: int
    term: str


@dataclass(frozen=True, slots=True)
class Match:
    query_id: str
    terms: tuple[str, ...]
    highlights: tuple[Highlight, ...]


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    query_id: str
    text: str
    tree: Node
    positive_terms: tuple[Term, ...]


class WatchSet:
    """Many watch queries compiled together; `match` scans a text once for all of them."""

    def __init__(self, queries: Mapping[str, CompiledQuery]) -> None:
        self.queries = dict(queries)
        terms = sorted(
            {term for query in self.queries.values() for term in iter_terms(query.tree)},
            key=lambda term: (term.text, term.prefix, term.phrase),
        )
        self._patterns = sorted({term.text for term in terms})
        pattern_ids = {pattern: index for index, pattern in enumerate(self._patterns)}
        self._terms_by_pattern: list[list[Term]] = [[] for _ in self._patterns]
        for term in terms:
            self._terms_by_pattern[pattern_ids[term.text]].append(term)
        self._queries_by_pattern: list[list[str]] = [[] for _ in self._patterns]
        self._always: list[str] = []
        for query_id, query in self.queries.items():
            if not requires_term(query.tree):
                self._always.append(query_id)
                continue
            for pattern in sorted({term.text for term in iter_terms(query.tree)}):
                self._queries_by_pattern[pattern_ids[pattern]].append(query_id)
        self._automaton = _Automaton(self._patterns)

    @classmethod
    def compile(cls, queries: Mapping[str, str]) -> WatchSet:
        compiled = {}
        for query_id, text in queries.items():
            try:
                tree = parse_query(text)
            except QuerySyntaxError as error:
                raise QuerySyntaxError.keyed(
                    "error.watch.query_invalid",
                    field=query_id,
                    position=error.position,
                    detail=error.reason(),
                ) from None
            positive = tuple(dict.fromkeys(iter_terms(tree, positive_only=True)))
            compiled[query_id] = CompiledQuery(query_id, text, tree, positive)
        return cls(compiled)

    def __len__(self) -> int:
        return len(self.queries)

    def match(self, text: str, fields: Mapping[str, object] | None = None) -> list[Match]:
        """Every query matching `text`; `fields` holds lang, source, author, category."""
        normalized = normalize_for_match(text)
        occurrences, candidate_ids = self._occurrences(normalized.text)
        candidates = set(candidate_ids) | set(self._always)
        if not candidates:
            return []
        evaluation = _Evaluation(occurrences, normalized.text, fields or {})
        matches = []
        for query_id in sorted(candidates):
            query = self.queries[query_id]
            if evaluation.truth(query.tree):
                matches.append(_build_match(query, occurrences, normalized))
        return matches

    def _occurrences(self, text: str) -> tuple[dict[Term, list[Span]], set[str]]:
        occurrences: dict[Term, list[Span]] = {}
        candidates: set[str] = set()
        for pattern_id, end in self._automaton.find(text):
            start = end - len(self._patterns[pattern_id])
            left_ok = start == 0 or not (
                is_word_char(text[start]) and is_word_char(text[start - 1])
            )
            if not left_ok:
                continue
            for term in self._terms_by_pattern[pattern_id]:
                span = _term_span(text, start, end, term.prefix)
                if span is not None:
                    occurrences.setdefault(term, []).append(span)
                    candidates.update(self._queries_by_pattern[pattern_id])
        return occurrences, candidates


def _term_span(text: str, start: int, end: int, prefix: bool) -> Span | None:
    """The span a term occupies, or None when it ends inside a longer Latin word."""
    inside_word = end < len(text) and is_word_char(text[end]) and is_word_char(text[end - 1])
    if not inside_word:
        return (start, end)
    if not prefix:
        return None
    while end < len(text) and is_word_char(text[end]):
        end += 1  # a prefix highlights the whole word it begins
    return (start, end)


def _build_match(
    query: CompiledQuery, occurrences: Mapping[Term, list[Span]], normalized: NormalizedText
) -> Match:
    highlights = []
    matched_terms = []
    for term in query.positive_terms:
        spans = occurrences.get(term)
        if not spans:
            continue
        matched_terms.append(term.render())
        for start, end in spans:
            original_start, original_end = normalized.original_span(start, end)
            highlights.append(Highlight(original_start, original_end, term.render()))
    highlights.sort(key=lambda highlight: (highlight.start, highlight.end, highlight.term))
    return Match(query.query_id, tuple(matched_terms), tuple(highlights))
