"""Personal data encrypted at rest: round trip, tamper and wrong-key detection, keyed hashes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clamor.core.config import derive_key
from clamor.storage import crypto
from tests.conftest import TEST_SECRET


@pytest.fixture(autouse=True)
def _key() -> Iterator[None]:
    crypto.configure(derive_key(TEST_SECRET, "pii"))
    yield
    crypto.configure(derive_key(TEST_SECRET, "pii"))


def test_round_trip_and_fresh_nonces() -> None:
    first, second = crypto.encrypt("王小明 13812345678"), crypto.encrypt("王小明 13812345678")
    assert first != second and first.startswith("v1:")
    assert crypto.decrypt(first) == crypto.decrypt(second) == "王小明 13812345678"


def test_an_edited_value_or_another_key_fails_loudly() -> None:
    sealed = crypto.encrypt("secret")
    edited = sealed[:-4] + ("AAAA" if sealed[-4:] != "AAAA" else "BBBB")
    with pytest.raises(ValueError):
        crypto.decrypt(edited)
    crypto.configure(derive_key("another secret", "pii"))
    with pytest.raises(ValueError, match="does not match the key"):
        crypto.decrypt(sealed)


def test_keyed_hashes_are_stable_and_keyed() -> None:
    one = crypto.keyed_hash("+8613812345678")
    assert one == crypto.keyed_hash("+8613812345678") != crypto.keyed_hash("+8613812345679")
    crypto.configure(derive_key("another secret", "pii"))
    assert crypto.keyed_hash("+8613812345678") != one
