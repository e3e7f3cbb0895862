"""Fan-out: from a batch of stream records to one coalesced `changes` push per connection.

DESIGN §5: per tenant, the batch's `meta` records give the range (a, b] of
versions it committed; one consistent read of what changed after a, split into
messages under 128 KB, goes to every live connection of the tenant. Records of
other items trigger nothing: the `meta` record of the same transaction covers them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from chalicelib.dal.connection_push import ConnectionGoneError
from chalicelib.dal.connections import ConnectionStore
from chalicelib.logic.change_feed import ChangeFeed
from chalicelib.logic.clock import Clock, SystemClock, epoch_ms, epoch_s
from chalicelib.logic.message_split import split_changes
from chalicelib.logic.posting import ConnectionPusher, Posted, each, post_parts
from chalicelib.logic.pushed_marks import MARKS_TTL_SECONDS, marks_after, needs_writing
from chalicelib.logic.sync import for_collections
from chalicelib.models.connections import Connection, TenantConnections
from chalicelib.models.protocol import Changes, encode
from chalicelib.observability import logger

META_SORT_KEY = "meta"
# The longest the fan-out waits for a writer's claim (a clock far ahead must not stall it),
# and how often it looks whether the writer's push is over (doubling from the first).
MAX_CLAIM_WAIT_S = 1.5
FIRST_POLL_S, MAX_POLL_S = 0.01, 0.16


@dataclass
class TenantRange:
    """Versions (after, through] a batch committed for one tenant, and the records that said so."""

    tenant_id: str
    after: int
    through: int
    sequence_numbers: list[str] = field(default_factory=list)
    # The latest fast-path claim among the batch's commits (epoch ms; 0: none): until
    # then the writer may be posting its commit itself.
    claimed_until_ms: int = 0
    # The highest version a claimed commit of the batch made.
    claimed_through: int = 0


class FanOutFailedError(Exception):
    """Some connections of the tenant could not be reached; the batch must be retried."""


def committed_ranges(records: Iterable[Mapping[str, Any]]) -> dict[str, TenantRange]:
    """Per tenant, the versions the batch's `meta` records committed.

    `records` are stream records in Lambda's shape (`eventName`, `dynamodb` with
    `Keys`, `OldImage`, `NewImage` in DynamoDB JSON, `SequenceNumber`).
    """
    ranges: dict[str, TenantRange] = {}
    for record in records:
        image = record.get("dynamodb") or {}
        keys = image.get("Keys") or {}
        if record.get("eventName") == "REMOVE" or keys.get("sk", {}).get("S") != META_SORT_KEY:
            continue
        tenant_id = keys["pk"]["S"]
        before = int((image.get("OldImage") or {}).get("version", {}).get("N", "0"))
        after = int((image.get("NewImage") or {}).get("version", {}).get("N", "0"))
        found = ranges.setdefault(tenant_id, TenantRange(tenant_id, before, after))
        found.after = min(found.after, before)
        found.through = max(found.through, after)
        found.sequence_numbers.append(str(image.get("SequenceNumber", "")))
        claim = _claim(image)
        if claim:
            found.claimed_until_ms = max(found.claimed_until_ms, claim)
            found.claimed_through = max(found.claimed_through, after)
    return ranges


def _claim(image: Mapping[str, Any]) -> int:
    """The fast-path claim this commit made: `push_claim` when the commit changed it (a
    commit that made none leaves the previous one in place)."""
    new = (image.get("NewImage") or {}).get("push_claim", {}).get("N")
    old = (image.get("OldImage") or {}).get("push_claim", {}).get("N")
    return int(new) if new is not None and new != old else 0


class PushedVersions:
    """The highest version pushed to all of a tenant's connections, per warm instance.

    Consecutive batches of a burst overlap (a batch's read may see later writes),
    so a range already pushed everywhere is not pushed again. Bounded; an instance
    that does not know a tenant just pushes again (duplicates are harmless).
    """

    def __init__(self, max_tenants: int = 10_000) -> None:
        self._versions: OrderedDict[str, int] = OrderedDict()
        self._max = max_tenants
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> int:
        with self._lock:
            return self._versions.get(tenant_id, 0)

    def advance(self, tenant_id: str, version: int) -> None:
        with self._lock:
            self._versions[tenant_id] = max(version, self._versions.get(tenant_id, 0))
            self._versions.move_to_end(tenant_id)
            while len(self._versions) > self._max:
                self._versions.popitem(last=False)


class FanOut:
    """Delivers a tenant's committed range to all of its live connections."""

    def __init__(
        self,
        feed: ChangeFeed,
        connections: ConnectionStore,
        push: ConnectionPusher,
        pushed: PushedVersions | None = None,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        fast_path_max_connections: int = 10,
    ) -> None:
        self._feed = feed
        self._connections = connections
        self._push = push
        self._pushed = pushed or PushedVersions()
        self._clock = clock or SystemClock()
        self._sleep = sleep
        # The fast path's own limit (settings): a tenant with more connections has no
        # writer posting to them, whatever its commits claim.
        self._fast_path_max_connections = fast_path_max_connections

    def deliver(self, committed: TenantRange) -> int:
        """Push (after, through] to every connection that lacks it; returns messages sent.

        A connection holds what it acked and what a write's own push posted to it (the
        pushed marks); parts at or below that are not posted again, and when every
        connection holds the range nothing is read. Connections that answer 410 are
        forgotten; FanOutFailedError if any other could not be reached, so the batch is
        retried (connections that acked the range meanwhile are skipped then).
        """
        tenant_id = committed.tenant_id
        already = self._pushed.get(tenant_id)
        if committed.through <= already:
            return 0
        # Listing before the read is safe: the range committed before this invocation
        # began, so a connection that is not listed yet says hello later and its
        # catch-up reads past `through`.
        listed, lacking = self._after_the_writers_push(committed)
        if not lacking:
            self._pushed.advance(tenant_id, committed.through)
            return 0
        # Read only what the connections that lack the range lack.
        start = max(committed.after, already, min(listed.covered(c) for c in lacking))
        changes = self._feed.committed_changes(tenant_id, start, committed.through)
        sent = self._post_lacking(tenant_id, changes, listed, lacking)
        self._pushed.advance(tenant_id, changes.to)
        return sent

    def _after_the_writers_push(
        self, committed: TenantRange
    ) -> tuple[TenantConnections, list[Connection]]:
        """The tenant's connections and those lacking the range, once the write that
        committed it is done posting it itself (its marks say so) or its claim has ended."""
        listed, lacking = self._lacking(committed)
        waited = 0.0
        pause = FIRST_POLL_S
        while self._writer_may_be_posting(committed, listed, lacking):
            left = (committed.claimed_until_ms - epoch_ms(self._clock)) / 1000
            left = min(left, MAX_CLAIM_WAIT_S - waited)
            if left <= 0:
                break
            self._sleep(min(pause, left))
            waited += min(pause, left)
            pause = min(pause * 2, MAX_POLL_S)
            listed, lacking = self._lacking(committed)
        return listed, lacking

    def _post_lacking(
        self,
        tenant_id: str,
        changes: Changes,
        listed: TenantConnections,
        lacking: list[Connection],
    ) -> int:
        """Post each lacking connection the parts it lacks; mark what it then holds. Returns
        messages sent; FanOutFailedError if a connection other than a gone one failed."""
        # One message (or split parts) per set of followed collections, shared by its connections.
        parts = {
            followed: [
                (part.to, encode(part))
                for part in split_changes(for_collections(changes, followed))
            ]
            for followed in {connection.collections for connection in lacking}
        }

        def post(connection: Connection) -> Posted:
            covered = listed.covered(connection)
            missing = [data for through, data in parts[connection.collections] if through > covered]
            return post_parts(self._push, connection.connection_id, missing)

        outcomes = each(lacking, post)
        sent, failed = 0, False
        posted_through: dict[str, int] = {}
        for connection, outcome in zip(lacking, outcomes, strict=True):
            assert outcome is not None  # no timeout: every post ends within the client's own
            sent += outcome.sent
            if isinstance(outcome.error, ConnectionGoneError):
                self._connections.remove(tenant_id, connection.connection_id)
            elif outcome.error is not None:
                failed = True
            elif listed.covered(connection) >= changes.from_:
                posted_through[connection.connection_id] = changes.to
        self._mark(listed, posted_through)
        if failed:
            raise FanOutFailedError(tenant_id)
        return sent

    def _mark(self, listed: TenantConnections, posted_through: dict[str, int]) -> None:
        """Record what this fan-out gave each connection, so the next write's own push finds
        them ready again after a burst (their acks come at most every 250 ms)."""
        if not posted_through or not listed.connections:
            return
        marks = marks_after(listed, posted_through)
        if needs_writing(listed, marks):
            tenant_id = listed.connections[0].tenant_id
            expires = epoch_s(self._clock) + MARKS_TTL_SECONDS
            self._connections.record_pushed(tenant_id, marks, expires, listed.settled)

    def _lacking(self, committed: TenantRange) -> tuple[TenantConnections, list[Connection]]:
        """The tenant's connections and marks, and the connections that lack the range."""
        listed = self._connections.listing(committed.tenant_id)
        lacking = [c for c in listed.connections if listed.covered(c) < committed.through]
        return listed, lacking

    def _writer_may_be_posting(
        self, committed: TenantRange, listed: TenantConnections, lacking: list[Connection]
    ) -> bool:
        """Whether a claimed range's writer may still be posting to a connection that lacks
        it: its push is not over (the marks' `settled` is below the claimed commit), the
        fast path serves tenants with few connections, and only connections that held
        everything before the range (the others are this fan-out's anyway).

        On AWS the stream is read 118-552 ms after a commit, when the write's push is long
        over; a stream read at once (the local runtime) finds the writer still posting,
        and waits rather than post the range twice."""
        if not committed.claimed_until_ms or not lacking:
            return False
        if listed.settled >= committed.claimed_through:
            return False
        if len(listed.connections) > self._fast_path_max_connections:
            return False
        return any(listed.placed(c) and listed.covered(c) >= committed.after for c in lacking)


def _meta_tenant(record: DynamoDBRecord) -> str | None:
    keys = (record.raw_event.get("dynamodb") or {}).get("Keys") or {}
    if record.raw_event.get("eventName") == "REMOVE":
        return None
    if keys.get("sk", {}).get("S") != META_SORT_KEY:
        return None
    return str(keys["pk"]["S"])


def fan_out_batch(event: dict[str, Any], fan_out: FanOut, context: Any = None) -> dict[str, Any]:
    """Deliver a stream batch with Powertools' BatchProcessor; failures per tenant.

    The first `meta` record of a tenant delivers the tenant's whole range; a
    tenant whose delivery failed has its `meta` records reported in
    `batchItemFailures`, so the event source mapping retries from there, while
    the other tenants of the batch are delivered.
    """
    ranges = committed_ranges(event.get("Records") or [])
    outcomes: dict[str, Exception | None] = {}

    def handle(record: DynamoDBRecord) -> None:
        tenant_id = _meta_tenant(record)
        if tenant_id is None:
            return
        if tenant_id not in outcomes:
            try:
                fan_out.deliver(ranges[tenant_id])
                outcomes[tenant_id] = None
            except Exception as error:
                logger.exception("fan-out failed", extra={"tenant_id": tenant_id})
                outcomes[tenant_id] = error
        failure = outcomes[tenant_id]
        if failure is not None:
            raise FanOutFailedError(tenant_id) from failure

    processor = BatchProcessor(
        event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
    )
    return dict(process_partial_response(event, handle, processor, context))
