"""Near-duplicate keys: a story copied 10,000 times counts once for topics, its reach adds up.

`duplicate_key(text)` is a 64-bit SimHash over shingles of the *content*: URLs, @mentions, Weibo
repost chains (`//@user:`) and retweet prefixes (`RT @user:`) are removed first, because they
differ between copies of the same story. Shingles are runs of 3 characters for Chinese (no word
boundaries) and of 2 words for space-delimited languages, chosen by which kind of unit dominates.

Texts with fewer than `MIN_UNITS` units get no key: two short posts that say the same few words
("退款！", "thanks") are usually different people speaking, not a copy, and SimHash over three
shingles collides too easily.

`NearDuplicateIndex` finds the cluster of an earlier near-copy (Hamming distance ≤ k) with the
pigeonhole trick: split the 64 bits into k+1 bands; two keys within distance k agree exactly on
at least one band, so each band is an exact-match dictionary. The first item of a cluster is its
representative; later copies add to `copies` and `reach`. `add` is idempotent on the item id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from clamor.analysis.watch import is_cjk

MIN_UNITS = 5
BITS = 64

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)
_REPOST_CHAIN_RE = re.compile(r"//\s*@[^\s:：/]{1,30}\s*[:：]")
_RETWEET_RE = re.compile(r"\bRT\s+@[\w\-]{1,30}\s*:?", re.I)
_MENTION_RE = re.compile(r"@[\w\-\u4e00-\u9fff]{1,30}")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff"
_UNIT_RE = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_])+")


def strip_noise(text: str) -> str:
    """The content of a post without links, mentions, repost chains and retweet prefixes."""
    text = _URL_RE.sub(" ", text)
    text = _RETWEET_RE.sub(" ", text)
    text = _REPOST_CHAIN_RE.sub(" ", text)
    return _MENTION_RE.sub(" ", text)


def content_units(text: str) -> list[str]:
    """Chinese characters one by one, other words whole; case-folded."""
    return _UNIT_RE.findall(strip_noise(text).casefold())


def shingles(units: list[str]) -> list[str]:
    cjk = sum(1 for unit in units if len(unit) == 1 and is_cjk(unit))
    size = 3 if cjk * 2 > len(units) else 2
    if len(units) <= size:
        return [" ".join(units)] if units else []
    return [" ".join(units[index : index + size]) for index in range(len(units) - size + 1)]


def simhash(features: list[str]) -> int:
    """Charikar's SimHash: each bit is the majority vote of that bit over the feature hashes."""
    if not features:
        return 0
    digests = b"".join(
        hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest() for feature in features
    )
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(len(features), BITS)
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(features)
    packed = np.packbits(votes > 0)
    return int.from_bytes(packed.tobytes(), "big")


def hamming(first: int, second: int) -> int:
    return (first ^ second).bit_count()


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    simhash: int
    units: int


def duplicate_key(text: str) -> DuplicateKey | None:
    units = content_units(text)
    if len(units) < MIN_UNITS:
        return None
    return DuplicateKey(simhash(shingles(units)), len(units))


@dataclass(frozen=True, slots=True)
class DuplicateResult:
    item_id: str
    representative_id: str
    is_copy: bool
    copies: int  # items in the cluster, the representative included
    reach: int  # summed reach of every item in the cluster


@dataclass(slots=True)
class _Cluster:
    representative_id: str
    simhash: int
    copies: int
    reach: int
    last_seen: float
    keyed: bool  # False for texts too short for a key: they never absorb copies


class NearDuplicateIndex:
    """In-memory banded index of SimHash keys; state is a plain dict (`to_dict`/`from_dict`)."""

    def __init__(self, max_distance: int = 3) -> None:
        if not 0 <= max_distance < 16:
            raise ValueError("max_distance must be between 0 and 15")
        self.max_distance = max_distance
        self._band_bits = _band_widths(max_distance + 1)
        self._bands: list[dict[int, list[str]]] = [{} for _ in self._band_bits]
        self._clusters: dict[str, _Cluster] = {}
        self._member_of: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._clusters)

    def add(
        self, item_id: str, key: DuplicateKey | None, at: float, reach: int = 0
    ) -> DuplicateResult:
        """Record an item; a near-copy joins the cluster of the nearest earlier item."""
        known = self._member_of.get(item_id)
        if known is not None:
            cluster = self._clusters[known]
            return DuplicateResult(item_id, known, known != item_id, cluster.copies, cluster.reach)
        cluster = self._nearest(key) if key is not None else None
        if cluster is None:
            cluster = _Cluster(item_id, key.simhash if key else 0, 1, reach, at, key is not None)
            self._clusters[item_id] = cluster
            if key is not None:
                for band, value in enumerate(self._band_values(key.simhash)):
                    self._bands[band].setdefault(value, []).append(item_id)
        else:
            cluster.copies += 1
            cluster.reach += reach
            cluster.last_seen = max(cluster.last_seen, at)
        self._member_of[item_id] = cluster.representative_id
        return DuplicateResult(
            item_id,
            cluster.representative_id,
            cluster.representative_id != item_id,
            cluster.copies,
            cluster.reach,
        )

    def _nearest(self, key: DuplicateKey) -> _Cluster | None:
        best: tuple[int, str] | None = None
        for band, value in enumerate(self._band_values(key.simhash)):
            for representative_id in self._bands[band].get(value, ()):
                distance = hamming(key.simhash, self._clusters[representative_id].simhash)
                if distance <= self.max_distance and (
                    best is None or (distance, representative_id) < best
                ):
                    best = (distance, representative_id)
        return self._clusters[best[1]] if best else None

    def _band_values(self, value: int) -> list[int]:
        values = []
        for width in self._band_bits:
            values.append(value & ((1 << width) - 1))
            value >>= width
        return values

    def expire(self, older_than: float) -> int:
        """Forget clusters not seen since `older_than`; returns how many were dropped."""
        stale = [rid for rid, cluster in self._clusters.items() if cluster.last_seen < older_than]
        for representative_id in stale:
            cluster = self._clusters.pop(representative_id)
            if not cluster.keyed:
                continue
            for band, value in enumerate(self._band_values(cluster.simhash)):
                members = self._bands[band].get(value, [])
                if representative_id in members:
                    members.remove(representative_id)
                    if not members:
                        del self._bands[band][value]
        stale_set = set(stale)
        self._member_of = {i: r for i, r in self._member_of.items() if r not in stale_set}
        return len(stale)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_distance": self.max_distance,
            "clusters": [asdict(cluster) for cluster in self._clusters.values()],
            "members": dict(self._member_of),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> NearDuplicateIndex:
        index = cls(state["max_distance"])
        for raw in state["clusters"]:
            cluster = _Cluster(**raw)
            index._clusters[cluster.representative_id] = cluster
            if cluster.keyed:
                for band, value in enumerate(index._band_values(cluster.simhash)):
                    index._bands[band].setdefault(value, []).append(cluster.representative_id)
        index._member_of = dict(state["members"])
        return index


def _band_widths(bands: int) -> list[int]:
    base, extra = divmod(BITS, bands)
    return [base + (1 if band < extra else 0) for band in range(bands)]
