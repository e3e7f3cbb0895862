"""The server's state as a client would read it over REST: `GET /notes` and `GET /sync`."""

from __future__ import annotations

from typing import Any

from tests.reliability.fleet import Notes
from tests.support.rest_user import RestUser


def synced_state(user: RestUser) -> tuple[int, Notes]:
    """The tenant's version and notes from `GET /sync` without a cursor (a snapshot), every page."""
    notes: Notes = {}
    params: dict[str, Any] = {"limit": 500}
    while True:
        reply = user.call("GET", "/sync", params=params)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        for item in page["items"]:
            if item.get("deleted"):
                notes.pop(item["id"], None)
            else:
                notes[item["id"]] = (item["data"]["text"], int(item["version"]))
        if not page["more"]:
            return int(page["to"]), notes
        params = {"limit": 500, "cursor": page["cursor"]}


def assert_holds_what_was_written(user_id: str, notes: Notes, expected: dict[str, str]) -> None:
    """The server's notes (id -> (text, version)) are exactly `expected` (id -> text), with
    a message naming what is missing, extra or stale."""
    held = {note_id: text for note_id, (text, _) in notes.items()}
    if held == expected:
        return
    missing = sorted(set(expected) - set(held))
    extra = sorted(set(held) - set(expected))
    stale = sorted(i for i in set(held) & set(expected) if held[i] != expected[i])
    raise AssertionError(
        f"{user_id}: {len(missing)} acknowledged notes missing {missing[:5]}, "
        f"{len(extra)} unexpected {extra[:5]}, "
        f"{len(stale)} with another text {[(i, held[i], expected[i]) for i in stale[:3]]}"
    )
