"""Opaque cursors for document lists and sync continuations.

A cursor names only a position inside the caller's own data (a document id, a
version): the partition it is applied to always comes from the session, so an
edited or borrowed cursor cannot reach another tenant. It also carries a
fingerprint of the tenant it was issued to, so a cursor from another account
is refused with 400 rather than silently read as a position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidCursorError
from chalicelib.models.documents import DOC_ID_PATTERN

_DOC_ID = re.compile(DOC_ID_PATTERN)
_FORMAT = 1


@dataclass(frozen=True)
class SyncContinuation:
    """Where a limited sync answer stopped, and when the snapshot it continues began (if any)."""

    since: int
    snapshot_started_ms: int | None = None


def tenant_fingerprint(tenant_id: str) -> str:
    return hashlib.sha256(tenant_id.encode()).hexdigest()[:16]


def _encode(tenant_id: str, kind: str, fields: dict[str, Any]) -> str:
    payload = {"f": _FORMAT, "k": kind, "t": tenant_fingerprint(tenant_id), **fields}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(tenant_id: str, kind: str, cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursorError() from None
    if not isinstance(payload, dict) or payload.get("f") != _FORMAT or payload.get("k") != kind:
        raise InvalidCursorError()
    if payload.get("t") != tenant_fingerprint(tenant_id):
        raise InvalidCursorError("This cursor was issued to another account.")
    return payload


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidCursorError()
    return value


def encode_list_cursor(tenant_id: str, last_id: str) -> str:
    """The cursor of the page that follows the document `last_id`."""
    return _encode(tenant_id, "list", {"a": last_id})


def decode_list_cursor(tenant_id: str, cursor: str) -> str:
    """The id a list cursor continues after; InvalidCursorError if it is not one of ours."""
    after = _decode(tenant_id, "list", cursor).get("a")
    if not isinstance(after, str) or not _DOC_ID.fullmatch(after):
        raise InvalidCursorError()
    return after


def encode_sync_cursor(tenant_id: str, continuation: SyncContinuation) -> str:
    fields: dict[str, Any] = {"s": continuation.since}
    if continuation.snapshot_started_ms is not None:
        fields["p"] = continuation.snapshot_started_ms
    return _encode(tenant_id, "sync", fields)


def decode_sync_cursor(tenant_id: str, cursor: str) -> SyncContinuation:
    """The continuation a sync cursor carries; InvalidCursorError if it is not one of ours."""
    payload = _decode(tenant_id, "sync", cursor)
    started = payload.get("p")
    return SyncContinuation(
        since=_version(payload.get("s")),
        snapshot_started_ms=_version(started) if started is not None else None,
    )
