"""Tombstones and the sync horizon (the reasoning is in docs/sync.md).

A deletion leaves a tombstone that DynamoDB's TTL may remove any time after its
`expires` (never before, often days later). A client whose cursor is below the
version of a tombstone that may be gone could miss that deletion, so it must get
a snapshot. The `meta` item keeps a ledger: for each expiry day, the highest
version tombstoned with an expiry that day, and a floor into which days that
have begun are folded. From it, `sync_horizon` gives the lowest cursor that can
still be answered with changes.
"""

from __future__ import annotations

from chalicelib.dal.tenant_store import LedgerChange, StoredDoc, TenantMeta

DAY_SECONDS = 86_400


def tombstone_expiry(now_s: int, tombstone_days: int) -> int:
    """When a tombstone written now may be removed (epoch seconds, the TTL attribute)."""
    return now_s + tombstone_days * DAY_SECONDS


def expiry_bucket(expires_s: int) -> int:
    """The ledger bucket of an expiry: its day since the epoch."""
    return expires_s // DAY_SECONDS


def sync_horizon(meta: TenantMeta, now_s: int) -> int:
    """The highest version whose tombstone may already be gone at `now_s` (0 if none).

    A bucket counts from the first second of its day, before any of its
    tombstones can have expired, so the horizon is never too low.
    """
    today = expiry_bucket(now_s)
    begun = [version for day, version in meta.tombstone_buckets.items() if day <= today]
    return max([meta.tombstone_floor, *begun])


def ledger_change(meta: TenantMeta, expires_s: int, now_s: int) -> LedgerChange:
    """The ledger update a deletion commits with: its bucket, plus folding begun days.

    Folding keeps `meta` small (about `tombstone_days` buckets) and leaves
    `sync_horizon` unchanged: a begun day counts whether in the floor or not.
    """
    today = expiry_bucket(now_s)
    begun = tuple(sorted(day for day in meta.tombstone_buckets if day <= today))
    bucket = expiry_bucket(expires_s)
    if not begun or bucket in begun:
        return LedgerChange(bucket=bucket)
    floor = max([meta.tombstone_floor, *(meta.tombstone_buckets[day] for day in begun)])
    return LedgerChange(bucket=bucket, floor=floor, folded=begun)


def is_expired(doc: StoredDoc, now_s: int) -> bool:
    """A tombstone past its expiry: never returned as a change, whether TTL removed it or not."""
    return doc.deleted and doc.expires is not None and doc.expires <= now_s
