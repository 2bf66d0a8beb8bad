"""The transition-table engine on a small table of its own."""

from __future__ import annotations

from enum import StrEnum

import pytest

from clamor.core.errors import InvalidTransition, PermissionDenied, ValidationError
from clamor.workflow.transitions import (
    Fields,
    Guard,
    Need,
    TransitionRule,
    TransitionTable,
    is_filled,
)


class Door(StrEnum):
    OPEN = "open"
    SHUT = "shut"
    LOCKED = "locked"


def _even(fields: Fields) -> str | None:
    code = fields.get("code")
    return None if code is None or int(code) % 2 == 0 else "the code must be even"


TABLE = TransitionTable(
    "door",
    [
        TransitionRule(Door.OPEN, "shut", Door.SHUT, "door.use"),
        TransitionRule(Door.SHUT, "open", Door.OPEN, "door.use"),
        TransitionRule(
            Door.SHUT,
            "lock",
            Door.LOCKED,
            "door.lock",
            required=(Need("key", "code"),),
            guards=(Guard("code", "an even code", _even),),
        ),
    ],
)


def test_order_of_checks() -> None:
    with pytest.raises(InvalidTransition, match="allowed: shut"):
        TABLE.apply(Door.OPEN, "lock", frozenset({"door.lock"}), {"key": "k"})
    with pytest.raises(PermissionDenied, match=r"door\.lock"):
        TABLE.apply(Door.SHUT, "lock", frozenset({"door.use"}), {})
    with pytest.raises(ValidationError, match="key or code") as error:
        TABLE.apply(Door.SHUT, "lock", frozenset({"door.lock"}), {})
    assert error.value.field == "key"
    with pytest.raises(ValidationError, match="even") as error:
        TABLE.apply(Door.SHUT, "lock", frozenset({"door.lock"}), {"code": 3})
    assert error.value.field == "code"
    assert TABLE.apply(Door.SHUT, "lock", frozenset({"door.lock"}), {"code": 4}).target is (
        Door.LOCKED
    )


def test_final_state_message_and_shape() -> None:
    with pytest.raises(InvalidTransition, match="final state"):
        TABLE.apply(Door.LOCKED, "open", frozenset({"door.use"}))
    assert TABLE.final_states() == {Door.LOCKED}
    assert TABLE.allowed_actions(Door.SHUT, frozenset({"door.use"})) == ("open",)


def test_duplicate_rows_are_refused() -> None:
    row = TransitionRule(Door.OPEN, "shut", Door.SHUT, "door.use")
    with pytest.raises(ValueError, match="duplicate"):
        TransitionTable("door", [row, row])
    with pytest.raises(ValueError):
        Need()


@pytest.mark.parametrize(
    ("value", "filled"),
    [(None, False), ("", False), ("  ", False), ([], False), ({}, False), (0, True), ("x", True),
     (False, True), (["a"], True)],
)  # fmt: skip
def test_is_filled(value: object, filled: bool) -> None:
    assert is_filled(value) is filled


def test_refusals_are_keyed_and_speak_chinese() -> None:
    with pytest.raises(ValidationError) as error:
        TABLE.apply(Door.SHUT, "lock", frozenset({"door.lock"}), {})
    assert error.value.message == "action 'lock' needs key or code"
    assert error.value.text("zh-CN") == "操作 'lock' 需要填写 key 或 code。"
    with pytest.raises(InvalidTransition) as refused:
        TABLE.apply(Door.LOCKED, "open", frozenset({"door.use"}))
    assert refused.value.message == (
        "door: action 'open' is not allowed in state 'locked' (allowed: none (final state))"
    )
    assert refused.value.text("zh-CN") == "door：状态 'locked' 已是终态，不能执行操作 'open'。"
