"""The tenant's change feed: its version, what changed since a version, and REST `/sync`."""

from __future__ import annotations

from chalicelib.logic.clock import Clock, epoch_ms
from chalicelib.logic.collections import Collections
from chalicelib.logic.cursors import decode_sync_cursor, encode_sync_cursor
from chalicelib.logic.sync import SyncPage, changes_since, committed_changes
from chalicelib.logic.tenant_writes import TenantWriter
from chalicelib.models.notes import SyncQuery, SyncResponse
from chalicelib.models.protocol import Changes

# Item bytes per REST reply (see documents.REPLY_ITEM_BYTES).
REPLY_ITEM_BYTES = 2_500_000


class DocumentFeed:
    """The ChangeFeed (logic/change_feed.py) of every tenant, and REST `/sync`."""

    def __init__(
        self,
        writer: TenantWriter,
        collections: Collections,
        clock: Clock,
        *,
        tombstone_days: int,
        reply_item_bytes: int = REPLY_ITEM_BYTES,
    ) -> None:
        self._writer = writer
        self._collections = collections
        self._clock = clock
        self._tombstone_days = tombstone_days
        self._reply_bytes = reply_item_bytes

    def followed(self, names: list[str] | None, field: str) -> frozenset[str] | None:
        return self._collections.chosen(names, field)

    def current_version(self, tenant_id: str) -> int:
        """The tenant's version now (0 before the first write)."""
        return self._writer.read(tenant_id, lambda store: store.read_meta().version)

    def changes_since(
        self,
        tenant_id: str,
        since: int | None,
        collections: frozenset[str] | None = None,
        *,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> Changes:
        """The `changes` body for a client at `since` (None: it has nothing yet).

        Exact changes (since, to] when possible, else a snapshot of live documents;
        `more` when `limit` or `max_bytes` stopped it (sync again from `to`).
        """
        return self._page(tenant_id, since, limit, max_bytes, collections=collections).changes

    def _page(
        self,
        tenant_id: str,
        since: int | None,
        limit: int | None,
        max_bytes: int | None,
        *,
        collections: frozenset[str] | None,
        snapshot_started_ms: int | None = None,
    ) -> SyncPage:
        return self._writer.read(
            tenant_id,
            lambda store: changes_since(
                store,
                since,
                now_ms=epoch_ms(self._clock),
                tombstone_days=self._tombstone_days,
                limit=limit,
                max_bytes=max_bytes,
                snapshot_started_ms=snapshot_started_ms,
                collections=collections,
            ),
        )

    def committed_changes(self, tenant_id: str, after: int, through: int) -> Changes:
        """Changes (after, through] a tenant's stream reported committed (the fan-out's read)."""
        return self._writer.read(tenant_id, lambda store: committed_changes(store, after, through))

    def sync(self, tenant_id: str, query: SyncQuery) -> SyncResponse:
        """REST `/sync`: `changes_since` within a reply's size, continued through `cursor`."""
        names = query.collections.split(",") if query.collections is not None else None
        collections = self.followed(names, "collections")
        since, started = query.since, None
        if query.cursor is not None:
            continuation = decode_sync_cursor(tenant_id, query.cursor)
            since, started = continuation.since, continuation.snapshot_started_ms
        page = self._page(
            tenant_id,
            since,
            query.limit,
            self._reply_bytes,
            collections=collections,
            snapshot_started_ms=started,
        )
        cursor = encode_sync_cursor(tenant_id, page.continuation) if page.continuation else None
        changes = page.changes
        return SyncResponse(
            from_=changes.from_,
            to=changes.to,
            snapshot=changes.snapshot,
            items=changes.items,
            more=changes.more,
            cursor=cursor,
        )
