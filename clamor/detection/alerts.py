"""Graded alerts: blue / yellow / orange / red (IV–I), with the reasons that made the grade.

`grade(signals)` is a pure function from what a burst and its topic show — volume against the
baseline, negative share, reach, escalation words, the data-privacy weight, the analysis
engine's severity — to a score, a level and one `Reason` per contribution, so that the UI can
say *why* an alert is orange. Points per signal (defaults in `AlertPolicy`):

    volume ratio        log10(count / expected), at most 1.5    (×10 → 1 point)
    volume size         log10(count) − 0.5, 0 to 1               (10 posts → 0.5, 32 → 1)
    reach               log10(reach / 10,000), 0 to 2            (100k → 1, 1M → 2)
    negative share      2 × (share − 0.5), 0 to 1                (all negative → 1)
    escalation words    3 × share of items with them, at most 1.5
    data privacy        1.5 × share of items in `data_privacy`
    severity            the mean severity (0..1) when the analysis engine gave one

and the level is the highest threshold the score reaches (blue 1, yellow 2, orange 3, red 4).
A topic whose keywords are common words (`specificity` below `min_specificity`: "please dm
us", "thanks so much") gets no level whatever its volume: events are about particular things.
Volume alone tops out at yellow, volume and reach together at orange (3 points): red needs a
risk signal — negativity, escalation, privacy or severity — because the plan grades by
severity × scope × potential risk, not by scope alone.

`AlertBook` makes one event one alert: an alert stays open for its key (a topic, a watch
query, a category) while offers keep coming within the cooldown; a higher level escalates the
same alert, a lower one only refreshes it; after a quiet cooldown a new burst is a new alert.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from enum import IntEnum
from functools import lru_cache
from typing import Any

from clamor.analysis.watch import WatchSet
from clamor.detection.bursts import poisson_tail

# Words that signal a complaint or story is escalating: legal action, regulators, the press,
# harm to people, leaks. Deliberately generic (no event names); tune per deployment.
ESCALATION_TERMS: tuple[str, ...] = (
    # zh
    "曝光", "维权", "起诉", "律师", "报警", "警方", "消协", "12315", "媒体", "记者", "集体",
    "上访", "死亡", "身亡", "受伤", "爆炸", "起火", "泄露", "泄漏", "召回", "抵制", "罢工",
    "监管", "立案", "调查", "投诉无门", "欺诈", "诈骗",
    # en
    "lawsuit", "sue", "sued", "suing", "lawyer*", "attorney*", "police", "arrest*", "regulator*",
    "investigation", "boycott*", "protest*", "recall*", "leak*", "breach*", "hacked", "fraud*",
    "scam*", "dead", "death*", "died", "kill*", "injur*", "explosion", "fire", "crash*",
    "shooting", "gunman", "gunmen", "hostage*",
)  # fmt: skip


@lru_cache(maxsize=1)
def _escalation_watch() -> WatchSet:
    # One query per term (ids keep the list's order): only the terms that occur in a text are
    # evaluated, where one big OR query was evaluated node by node for every text.
    return WatchSet.compile({f"{n:03d}": term for n, term in enumerate(ESCALATION_TERMS)})


def escalation_terms(text: str) -> tuple[str, ...]:
    """The escalation words found in `text` (empty when none)."""
    matches = _escalation_watch().match(text)
    return tuple(dict.fromkeys(term for match in matches for term in match.terms))


class AlertLevel(IntEnum):
    BLUE = 1  # IV 一般
    YELLOW = 2  # III 较大
    ORANGE = 3  # II 重大
    RED = 4  # I 特别重大

    @property
    def roman(self) -> str:
        return {1: "IV", 2: "III", 3: "II", 4: "I"}[self.value]

    @property
    def colour(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class AlertSignals:
    key: str
    count: int  # items in the burst window
    expected: float
    authors: int = 0
    negative_share: float | None = None
    reach: int = 0
    escalation_share: float = 0.0
    privacy_share: float = 0.0
    severity: float | None = None
    specificity: float | None = None  # `TopicTracker.specificity` of the topic, when a topic


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    blue: float = 1.0
    yellow: float = 2.0
    orange: float = 3.0
    red: float = 4.0
    reach_floor: float = 10_000.0
    escalation_weight: float = 3.0
    escalation_cap: float = 1.5
    privacy_weight: float = 1.5
    scope_cap: float = 3.0  # volume and reach together reach orange at most
    min_specificity: float = 0.55  # below: the topic is chatter held together by common words
    # The lowest level has nothing but its volume to stand on (no reach, no risk signal worth a
    # level above blue), so it needs stronger evidence than the burst test's: the window count
    # must be this unlikely under Poisson(expected). A bigger or riskier burst needs only the
    # burst test; a blue one held back here is raised as soon as its count clears the bar.
    blue_p_value: float = 1e-5


@dataclass(frozen=True, slots=True)
class Reason:
    code: (
        str  # volume_ratio | volume | reach | negative_share | escalation | data_privacy | severity
    )
    value: float
    points: float
    text: str  # English
    text_zh: str = ""  # the same in Chinese (empty in state saved before it existed)


@dataclass(frozen=True, slots=True)
class Grade:
    level: AlertLevel | None  # None: below blue, no alert
    score: float
    reasons: tuple[Reason, ...]


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def grade(signals: AlertSignals, policy: AlertPolicy | None = None) -> Grade:
    policy = policy or AlertPolicy()
    volume = _volume_reasons(signals)
    audience = _audience_reasons(signals, policy)
    # Scope (volume + reach) counts at most `scope_cap`: red needs a risk signal as well.
    room = max(0.0, policy.scope_cap - sum(reason.points for reason in volume))
    audience = [
        replace(reason, points=round(min(reason.points, room), 3))
        if reason.code == "reach"
        else reason
        for reason in audience
    ]
    reasons = [reason for reason in [*volume, *audience] if reason.points > 0]
    score = round(sum(reason.points for reason in reasons), 3)
    if signals.specificity is not None and signals.specificity < policy.min_specificity:
        generic = Reason(
            "generic_topic",
            round(signals.specificity, 3),
            0.0,
            "keywords are common words (chatter, not an event): no alert",
            "关键词均为常见词（闲聊而非事件）：不预警",
        )
        return Grade(None, score, (*reasons, generic))
    level = None
    for candidate, threshold in (
        (AlertLevel.RED, policy.red),
        (AlertLevel.ORANGE, policy.orange),
        (AlertLevel.YELLOW, policy.yellow),
        (AlertLevel.BLUE, policy.blue),
    ):
        if score >= threshold:
            level = candidate
            break
    if level == AlertLevel.BLUE:
        surprise = poisson_tail(signals.count, signals.expected)
        if surprise > policy.blue_p_value:
            weak = Reason(
                "weak_evidence",
                surprise,
                0.0,
                f"a blue alert needs p ≤ {policy.blue_p_value:g}; the window's p is {surprise:.1e}",
                f"蓝色预警需 p ≤ {policy.blue_p_value:g}，当前窗口 p = {surprise:.1e}",
            )
            return Grade(None, score, (*reasons, weak))
    return Grade(level, score, tuple(reasons))


def _volume_reasons(signals: AlertSignals) -> list[Reason]:
    ratio = signals.count / signals.expected if signals.expected > 0 else 1000.0
    return [
        Reason(
            "volume_ratio",
            round(ratio, 2),
            round(_clip(math.log10(max(ratio, 1.0)), 0, 1.5), 3),
            f"{signals.count} posts vs {signals.expected:.2f} expected (×{ratio:.1f})",
            f"{signals.count} 条帖子，预期 {signals.expected:.2f} 条（×{ratio:.1f}）",
        ),
        Reason(
            "volume",
            signals.count,
            round(_clip(math.log10(max(signals.count, 1)) - 0.5, 0, 1.0), 3),
            f"{signals.count} posts from {signals.authors} authors in the window",
            f"窗口内 {signals.authors} 位作者发布 {signals.count} 条帖子",
        ),
    ]


def _audience_reasons(signals: AlertSignals, policy: AlertPolicy) -> list[Reason]:
    reasons = [
        Reason(
            "reach",
            signals.reach,
            round(_clip(math.log10(max(signals.reach, 1) / policy.reach_floor), 0, 2), 3),
            f"reach {signals.reach:,}",
            f"传播量 {signals.reach:,}",
        ),
        Reason(
            "escalation",
            round(signals.escalation_share, 3),
            round(
                min(policy.escalation_cap, policy.escalation_weight * signals.escalation_share), 3
            ),
            f"{signals.escalation_share:.0%} of posts use escalation words",
            f"{signals.escalation_share:.0%} 的帖子含升级词（起诉、曝光、监管投诉等）",
        ),
        Reason(
            "data_privacy",
            round(signals.privacy_share, 3),
            round(policy.privacy_weight * signals.privacy_share, 3),
            f"{signals.privacy_share:.0%} of posts are about data privacy",
            f"{signals.privacy_share:.0%} 的帖子涉及数据隐私",
        ),
    ]
    if signals.negative_share is not None:
        share = signals.negative_share
        reasons.append(
            Reason(
                "negative_share",
                round(share, 3),
                round(_clip(2 * (share - 0.5), 0, 1), 3),
                f"{share:.0%} negative",
                f"负面占 {share:.0%}",
            )
        )
    if signals.severity is not None:
        reasons.append(
            Reason(
                "severity",
                round(signals.severity, 3),
                round(_clip(signals.severity, 0, 1), 3),
                f"mean severity {signals.severity:.2f}",
                f"平均严重度 {signals.severity:.2f}",
            )
        )
    return reasons


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    key: str
    level: AlertLevel
    score: float
    reasons: tuple[Reason, ...]
    opened_at: float
    updated_at: float
    updates: int = 0


@dataclass(frozen=True, slots=True)
class AlertChange:
    kind: str  # "raised" | "escalated" | "updated"
    alert: Alert
    previous_level: AlertLevel | None = None


class AlertBook:
    """One open alert per key; offers within the cooldown update it instead of raising another."""

    def __init__(self, cooldown_seconds: float = 6 * 3600) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._open: dict[str, Alert] = {}
        self._snoozed_until: dict[str, float] = {}
        self._next_id = 1

    def offer(self, key: str, at: float, result: Grade) -> AlertChange | None:
        """Feed a graded burst; returns what changed, or None when nothing is worth an alert."""
        if result.level is None or at < self._snoozed_until.get(key, -math.inf):
            return None
        current = self._open.get(key)
        if current is not None and at - current.updated_at <= self.cooldown_seconds:
            return self._update(current, at, result)
        alert = Alert(f"a{self._next_id}", key, result.level, result.score, result.reasons, at, at)
        self._next_id += 1
        self._open[key] = alert
        return AlertChange("raised", alert)

    def _update(self, current: Alert, at: float, result: Grade) -> AlertChange:
        assert result.level is not None
        escalates = result.level > current.level
        updated = replace(
            current,
            level=max(current.level, result.level),
            score=max(current.score, result.score),
            reasons=result.reasons if result.score >= current.score else current.reasons,
            updated_at=max(current.updated_at, at),
            updates=current.updates + 1,
        )
        self._open[current.key] = updated
        if escalates:
            return AlertChange("escalated", updated, current.level)
        return AlertChange("updated", updated, current.level)

    def snooze(self, key: str, until: float) -> None:
        """No alert for `key` before `until` (an analyst snoozed it or marked it false)."""
        self._snoozed_until[key] = until

    def active(self, now: float) -> list[Alert]:
        return sorted(
            (a for a in self._open.values() if now - a.updated_at <= self.cooldown_seconds),
            key=lambda alert: alert.opened_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cooldown_seconds": self.cooldown_seconds,
            "open": [asdict(alert) for alert in self._open.values()],
            "snoozed_until": dict(self._snoozed_until),
            "next_id": self._next_id,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> AlertBook:
        book = cls(state["cooldown_seconds"])
        for raw in state["open"]:
            alert = Alert(
                **{
                    **raw,
                    "level": AlertLevel(raw["level"]),
                    "reasons": tuple(Reason(**reason) for reason in raw["reasons"]),
                }
            )
            book._open[alert.key] = alert
        book._snoozed_until = dict(state["snoozed_until"])
        book._next_id = state["next_id"]
        return book
