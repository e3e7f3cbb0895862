"""The gateway's scheduling of client messages: fair turns, bounded queues, token buckets."""

import pytest

from infra.local.websocket_gateway.scheduling import FairInbox, TokenBucket


def drain(inbox: FairInbox[str, int]) -> list[tuple[str, int]]:
    """Take everything, finishing each item at once."""
    taken = []
    while (item := inbox.take()) is not None:
        taken.append(item)
        inbox.done(item[0])
    return taken


def test_connections_take_turns_whatever_they_queued():
    inbox: FairInbox[str, int] = FairInbox(max_waiting=1000, max_running=4)
    for n in range(500):
        inbox.offer("flood", n)
    inbox.offer("quiet", 0)
    # The quiet connection's message is second, not 501st
    assert drain(inbox)[:3] == [("flood", 0), ("quiet", 0), ("flood", 1)]


def test_a_connection_runs_at_most_max_running_at_once():
    inbox: FairInbox[str, int] = FairInbox(max_waiting=100, max_running=2)
    for n in range(5):
        inbox.offer("a", n)
    assert [inbox.take(), inbox.take(), inbox.take()] == [("a", 0), ("a", 1), None]
    inbox.offer("b", 0)
    assert inbox.take() == ("b", 0)
    inbox.done("a")
    assert inbox.take() == ("a", 2)


def test_a_full_queue_refuses_until_it_has_room():
    inbox: FairInbox[str, int] = FairInbox(max_waiting=3, max_running=1)
    assert [inbox.offer("a", n) for n in range(5)] == [True, True, True, False, False]
    assert inbox.offer("b", 0)  # another connection has its own queue
    assert inbox.take() == ("a", 0)
    assert inbox.offer("a", 3)
    assert (inbox.waiting("a"), len(inbox)) == (3, 4)


def test_finished_connections_leave_nothing_behind():
    inbox: FairInbox[str, int] = FairInbox(max_waiting=3, max_running=1)
    inbox.offer("a", 0)
    drain(inbox)
    assert inbox._lanes == {} and len(inbox) == 0


def test_the_token_bucket_allows_its_burst_then_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.25  # two and a half tokens
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 100
    assert sum(bucket.take() for _ in range(10)) == 5  # never more than the burst


@pytest.mark.parametrize(("waiting", "running"), [(0, 1), (1, 0)])
def test_limits_must_allow_something(waiting, running):
    with pytest.raises(ValueError):
        FairInbox(waiting, running)
