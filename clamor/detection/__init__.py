"""Detection over the stream: topics (online clustering), bursts, graded alerts — pure, in memory.

Everything here is deterministic given the order of its input, keeps its state as plain dicts
(`to_dict` / `from_dict`) so that a service can persist it, and is idempotent on item ids so that
a restarted worker that sees an item again does not count it twice.
"""

from clamor.detection.items import DetectionItem

__all__ = ["DetectionItem"]
