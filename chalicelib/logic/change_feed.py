"""What realtime delivery needs from a tenant's store: its changes since a version."""

from __future__ import annotations

from typing import Protocol

from chalicelib.models.protocol import Changes


class ChangeFeed(Protocol):
    def changes_since(self, tenant_id: str, since: int | None) -> Changes:
        """Every change after `since`, one item per note in its latest state, read consistently.

        `to` is the tenant's version at the read; a snapshot (every live note)
        when `since` is None or older than the oldest kept tombstone.
        """
        ...

    def committed_changes(self, tenant_id: str, after: int, through: int) -> Changes:
        """Changes (after, through], all reported committed by the tenant's stream (recent)."""
        ...

    def current_version(self, tenant_id: str) -> int:
        """The tenant's version now (0 before the first write)."""
        ...
