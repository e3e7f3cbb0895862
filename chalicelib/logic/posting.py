"""Posting `changes` to many connections at once: one bounded pool shared by the fan-out and
the fast path, and the per-connection outcome of posting a list of parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol, TypeVar

from chalicelib.dal.connection_push import ConnectionGoneError, PushFailedError

# Posts wait on the network (tens of ms each on AWS): this many go out at once per
# instance, whoever asks. More would only queue behind the instance's CPU.
MAX_PARALLEL_POSTS = 32
# Connections that are posted to inline, one after the other, rather than through the pool.
INLINE_UP_TO = 1

_POOL = ThreadPoolExecutor(max_workers=MAX_PARALLEL_POSTS, thread_name_prefix="posts")
# The fast path's own reads and writes (its listing, its marks) run apart from the posts,
# so they never queue behind a fan-out to many devices.
_DATA = ThreadPoolExecutor(max_workers=8, thread_name_prefix="push-data")

T = TypeVar("T")
R = TypeVar("R")


class ConnectionPusher(Protocol):
    """What delivery needs to reach connections (dal.connection_push.ConnectionPush)."""

    def post(self, connection_id: str, data: bytes) -> None: ...

    def close(self, connection_id: str) -> None: ...


@dataclass(frozen=True)
class Posted:
    """How posting a connection's parts ended: how many went out, and the error that
    stopped the rest (ConnectionGoneError: 410; PushFailedError: anything else)."""

    sent: int
    error: ConnectionGoneError | PushFailedError | None = None

    @property
    def complete(self) -> bool:
        return self.error is None


def post_parts(push: ConnectionPusher, connection_id: str, parts: Sequence[bytes]) -> Posted:
    """Post `parts` in order to one connection; stops at the first that fails (a timeout or
    a refused connection counts as a failure like any other)."""
    sent = 0
    try:
        for data in parts:
            push.post(connection_id, data)
            sent += 1
    except (ConnectionGoneError, PushFailedError) as error:
        return Posted(sent, error)
    except Exception as error:  # botocore's timeouts and connection errors are no ClientError
        return Posted(sent, PushFailedError(f"{connection_id}: {error!r}"))
    return Posted(sent)


def each(
    items: Sequence[T], work: Callable[[T], R], timeout_s: float | None = None
) -> list[R | None]:
    """`work(item)` for every item, in parallel on the shared pool (inline for one); each
    result, or None for work still running after `timeout_s` (it finishes on its own)."""
    if len(items) <= INLINE_UP_TO:
        return [work(item) for item in items]
    futures: list[Future[R]] = [_POOL.submit(work, item) for item in items]
    done, _ = wait(futures, timeout=timeout_s)
    results: list[R | None] = []
    for future in futures:
        if future in done:
            results.append(future.result())  # an unexpected error is raised here
        else:
            results.append(None)
    return results


def submit(work: Callable[[], R]) -> Future[R]:
    """`work()` in the background, off the posts' pool (a read that overlaps a write, a
    write nobody waits for)."""
    return _DATA.submit(work)
