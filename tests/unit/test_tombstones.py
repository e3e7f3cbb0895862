"""The tombstone ledger and the sync horizon (pure rules)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.dal.tenant_store import LedgerChange, StoredDoc, TenantMeta
from chalicelib.logic.tombstones import (
    DAY_SECONDS,
    expiry_bucket,
    is_expired,
    ledger_change,
    sync_horizon,
    tombstone_expiry,
)

DAYS = 7
T0 = 1_800_000_000


def _apply(meta: TenantMeta, change: LedgerChange, version: int) -> TenantMeta:
    """What the store's transaction does to `meta` for a deletion at `version`."""
    buckets = {d: v for d, v in meta.tombstone_buckets.items() if d not in change.folded}
    buckets[change.bucket] = version
    floor = meta.tombstone_floor if change.floor is None else change.floor
    return TenantMeta(version=version, tombstone_floor=floor, tombstone_buckets=buckets)


def test_a_tombstone_expires_after_the_configured_days():
    assert tombstone_expiry(T0, DAYS) == T0 + 7 * 86_400


def test_no_tombstones_means_no_horizon():
    assert sync_horizon(TenantMeta(version=12), T0) == 0


def test_a_bucket_counts_from_the_first_second_of_its_day():
    # Given a tombstone at version 5 expiring at noon of day d
    day = expiry_bucket(T0) + 3
    meta = TenantMeta(version=5, tombstone_buckets={day: 5})
    # Then the horizon stays 0 until day d begins, and is 5 from its first second
    assert sync_horizon(meta, day * DAY_SECONDS - 1) == 0
    assert sync_horizon(meta, day * DAY_SECONDS) == 5


def test_the_floor_always_counts():
    meta = TenantMeta(version=9, tombstone_floor=4, tombstone_buckets={10**6: 9})
    assert sync_horizon(meta, T0) == 4


def test_a_deletion_folds_begun_days_into_the_floor():
    # Given buckets for a day that has begun and one that has not
    today = expiry_bucket(T0)
    meta = TenantMeta(version=8, tombstone_floor=1, tombstone_buckets={today - 1: 3, today + 2: 8})
    # When a deletion is committed now
    change = ledger_change(meta, tombstone_expiry(T0, DAYS), T0)
    # Then the begun day goes into the floor and the new tombstone gets its own bucket
    assert change == LedgerChange(bucket=today + DAYS, floor=3, folded=(today - 1,))


def test_nothing_to_fold_leaves_the_floor_alone():
    meta = TenantMeta(version=2, tombstone_buckets={expiry_bucket(T0) + 5: 2})
    change = ledger_change(meta, tombstone_expiry(T0, DAYS), T0)
    assert change == LedgerChange(bucket=expiry_bucket(T0) + DAYS)


def test_only_tombstones_past_their_expiry_are_expired():
    tombstone = StoredDoc("notes", "note_a", 3, None, 1, 1, deleted=True, expires=T0)
    assert not is_expired(tombstone, T0 - 1)
    assert is_expired(tombstone, T0)
    assert not is_expired(StoredDoc("notes", "note_b", 4, "{}", 1, 1), T0 + 10**9)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 3 * DAY_SECONDS), st.booleans()), min_size=1, max_size=60
    ),
    days=st.integers(1, 10),
)
def test_the_horizon_covers_every_tombstone_that_may_be_gone(steps, days):
    # Given any history of writes, some of them deletions, spread over days
    now = T0
    meta = TenantMeta(version=0)
    tombstones: list[tuple[int, int]] = []  # (version, expires)
    for advance, is_delete in steps:
        now += advance
        version = meta.version + 1
        if is_delete:
            expires = tombstone_expiry(now, days)
            horizon_before = sync_horizon(meta, now)
            meta = _apply(meta, ledger_change(meta, expires, now), version)
            tombstones.append((version, expires))
            # Then folding never lowers the horizon (it only moves begun days)
            assert sync_horizon(meta, now) >= horizon_before
        else:
            meta = TenantMeta(version, meta.tombstone_floor, meta.tombstone_buckets)
        # And at every moment (now and later), a tombstone that TTL may have removed
        # (expiry passed) is at or below the horizon: no cursor above it can miss it
        for probe in (now, now + DAY_SECONDS, now + days * DAY_SECONDS):
            horizon = sync_horizon(meta, probe)
            for version_deleted, expires in tombstones:
                if expires <= probe:
                    assert version_deleted <= horizon
        # And the ledger stays small: about one bucket per day of tombstone lifetime
        assert len(meta.tombstone_buckets) <= days + 2
