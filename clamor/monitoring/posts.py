"""Social posts as they arrive by webhook, JSONL stream or replay file → `ItemIn`.

A post (JSON object)::

    platform          str   required   weibo, twitter, wechat, douyin, forum …
    id                str|int required  the platform's id of the post
    text              str   required
    author            str
    author_followers  int ≥ 0
    author_verified   bool
    url               str
    created_at        ISO 8601 with a time zone, or UNIX seconds
    reposts, comments, likes   int ≥ 0
    parent_id         str|int   the post this one reposts or answers

Validation is per post: one bad post in a batch is reported (with its index or line and the
field) and the others are stored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clamor.core.errors import ValidationError
from clamor.intake.service import ItemIn, validate

FIELDS = frozenset(
    {
        "platform",
        "id",
        "text",
        "author",
        "author_followers",
        "author_verified",
        "url",
        "created_at",
        "reposts",
        "comments",
        "likes",
        "parent_id",
        "title",
    }
)


@dataclass(frozen=True, slots=True)
class PostError:
    index: int  # 0-based position in the batch
    line: int | None  # 1-based line, for JSONL and replay files
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "message": self.message}
        if self.line is not None:
            body["line"] = self.line
        if self.field:
            body["field"] = self.field
        return body


def _string(post: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = post.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError.keyed("error.monitoring.post_required", field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError.keyed(
            "error.monitoring.post_not_string", field=name, type=type(value).__name__
        )
    return str(value)


def _count(post: dict[str, Any], name: str) -> int | None:
    value = post.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError.keyed(
            "error.monitoring.post_not_number", field=name, type=type(value).__name__
        )
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise ValidationError.keyed("error.monitoring.post_not_count", field=name, value=value)
    return int(value)


def parse_time(value: object, name: str = "created_at") -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError.keyed("error.monitoring.time_boolean", field=name)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValidationError.keyed(
                "error.monitoring.time_bad_unix", field=name, value=value
            ) from None
    if not isinstance(value, str):
        raise ValidationError.keyed("error.monitoring.time_wrong_type", field=name)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError.keyed(
            "error.monitoring.time_not_iso", field=name, value=value
        ) from None
    if parsed.tzinfo is None:
        raise ValidationError.keyed("error.monitoring.time_no_zone", field=name, value=value)
    return parsed.astimezone(UTC)


def post_to_item(post: object) -> ItemIn:
    """One post → ItemIn; ValidationError names the field."""
    if not isinstance(post, dict):
        raise ValidationError.keyed("error.monitoring.post_not_object", type=type(post).__name__)
    unknown = sorted(set(post) - FIELDS)
    if unknown:
        raise ValidationError.keyed(
            "error.monitoring.post_unknown_fields", field=unknown[0], names=", ".join(unknown)
        )
    platform = _string(post, "platform", required=True)
    external_id = _string(post, "id", required=True)
    text = post.get("text")
    if not isinstance(text, str) or not text.strip():
        if text in (None, ""):
            raise ValidationError.keyed("error.monitoring.post_required", field="text")
        raise ValidationError.keyed("error.monitoring.post_text_empty", field="text")
    verified = post.get("author_verified")
    if verified is not None and not isinstance(verified, bool):
        raise ValidationError.keyed("error.monitoring.post_not_boolean", field="author_verified")
    meta: dict[str, Any] = {}
    for name, key in (
        ("author_followers", "followers"),
        ("reposts", "reposts"),
        ("comments", "comments"),
        ("likes", "likes"),
    ):
        count = _count(post, name)
        if count is not None:
            meta[key] = count
    if verified is not None:
        meta["verified"] = verified
    parent = _string(post, "parent_id")
    if parent:
        meta["parent_id"] = parent
    item = ItemIn(
        kind="post",
        source=str(platform).strip().lower()[:64],
        external_id=str(external_id),
        text=text,
        title=_string(post, "title"),
        author=_string(post, "author"),
        url=_string(post, "url"),
        published_at=parse_time(post.get("created_at")),
        meta=meta,
        raw=post,
    )
    validate(item)
    return item


def parse_batch(
    posts: Iterable[tuple[int | None, object]],
) -> tuple[list[tuple[int, ItemIn]], list[PostError]]:
    """(line, post) pairs → the valid items (with their index) and one error per bad post."""
    good: list[tuple[int, ItemIn]] = []
    errors: list[PostError] = []
    for index, (line, post) in enumerate(posts):
        try:
            good.append((index, post_to_item(post)))
        except ValidationError as exc:
            errors.append(PostError(index, line, exc.field, exc.message))
    return good, errors


def read_jsonl(text: str) -> Iterator[tuple[int, object | PostError]]:
    """Each non-blank line as (line number, parsed value), or a PostError for bad JSON."""
    index = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, PostError(index, number, None, f"line {number}: bad JSON ({exc.msg})")
        index += 1
