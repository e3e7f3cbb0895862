"""The fast path: a write posts its own change to the tenant's live connections before it
answers, so a change reaches the user's other devices in one hop instead of waiting for
the stream (docs/protocol.md, The fast path).

The stream's fan-out stays the guarantee: whatever the fast path does not post (a post
that failed or timed out, a function that died, a burst, a connection that lags) the
fan-out delivers, and the pushed marks written here tell it which connections already
hold a range. Nothing here ever fails or delays a write beyond `wait_s`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass

from chalicelib.dal.connection_push import ConnectionGoneError
from chalicelib.dal.connections import ConnectionStore
from chalicelib.logic.clock import Clock, epoch_s
from chalicelib.logic.instance_cache import InstanceCache
from chalicelib.logic.message_split import split_changes
from chalicelib.logic.posting import ConnectionPusher, Posted, each, post_parts, submit
from chalicelib.logic.pushed_marks import MARKS_TTL_SECONDS, marks_after
from chalicelib.logic.sync import for_collections
from chalicelib.models.connections import Connection, TenantConnections
from chalicelib.models.protocol import Changes, encode
from chalicelib.observability import logger


@dataclass(frozen=True)
class FastPathPolicy:
    """When the fast path steps aside for the stream, and how long it may take.

    - `max_connections`: a tenant with more live connections is left to the stream's
      fan-out (0 turns the fast path off);
    - `wait_s`: the most a write waits for its posts (they go out in parallel);
    - `burst_gap_s`: a write beginning sooner than this after the instance's previous
      write to the tenant is left to the stream, and holds the tenant there (`hold_s`);
    - `hold_s`: once this instance has left a tenant's range to the stream (a burst), its
      writes to that tenant go to the stream too for this long without asking: the
      clients' acks, which would let the fast path resume, come at most every 250 ms;
    - `claim_s`: how long after its commit a write claims its range: a stream's fan-out
      that finds a connection lacking it waits, until the write's push is over (its marks
      say so) or the claim ends; as long as the write may post (`wait_s`).
    """

    max_connections: int = 10
    wait_s: float = 1.0
    hold_s: float = 0.25
    claim_s: float = 1.0
    # A write that begins this soon after the instance's previous write to the tenant is
    # part of a burst (a person's saves come further apart; so do writes 50 ms apart).
    burst_gap_s: float = 0.04
    # How long a tenant found with more than `max_connections` is left to the stream
    # without listing its connections again (a listing of hundreds costs tens of ms).
    crowded_s: float = 10.0


class FastPush:
    """One write's push, begun before its commit: the tenant's connections are listed
    while the transaction runs, then `send` posts what committed."""

    def __init__(self, fast_path: FastPath, tenant_id: str, started: float) -> None:
        self._fast_path = fast_path
        self.tenant_id = tenant_id
        self._started = started
        self._listing: Future[TenantConnections] = submit(
            lambda: fast_path.connections.listing(tenant_id)
        )
        self._ended = False

    def send(self, changes: Changes) -> None:
        """Post `changes` (what the write committed) to the connections that hold
        everything before it; never raises."""
        try:
            self._fast_path.send(self, changes)
        except Exception:
            logger.exception("fast path failed", extra={"tenant_id": self.tenant_id})
        finally:
            self.end()

    def claim_until_ms(self, now_ms: int) -> int:
        """The claim a commit made now carries (epoch ms)."""
        return now_ms + int(self._fast_path.policy.claim_s * 1000)

    def listing(self) -> TenantConnections:
        return self._listing.result(timeout=self.remaining_s())

    def remaining_s(self) -> float:
        """What is left of the write's wait for its push."""
        spent = self._fast_path.monotonic() - self._started
        return max(0.0, self._fast_path.policy.wait_s - spent)

    def end(self) -> None:
        """The write is done (committed and pushed, or refused): the tenant is free again."""
        if not self._ended:
            self._ended = True
            self._fast_path.release(self.tenant_id)


class FastPath:
    """Pushes committed writes to their tenant's connections; one per process."""

    def __init__(
        self,
        connections: ConnectionStore,
        push: ConnectionPusher,
        clock: Clock,
        policy: FastPathPolicy | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        in_background: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.connections = connections
        # Runs the marks' write without the write waiting for it (tests run it at once).
        self._in_background = in_background or _in_background
        self._push = push
        self._clock = clock
        self.policy = policy or FastPathPolicy()
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        # Tenants whose writes this instance leaves to the stream until the time given.
        self._held: InstanceCache[str, float] = InstanceCache(10_000)
        # What this instance posted to each of a tenant's connections: its own marks, known
        # before they are read back (they are written without waiting).
        self._posted: InstanceCache[str, dict[str, int]] = InstanceCache(10_000)
        # When this instance last began a write to each tenant (monotonic seconds).
        self._last_write: InstanceCache[str, float] = InstanceCache(10_000)

    def begin(self, tenant_id: str) -> FastPush | None:
        """Start a write's push (listing its tenant's connections meanwhile), or None when
        the write is left to the stream: the fast path is off, or the write is part of a
        burst (this instance is pushing to the tenant already, began a write to it moments
        ago, or handed it to the stream lately): a burst coalesces in the stream's batches."""
        if self.policy.max_connections <= 0:
            return None
        now = self.monotonic()
        with self._lock:
            previous = self._last_write.get(tenant_id)
            self._last_write.put(tenant_id, now)
            held_until = self._held.get(tenant_id)
            if held_until is not None and now < held_until:
                return None
            in_burst = previous is not None and now - previous < self.policy.burst_gap_s
            if tenant_id in self._in_flight or in_burst:
                self._hold(tenant_id, now)
                return None
            self._in_flight.add(tenant_id)
        try:
            return FastPush(self, tenant_id, now)
        except Exception:
            self.release(tenant_id)
            logger.exception("fast path could not start", extra={"tenant_id": tenant_id})
            return None

    def release(self, tenant_id: str) -> None:
        with self._lock:
            self._in_flight.discard(tenant_id)

    def _hold(self, tenant_id: str, now: float) -> None:
        self._held.put(tenant_id, now + self.policy.hold_s)

    def _with_own_marks(self, tenant_id: str, listed: TenantConnections) -> TenantConnections:
        """The marks read, raised by what this instance posted since (not yet read back)."""
        own = self._posted.get(tenant_id)
        if not own:
            return listed
        pushed = dict(listed.pushed)
        for connection_id, version in own.items():
            pushed[connection_id] = max(pushed.get(connection_id, 0), version)
        return listed.model_copy(update={"pushed": pushed})

    def _remember(self, tenant_id: str, marks: dict[str, int]) -> None:
        with self._lock:
            own = dict(self._posted.get(tenant_id) or {})
            for connection_id, version in marks.items():
                own[connection_id] = max(own.get(connection_id, 0), version)
            # Only the tenant's current connections: the map stays as small as they are.
            self._posted.put(tenant_id, {cid: own[cid] for cid in marks})

    def send(self, pending: FastPush, changes: Changes) -> None:
        tenant_id = pending.tenant_id
        try:
            listed = pending.listing()
        except FutureTimeoutError:
            logger.warning("fast path: listing timed out", extra={"tenant_id": tenant_id})
            return
        listed = self._with_own_marks(tenant_id, listed)
        connections = listed.connections
        if not connections:
            return
        if len(connections) > self.policy.max_connections:
            # Many devices: the fan-out posts to them in parallel, off the write's path.
            self._held.put(tenant_id, self.monotonic() + self.policy.crowded_s)
            self._settle_only(tenant_id, changes.to)
            return
        # Only connections holding everything before this write can take it without a gap;
        # the others (a burst the stream is delivering, a client still saying hello) are the
        # fan-out's.
        ready = [c for c in connections if listed.placed(c) and listed.covered(c) >= changes.from_]
        if not ready:
            self._hold(tenant_id, self.monotonic())
        ready = [c for c in ready if listed.covered(c) < changes.to]
        if not ready:
            # Nothing to post, but the claim stands: say the push is over, or a fan-out that
            # finds a connection ready by then would wait for the claim to end. (Only that:
            # rewriting marks from a read that may predate a hello's would erase it.)
            self._settle_only(tenant_id, changes.to)
            return
        parts = {
            followed: [encode(part) for part in split_changes(for_collections(changes, followed))]
            for followed in {c.collections for c in ready}
        }
        outcomes = each(
            ready,
            lambda c: post_parts(self._push, c.connection_id, parts[c.collections]),
            pending.remaining_s(),
        )
        self._settle(tenant_id, listed, ready, outcomes, changes.to)

    def _settle_only(self, tenant_id: str, through: int) -> None:
        expires = epoch_s(self._clock) + MARKS_TTL_SECONDS
        self._in_background(lambda: self.connections.record_settled(tenant_id, through, expires))

    def _settle(
        self,
        tenant_id: str,
        listed: TenantConnections,
        ready: list[Connection],
        outcomes: list[Posted | None],
        through: int,
    ) -> None:
        """Forget connections that answered 410; mark those that got the whole range."""
        posted_through: dict[str, int] = {}
        gone: set[str] = set()
        failed = 0
        for connection, outcome in zip(ready, outcomes, strict=True):
            if outcome is not None and outcome.complete:
                posted_through[connection.connection_id] = through
            elif outcome is not None and isinstance(outcome.error, ConnectionGoneError):
                self.connections.remove(tenant_id, connection.connection_id)
                gone.add(connection.connection_id)
            else:
                failed += 1
        if failed:
            # Left unmarked: the stream's fan-out delivers to them.
            logger.warning(
                "fast path: posts failed or timed out",
                extra={"tenant_id": tenant_id, "failed": failed, "through": through},
            )
        if gone:
            remaining = [c for c in listed.connections if c.connection_id not in gone]
            listed = listed.model_copy(update={"connections": remaining})
        marks = marks_after(listed, posted_through)
        self._remember(tenant_id, marks)
        # Written whatever the posts' outcome: `settled` tells a fan-out waiting on this
        # write's claim that the push is over. Not waited for: the write answers meanwhile.
        # The marks only spare the fan-out a post; written late (or, on a frozen Lambda
        # instance, at its next invocation), they still say what was posted, and missing
        # they cost a duplicate.
        expires = epoch_s(self._clock) + MARKS_TTL_SECONDS
        settled = max(listed.settled, through)
        self._in_background(
            lambda: self.connections.record_pushed(tenant_id, marks, expires, settled)
        )


def _in_background(work: Callable[[], None]) -> None:
    submit(work).add_done_callback(_log_failure)


def _log_failure(done: Future[None]) -> None:
    error = done.exception()
    if error is not None:
        logger.warning("fast path: pushed marks not recorded", exc_info=error)
