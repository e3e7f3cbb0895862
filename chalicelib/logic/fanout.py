"""Fan-out: from a batch of stream records to one coalesced `changes` push per connection.

DESIGN §5: per tenant, the batch's `meta` records give the range (a, b] of
versions it committed; one consistent read of what changed after a, split into
messages under 128 KB, goes to every live connection of the tenant. Records of
other items trigger nothing: the `meta` record of the same transaction covers them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from chalicelib.dal.connection_push import ConnectionGoneError, PushFailedError
from chalicelib.dal.connections import ConnectionStore
from chalicelib.logic.change_feed import ChangeFeed
from chalicelib.logic.message_split import split_changes
from chalicelib.logic.sync import for_collections
from chalicelib.models.connections import Connection
from chalicelib.models.protocol import encode
from chalicelib.observability import logger

META_SORT_KEY = "meta"
# Tenants with more live connections than this are posted to from a thread pool.
PARALLEL_FROM = 2
_POSTERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fan-out")
_Outcome = int | ConnectionGoneError | PushFailedError


@dataclass
class TenantRange:
    """Versions (after, through] a batch committed for one tenant, and the records that said so."""

    tenant_id: str
    after: int
    through: int
    sequence_numbers: list[str] = field(default_factory=list)


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
    return ranges


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


class ConnectionPusher(Protocol):
    """What delivery needs to reach connections (dal.connection_push.ConnectionPush)."""

    def post(self, connection_id: str, data: bytes) -> None: ...

    def close(self, connection_id: str) -> None: ...


class FanOut:
    """Delivers a tenant's committed range to all of its live connections."""

    def __init__(
        self,
        feed: ChangeFeed,
        connections: ConnectionStore,
        push: ConnectionPusher,
        pushed: PushedVersions | None = None,
    ) -> None:
        self._feed = feed
        self._connections = connections
        self._push = push
        self._pushed = pushed or PushedVersions()

    def deliver(self, committed: TenantRange) -> int:
        """Push (after, through] to every connection that lacks it; returns messages sent.

        Connections that answer 410 are forgotten; FanOutFailedError if any other
        could not be reached, so the batch is retried (connections whose acked
        version covers the range are skipped then).
        """
        tenant_id = committed.tenant_id
        already = self._pushed.get(tenant_id)
        if committed.through <= already:
            return 0
        # Listing before the read is safe: the range committed before this invocation
        # began, so a connection that is not listed yet says hello later and its
        # catch-up reads past `through`.
        connections = self._connections.for_tenant(tenant_id)
        if not connections:
            return 0
        changes = self._feed.committed_changes(
            tenant_id, max(committed.after, already), committed.through
        )
        # One message (or split parts) per set of followed collections, shared by its connections.
        parts = {
            followed: [
                (part.to, encode(part))
                for part in split_changes(for_collections(changes, followed))
            ]
            for followed in {connection.collections for connection in connections}
        }
        outcomes = self._each(connections, lambda c: self._push_parts(c, parts[c.collections]))
        sent, failed = 0, False
        for connection, outcome in zip(connections, outcomes, strict=True):
            if isinstance(outcome, ConnectionGoneError):
                self._connections.remove(tenant_id, connection.connection_id)
            elif isinstance(outcome, PushFailedError):
                failed = True
            else:
                sent += outcome
        if failed:
            raise FanOutFailedError(tenant_id)
        self._pushed.advance(tenant_id, changes.to)
        return sent

    def _push_parts(
        self, connection: Connection, parts: list[tuple[int, bytes]]
    ) -> int | ConnectionGoneError | PushFailedError:
        """Post the parts a connection lacks, in order; its outcome rather than an exception."""
        sent = 0
        try:
            for through, data in parts:
                if connection.acked_version < through:
                    self._push.post(connection.connection_id, data)
                    sent += 1
        except (ConnectionGoneError, PushFailedError) as error:
            return error
        return sent

    @staticmethod
    def _each(
        connections: list[Connection], push: Callable[[Connection], _Outcome]
    ) -> list[_Outcome]:
        # Posts wait on the network: a tenant with many devices is served in parallel.
        if len(connections) <= PARALLEL_FROM:
            return [push(connection) for connection in connections]
        return list(_POSTERS.map(push, connections))


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
