"""Changes since a version: the one answer behind REST `/sync` and the WebSocket's catch-ups.

Given a client's cursor `since`, the answer is either the changes (since, to]
or, when those can no longer be listed exactly, a snapshot of every live document.
docs/sync.md explains why the horizon makes the changes exact. A client may follow
only some collections: it gets their items, and the cursor still covers every version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.dal.tenant_store import MAX_PAGE_SIZE, StoredDoc, TenantMeta, TenantStore
from chalicelib.logic.cursors import SyncContinuation
from chalicelib.logic.doc_rules import to_change
from chalicelib.logic.tombstones import DAY_SECONDS, is_expired, sync_horizon
from chalicelib.models.protocol import Changes

# A snapshot's continuation is trusted for its tombstone lifetime less this margin (clock skew).
CONTINUATION_MARGIN_SECONDS = 3600


@dataclass(frozen=True)
class SyncPage:
    """A `changes` answer and, when it stopped early, where the next one starts."""

    changes: Changes
    continuation: SyncContinuation | None = None


def encoded_size(item: dict[str, Any]) -> int:
    """The item's size in the JSON reply (the budget that keeps replies under Lambda's 6 MB)."""
    return len(json.dumps(item))


def continuation_is_fresh(started_ms: int, now_ms: int, tombstone_days: int) -> bool:
    """True while every tombstone written since the snapshot began is certainly still kept.

    A document deleted after the snapshot began has a tombstone expiring after
    started + tombstone_days, and TTL never removes an item before its expiry.
    """
    margin_ms = CONTINUATION_MARGIN_SECONDS * 1000
    if started_ms > now_ms + margin_ms:
        return False
    return now_ms < started_ms + tombstone_days * DAY_SECONDS * 1000 - margin_ms


def needs_snapshot(
    since: int | None,
    meta: TenantMeta,
    now_ms: int,
    *,
    tombstone_days: int,
    snapshot_started_ms: int | None = None,
) -> bool:
    """Whether `since` must be answered with a snapshot rather than with changes.

    Snapshot when the client has nothing, claims a version this tenant never
    reached, or is below the horizon (a deletion after its cursor may be gone) —
    unless it is continuing a snapshot that began recently enough.
    """
    if since is None or since > meta.version:
        return True
    if snapshot_started_ms is not None and continuation_is_fresh(
        snapshot_started_ms, now_ms, tombstone_days
    ):
        return False
    return since < sync_horizon(meta, now_ms // 1000)


def take_changes(
    docs: Iterable[StoredDoc],
    *,
    ceiling: int,
    now_s: int,
    limit: int | None,
    max_bytes: int | None,
) -> tuple[list[dict[str, Any]], bool]:
    """Items in version order up to `ceiling`, within `limit` and `max_bytes` (at least one).

    Returns the items and whether another eligible item follows (`more`).
    Tombstones past their expiry are skipped: they may vanish at any moment.
    """
    taken: list[dict[str, Any]] = []
    size = 0
    for doc in docs:
        if doc.version > ceiling:
            break  # committed after `meta` was read: the next answer covers it
        if is_expired(doc, now_s):
            continue
        item = to_change(doc)
        item_size = encoded_size(item) if max_bytes is not None else 0
        full = (limit is not None and len(taken) >= limit) or (
            max_bytes is not None and size + item_size > max_bytes
        )
        if taken and full:
            return taken, True
        taken.append(item)
        size += item_size
    return taken, False


def changes_since(
    store: TenantStore,
    since: int | None,
    *,
    now_ms: int,
    tombstone_days: int,
    limit: int | None = None,
    max_bytes: int | None = None,
    snapshot_started_ms: int | None = None,
    collections: frozenset[str] | None = None,
) -> SyncPage:
    """What a client at `since` needs: changes (since, to], or a snapshot of live documents
    (of `collections` only, when given).

    `meta` is read first: every version up to it committed before the query
    began, so the items cover (from, to] completely; later versions are left
    to the next answer. With `more`, `to` is the last item's version and the
    continuation says where to resume. `snapshot_started_ms` continues a
    snapshot (it lets a fresh continuation below the horizon be answered with
    changes instead of another snapshot).
    """
    meta = store.read_meta()
    snapshot = needs_snapshot(
        since,
        meta,
        now_ms,
        tombstone_days=tombstone_days,
        snapshot_started_ms=snapshot_started_ms,
    )
    start = 0 if snapshot or since is None else since
    items, more = take_changes(
        store.docs_by_version(
            start,
            live_only=snapshot,
            collections=collections,
            page_size=limit + 1 if limit else MAX_PAGE_SIZE,
        ),
        ceiling=meta.version,
        now_s=now_ms // 1000,
        limit=limit,
        max_bytes=max_bytes,
    )
    to = int(items[-1]["version"]) if more else meta.version
    changes = Changes(from_=start, to=to, snapshot=snapshot, items=items, more=more)
    if not more:
        return SyncPage(changes=changes)
    started = now_ms if snapshot else snapshot_started_ms
    return SyncPage(changes=changes, continuation=SyncContinuation(to, started))


def committed_changes(store: TenantStore, after: int, through: int) -> Changes:
    """Changes (after, through] that a stream reported committed, without reading `meta`.

    Every version up to `through` has committed (a stream record exists for it),
    so `through` is a safe ceiling; and the range is younger than the stream's
    retention, so it needs no horizon check and no snapshot. A tombstone read
    here is a deletion that happened, expired or not: it goes out with the rest.
    """
    items: list[dict[str, Any]] = []
    for doc in store.docs_by_version(after, live_only=False, page_size=MAX_PAGE_SIZE):
        if doc.version > through:
            break
        items.append(to_change(doc))
    return Changes(from_=after, to=through, items=items)


def for_collections(changes: Changes, collections: frozenset[str] | None) -> Changes:
    """`changes` as a client that follows only `collections` gets it: their items, the same
    range (so its cursor moves past the versions of the others too)."""
    if collections is None:
        return changes
    items = [item for item in changes.items if item["collection"] in collections]
    if len(items) == len(changes.items):
        return changes
    return changes.model_copy(update={"items": items})
