"""What realtime delivery needs from a tenant's store: its changes since a version."""

from __future__ import annotations

from typing import Protocol

from chalicelib.models.protocol import Changes


class ChangeFeed(Protocol):
    def changes_since(
        self, tenant_id: str, since: int | None, collections: frozenset[str] | None = None
    ) -> Changes:
        """Every change after `since`, one item per document in its latest state, read
        consistently; only items of `collections` when given (the range is the same).

        `to` is the tenant's version at the read; a snapshot (every live document)
        when `since` is None or older than the oldest kept tombstone.
        """
        ...

    def committed_changes(self, tenant_id: str, after: int, through: int) -> Changes:
        """Changes (after, through], all reported committed by the tenant's stream (recent)."""
        ...

    def current_version(self, tenant_id: str) -> int:
        """The tenant's version now (0 before the first write)."""
        ...

    def followed(self, names: list[str] | None, field: str) -> frozenset[str] | None:
        """The collections a client names to follow, checked (None: all of them)."""
        ...
