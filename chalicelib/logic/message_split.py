"""Splitting a change set into WebSocket messages that fit API Gateway's 128 KB limit."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.models.protocol import Changes, encode

# API Gateway refuses WebSocket messages over 128 KB.
MAX_MESSAGE_BYTES = 128 * 1024


def _item_bytes(item: dict[str, Any]) -> int:
    return len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def split_changes(changes: Changes, max_bytes: int = MAX_MESSAGE_BYTES) -> list[Changes]:
    """Parts of `changes`, each at most `max_bytes` encoded, that apply one after another.

    Items are sorted by version; each part covers (from, to], the next part's
    `from` is this part's `to`, and only the first part of a snapshot is marked
    `snapshot`. So every part applies on its own, and a client cut off between
    parts resumes from the last one it acked. An item too large for any message
    goes alone (writes are limited so that this cannot happen).
    """
    if len(encode(changes)) <= max_bytes:
        return [changes]
    items = sorted(changes.items, key=lambda item: int(item["version"]))
    envelope = len(encode(changes.model_copy(update={"items": []})))
    # Room for the widest `from`/`to` numbers a part may carry, and the commas.
    budget = max_bytes - envelope - 2 * len(str(changes.to))
    parts: list[list[dict[str, Any]]] = [[]]
    used = 0
    for item in items:
        size = _item_bytes(item) + 1
        if parts[-1] and used + size > budget:
            parts.append([])
            used = 0
        parts[-1].append(item)
        used += size
    messages = []
    start = changes.from_
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        end = changes.to if last else int(part[-1]["version"])
        messages.append(
            Changes(
                from_=start,
                to=end,
                snapshot=changes.snapshot and index == 0,
                items=part,
                more=changes.more if last else None,
            )
        )
        start = end
    return messages
