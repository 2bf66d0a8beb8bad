"""A small engine for transition tables: the state machines are data, this module reads them.

Every machine in the workflow package (complaint cases, incidents, statements, tasks) is one
tuple of `TransitionRule` rows. `TransitionTable.apply` checks a requested action in a fixed
order — does the action exist in this state, may the actor do it, are the required fields there,
do the guards pass — and raises the matching error from `clamor.core.errors`:

    InvalidTransition   the action is not allowed from the current state (names both)
    PermissionDenied    the actor lacks the permission the row names (names it)
    ValidationError     a required field is missing or a guard fails (names the field)

Permission is checked before the fields so that someone who may not act learns nothing about
what the action would need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Generic, TypeVar

from clamor.core.errors import (
    ClamorError,
    InvalidTransition,
    PermissionDenied,
    Term,
    ValidationError,
)
from clamor.core.i18n import catalogue

S = TypeVar("S", bound=Enum)

Fields = Mapping[str, Any]


class SlaEffect(StrEnum):
    """What a transition means for the SLA clocks of the object it moves."""

    NONE = "none"
    FIRST_RESPONSE = "first_response"  # the first-response clock is met
    RESOLVED = "resolved"  # the resolution clock is met
    CLOSED = "closed"  # every clock stops for good
    REOPENED = "reopened"  # a new resolution cycle starts


@dataclass(frozen=True)
class Need:
    """A required field; several names mean any one of them will do."""

    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        if not names:
            raise ValueError("Need() requires at least one field name")
        object.__setattr__(self, "names", names)

    def satisfied_by(self, fields: Fields) -> bool:
        return any(is_filled(fields.get(name)) for name in self.names)

    def describe(self) -> str:
        return " or ".join(self.names)


@dataclass(frozen=True)
class Guard:
    """A rule beyond 'field present': `check` returns what is wrong, or None when it passes.
    What is wrong is best a keyed error (`ValidationError.keyed(…)`, not raised), so that a
    person reads it in their language; plain words are shown as they are."""

    field: str
    description: str
    check: Callable[[Fields], str | ClamorError | None]


@dataclass(frozen=True)
class TransitionRule(Generic[S]):
    """One row of a transition table."""

    source: S
    action: str
    target: S
    permission: str
    required: tuple[Need, ...] = ()
    guards: tuple[Guard, ...] = ()
    pauses_sla: bool = False
    sla_effect: SlaEffect = SlaEffect.NONE


@dataclass(frozen=True)
class Transition(Generic[S]):
    """The result of a permitted, valid action: what the service should now write."""

    source: S
    action: str
    target: S
    permission: str
    pauses_sla: bool
    sla_effect: SlaEffect

    @property
    def changes_state(self) -> bool:
        return self.source != self.target


def is_filled(value: object) -> bool:
    """True for a value a person actually supplied: not None, not blank, not an empty collection."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return bool(value)
    return True


def _table_name(name: str) -> Term | str:
    """A table's name in the reader's language where the catalogue has it (else as it is)."""
    key = "error.workflow.table." + name.replace(" ", "_")
    return Term(key) if key in catalogue() else name


class TransitionTable(Generic[S]):
    """A state machine given as rows; (source, action) must be unique."""

    def __init__(self, name: str, rules: Iterable[TransitionRule[S]]) -> None:
        self.name = name
        self.rules: tuple[TransitionRule[S], ...] = tuple(rules)
        self._index: dict[tuple[S, str], TransitionRule[S]] = {}
        for rule in self.rules:
            key = (rule.source, rule.action)
            if key in self._index:
                raise ValueError(f"{name}: duplicate rule for {rule.source.value}/{rule.action}")
            self._index[key] = rule

    def rule(self, state: S, action: str) -> TransitionRule[S]:
        found = self._index.get((state, action))
        if found is None:
            possible = ", ".join(self.actions_from(state))
            words = {"table": _table_name(self.name), "action": repr(action)}
            if not possible:
                raise InvalidTransition.keyed(
                    "error.workflow.action_not_allowed_final", state=repr(state.value), **words
                )
            raise InvalidTransition.keyed(
                "error.workflow.action_not_allowed",
                state=repr(state.value),
                allowed=possible,
                **words,
            )
        return found

    def actions_from(self, state: S) -> tuple[str, ...]:
        return tuple(rule.action for rule in self.rules if rule.source == state)

    def allowed_actions(self, state: S, permissions: frozenset[str]) -> tuple[str, ...]:
        """Actions from `state` that the actor holds the permission for, in table order."""
        return tuple(
            rule.action
            for rule in self.rules
            if rule.source == state and rule.permission in permissions
        )

    def apply(
        self, state: S, action: str, permissions: frozenset[str], fields: Fields | None = None
    ) -> Transition[S]:
        rule = self.rule(state, action)
        if rule.permission not in permissions:
            raise PermissionDenied.keyed(
                "error.workflow.action_needs_permission",
                table=_table_name(self.name),
                action=repr(action),
                permission=repr(rule.permission),
            )
        check_fields(rule, fields or {})
        return Transition(
            source=rule.source,
            action=rule.action,
            target=rule.target,
            permission=rule.permission,
            pauses_sla=rule.pauses_sla,
            sla_effect=rule.sla_effect,
        )

    def states(self) -> frozenset[S]:
        return frozenset(r.source for r in self.rules) | frozenset(r.target for r in self.rules)

    def final_states(self) -> frozenset[S]:
        sources = {r.source for r in self.rules}
        return frozenset(s for s in self.states() if s not in sources)


def check_fields(rule: TransitionRule[Any], fields: Fields) -> None:
    for need in rule.required:
        if not need.satisfied_by(fields):
            *either, last = need.names
            if either:
                raise ValidationError.keyed(
                    "error.workflow.action_needs_either",
                    field=need.names[0],
                    action=repr(rule.action),
                    either=" or ".join(either),
                    last=last,
                )
            raise ValidationError.keyed(
                "error.workflow.action_needs",
                field=need.names[0],
                action=repr(rule.action),
                need=last,
            )
    for guard in rule.guards:
        problem = guard.check(fields)
        if problem is not None:
            raise ValidationError.keyed(
                "error.workflow.guard_failed",
                field=guard.field,
                action=repr(rule.action),
                problem=problem,
            )


def markdown_table(table: TransitionTable[Any]) -> str:
    """The table as Markdown for docs/workflow.md; rows that differ only in their source state
    are folded into one (e.g. `merge` from every open state)."""
    grouped: dict[tuple[str, ...], list[str]] = {}
    for rule in table.rules:
        self_loop = rule.source == rule.target
        needs = [n.describe() for n in rule.required] + [g.description for g in rule.guards]
        key = (
            rule.action,
            "(same)" if self_loop else rule.target.value,
            f"`{rule.permission}`",
            "; ".join(needs) or "—",
            "(unchanged)" if self_loop else ("yes" if rule.pauses_sla else "no"),
            rule.sla_effect.value if rule.sla_effect is not SlaEffect.NONE else "—",
        )
        grouped.setdefault(key, []).append(rule.source.value)
    lines = [
        "| from | action | to | permission | requires | SLA pauses | SLA effect |",
        "|---|---|---|---|---|---|---|",
    ]
    for (action, target, permission, needs, pauses, effect), sources in grouped.items():
        lines.append(
            f"| {', '.join(sources)} | {action} | {target} | {permission} | {needs} "
            f"| {pauses} | {effect} |"
        )
    return "\n".join(lines)
