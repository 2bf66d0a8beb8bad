"""Burst detection: seasonal baseline with little history, minimum counts, idempotence, state."""

from __future__ import annotations

import json
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from clamor.detection.bursts import (
    BurstConfig,
    BurstDetector,
    negative_binomial_tail,
    poisson_tail,
)

DAY = 86400.0
T0 = 1_700_006_400.0  # a midnight UTC


def daily_background(
    detector: BurstDetector, days: int, seed: int = 1, key: str = "topic:bg"
) -> list[bool]:
    """A stream with a strong daily rhythm: busy afternoons, quiet nights.

    Returns, per item, whether it started a burst.
    """
    rng = random.Random(seed)
    bursts = []
    for minute in range(int(days * 24 * 60)):
        hour = (minute // 60) % 24
        rate_per_minute = 0.6 if 12 <= hour < 20 else 0.05
        if rng.random() < rate_per_minute:
            author = f"u{rng.randrange(500)}"
            [status] = detector.add(f"bg{minute}", T0 + minute * 60, [key], author)
            bursts.append(status.started)
    return bursts


def spike(detector: BurstDetector, key: str, at: float, count: int, authors: int = 10):
    statuses = []
    for number in range(count):
        author = f"s{number % authors}"
        statuses += detector.add(f"{key}-{at}-{number}", at + number * 30, [key], author)
    return statuses


def test_nb_tail_matches_a_direct_sum_of_the_probability_mass() -> None:
    def pmf(k: int, shape: float, p: float) -> float:
        log = math.lgamma(k + shape) - math.lgamma(shape) - math.lgamma(k + 1)
        return math.exp(log + shape * math.log(p) + k * math.log(1 - p))

    for count, shape, p in [(4, 0.72, 0.92), (10, 5.0, 0.97), (3, 2.0, 0.5), (30, 40.0, 0.6)]:
        direct = sum(pmf(k, shape, p) for k in range(count, count + 3000))
        assert math.isclose(negative_binomial_tail(count, shape, p), direct, rel_tol=1e-6)
    assert negative_binomial_tail(0, 1.0, 0.5) == 1.0


def test_a_steady_rhythm_is_not_a_burst_but_a_spike_is() -> None:
    detector = BurstDetector()
    started = daily_background(detector, days=3)
    # A key never seen before that rises from nothing on its first afternoon is news; once one
    # day of rhythm has been seen, the same afternoons are normal.
    first_day = len(started) // 3
    assert sum(started[first_day:]) == 0
    statuses = spike(detector, "topic:bg", T0 + 3 * DAY + 3 * 3600, 12)  # 03:00, a quiet hour
    started = [s for s in statuses if s.started]
    assert len(started) == 1
    assert started[0].ratio >= 4 and started[0].p_value <= 1e-4


def test_the_daily_rhythm_is_learned_from_the_total_stream() -> None:
    detector = BurstDetector()
    daily_background(detector, days=2)
    bucket = detector.config.bucket_seconds
    afternoon = detector.season.factor(int((T0 + 2 * DAY + 15 * 3600) // bucket))
    night = detector.season.factor(int((T0 + 2 * DAY + 3 * 3600) // bucket))
    assert afternoon > 3 * night


def test_the_same_count_is_a_burst_at_night_but_not_in_the_busy_afternoon() -> None:
    detector = BurstDetector(BurstConfig(min_count=3, min_ratio=2.0))
    daily_background(detector, days=3, key="topic:other")
    for day in range(3):  # a key that normally sees ~2 items per busy afternoon bucket
        for minute in range(12 * 60, 20 * 60, 3):
            detector.add(f"k{day}-{minute}", T0 + day * DAY + minute * 60, ["watch:brand"], "x")
    afternoon = spike(detector, "watch:brand", T0 + 3 * DAY + 15 * 3600, 8)
    night = spike(detector, "watch:brand", T0 + 3 * DAY + 23 * 3600, 8)
    assert not any(s.is_burst for s in afternoon)
    assert any(s.is_burst for s in night)


def test_a_new_key_bursts_with_little_history_but_one_author_alone_does_not() -> None:
    detector = BurstDetector()
    daily_background(detector, days=1)
    lone = spike(detector, "topic:new1", T0 + DAY + 10 * 3600, 10, authors=1)
    crowd = spike(detector, "topic:new2", T0 + DAY + 11 * 3600, 10, authors=10)
    assert not any(s.is_burst for s in lone)
    first = next(s for s in crowd if s.is_burst)
    assert first.count == detector.config.min_count


def test_one_burst_is_reported_once_while_it_lasts() -> None:
    detector = BurstDetector()
    daily_background(detector, days=1, key="topic:other")
    statuses = spike(detector, "topic:x", T0 + DAY, 60)  # 30 minutes of heavy traffic
    assert sum(s.started for s in statuses) == 1
    later = spike(detector, "topic:x", T0 + 2 * DAY, 40)  # a day later: a new burst
    assert sum(s.started for s in later) == 1


def test_add_is_idempotent_on_item_ids() -> None:
    detector = BurstDetector()
    first = spike(detector, "topic:x", T0, 5)
    again = spike(detector, "topic:x", T0, 5)
    assert again[-1].count == first[-1].count == 5


def test_state_round_trips_and_resumes_like_an_uninterrupted_run() -> None:
    rng = random.Random(3)
    events = sorted(
        (T0 + rng.uniform(0, 2 * DAY), f"i{n}", rng.choice(["k:a", "k:b"]), f"u{rng.randrange(9)}")
        for n in range(1500)
    )
    events += [(T0 + 2 * DAY + n * 20, f"s{n}", "k:a", f"v{n}") for n in range(20)]
    whole = BurstDetector()
    expected = [whole.add(i, at, [k], a) for at, i, k, a in events]
    part = BurstDetector()
    got = [part.add(i, at, [k], a) for at, i, k, a in events[:900]]
    resumed = BurstDetector.from_dict(json.loads(json.dumps(part.to_dict())))
    for at, i, k, a in events[850:900]:  # a crashed worker's unacknowledged items, again
        resumed.add(i, at, [k], a)
    got += [resumed.add(i, at, [k], a) for at, i, k, a in events[900:]]
    assert got == expected
    assert resumed.to_dict() == whole.to_dict()


@given(st.lists(st.floats(0, 3 * DAY), min_size=1, max_size=80))
@settings(deadline=None)
def test_order_of_arrival_within_the_window_does_not_change_the_count(offsets) -> None:  # type: ignore[no-untyped-def]
    forward, backward = BurstDetector(), BurstDetector()
    timed = [(T0 + offset, f"i{n}") for n, offset in enumerate(sorted(offsets))]
    for at, item_id in timed:
        forward.add(item_id, at, ["k"], item_id)
    end = timed[-1][0]
    window = [(at, i) for at, i in timed if at > end - 600]  # two buckets, inside the window
    earlier = [(at, i) for at, i in timed if at <= end - 600]
    for at, item_id in earlier + list(reversed(window)):
        backward.add(item_id, at, ["k"], item_id)
    assert forward.status("k", end).count == backward.status("k", end).count


def test_a_huge_time_jump_does_not_break_the_baseline() -> None:
    """Regression: after a jump of centuries the forgotten count underflowed to 0.0 and the
    tail probability took lgamma(0) (math domain error)."""
    detector = BurstDetector()
    for number in range(5):
        detector.add(f"a{number}", T0 + number, ["topic:k"], f"u{number}")
    later = T0 + 1e10
    statuses = [
        detector.add(f"b{number}", later + number * 30, ["topic:k"], f"u{number}")[0]
        for number in range(6)
    ]
    assert all(0.0 <= status.p_value <= 1.0 for status in statuses)
    assert all(status.expected > 0 for status in statuses)
    assert statuses[-1].is_burst  # quiet for centuries, then six authors at once


@settings(max_examples=300, deadline=None)
@given(
    count=st.integers(min_value=-2, max_value=500),
    shape=st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e6, allow_nan=False)),
    success=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_nb_tail_is_a_probability_for_any_parameters(
    count: int, shape: float, success: float
) -> None:
    tail = negative_binomial_tail(count, shape, success)
    assert 0.0 <= tail <= 1.0
    assert negative_binomial_tail(count + 1, shape, success) <= tail + 1e-9  # a tail shrinks


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(
        st.one_of(
            st.floats(min_value=0, max_value=600),
            st.floats(min_value=1e5, max_value=1e11),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_bursts_survive_any_gaps_between_items(gaps: list[float]) -> None:
    detector = BurstDetector()
    at = T0
    for number, gap in enumerate(gaps):
        at += gap
        for status in detector.add(f"i{number}", at, ["topic:k", "query:1"], f"u{number % 4}"):
            assert 0.0 <= status.p_value <= 1.0
            assert math.isfinite(status.expected)


@settings(max_examples=40, deadline=None)
@given(offset=st.floats(min_value=0, max_value=299.9))
def test_a_run_is_judged_alike_wherever_the_bucket_edges_fall(offset: float) -> None:
    """Four authors within 14 minutes: with whole 5-minute buckets the run spanned three or
    four buckets depending on the clock, and was or was not a burst accordingly."""
    detector = BurstDetector()
    daily_background(detector, days=1, key="topic:other")
    start = T0 + DAY + 2 * 3600 + offset  # 02:00 plus up to one bucket: a quiet hour
    statuses = [
        detector.add(f"r{n}", start + seconds, ["topic:run"], f"a{n}")[0]
        for n, seconds in enumerate([0, 280, 560, 840])
    ]
    assert statuses[-1].count == 4 and statuses[-1].authors == 4
    assert statuses[-1].is_burst
    # ... and 15 minutes after its first post the first post has left the window.
    assert detector.status("topic:run", start + 900).count == 3


def test_a_topic_first_post_does_not_raise_its_own_baseline() -> None:
    """A topic exists because of its first post: that post is the story's start, not its
    background rate. A watch query's first match is evidence of its rate and is learned."""
    config = BurstConfig(topic_prior_buckets=36.0, prior_buckets=36.0)
    detector = BurstDetector(config)
    daily_background(detector, days=1, key="topic:other")
    founded = T0 + DAY + 3600
    detector.add("first", founded, ["topic:new", "query:7"], "a")
    # Three hours later a second post moves the first one out of the window into the baseline.
    topic, query = detector.add("second", founded + 3 * 3600, ["topic:new", "query:7"], "b")
    never = detector.status("topic:never-seen", founded + 3 * 3600)  # the prior, no exposure
    assert topic.expected < query.expected
    assert topic.expected <= never.expected


def test_state_saved_before_item_times_were_kept_still_loads() -> None:
    detector = BurstDetector()
    for n in range(3):
        detector.add(f"i{n}", T0 + n * 60, ["topic:k"], f"u{n}")
    state = json.loads(json.dumps(detector.to_dict()))
    new = json.loads(json.dumps(state))
    old = state["keys"]["topic:k"]  # as saved before item times were kept
    old.pop("recent_times")
    old.pop("recent_authors")
    old.pop("founder_pending")
    old["authors"] = {str(int(T0 // 300)): ["u0", "u1", "u2"]}
    loaded = BurstDetector.from_dict(state)
    status = loaded.status("topic:k", T0 + 120)
    assert (status.count, status.authors) == (3, 3)
    pairs = new["keys"]["topic:k"]  # as saved with [time, author] pairs
    times, authors = pairs.pop("recent_times"), pairs.pop("recent_authors")
    pairs["recent"] = [[at, author] for at, author in zip(times, authors, strict=True)]
    assert BurstDetector.from_dict(new).to_dict() == detector.to_dict()


def test_poisson_tail_matches_a_direct_sum() -> None:
    for count, mean in [(4, 0.15), (10, 3.0), (1, 0.5), (40, 20.0)]:
        direct = sum(
            math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
            for k in range(count, count + 400)
        )
        assert math.isclose(poisson_tail(count, mean), direct, rel_tol=1e-9)
    assert poisson_tail(0, 1.0) == 1.0 and poisson_tail(3, 0.0) == 0.0
