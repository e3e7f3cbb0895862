"""The pushed marks: what each connection is known to hold besides what it acked.

A tenant's marks map a connection id to a version v meaning "every change up to v has
been posted to this connection". An entry is only ever set to b by a push that posted
(a, b] to the connection while it held everything up to a (its acked version or its
mark was at least a), or by a catch-up that posted (since, b] or a snapshot. Marks are
rewritten whole from a read: a writer racing another may write an older value back,
which can only lower an entry (a range is posted again later: a harmless duplicate),
never raise one past what was posted. docs/protocol.md, The fast path, says more.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.models.connections import TenantConnections

# Marks outlive the connections they name a little (API Gateway closes any after 2 h).
MARKS_TTL_SECONDS = 2 * 3600 + 600


def marks_after(listed: TenantConnections, posted_through: Mapping[str, int]) -> dict[str, int]:
    """The marks to write after posting: the listed connections' marks, raised to the
    version posted to each connection in `posted_through`; marks of connections no
    longer listed are dropped (so the map stays as small as the tenant's connections)."""
    marks: dict[str, int] = {}
    for connection in listed.connections:
        connection_id = connection.connection_id
        if connection_id in listed.pushed or connection_id in posted_through:
            marks[connection_id] = max(
                listed.pushed.get(connection_id, 0), posted_through.get(connection_id, 0)
            )
    return marks


def needs_writing(listed: TenantConnections, marks: Mapping[str, int]) -> bool:
    """Whether `marks` says more than the marks read (a write that adds nothing is skipped)."""
    return any(
        cid not in listed.pushed or version > listed.pushed[cid] for cid, version in marks.items()
    )
