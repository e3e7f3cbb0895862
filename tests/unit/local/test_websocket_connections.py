"""Connection bookkeeping with an in-memory peer: order, gone-ness, expiry."""

import asyncio

import pytest

from infra.local.websocket_gateway.connections import (
    Connection,
    ConnectionRegistry,
    PeerGoneError,
)
from infra.local.websocket_gateway.events import ApiInfo, ConnectionInfo
from infra.local.websocket_gateway.limits import DELETED, IDLE_TIMEOUT, ConnectionLimits


class RecordingPeer:
    """A client end that records frames; each send yields to the loop, as a socket may."""

    def __init__(self) -> None:
        self.frames: list[str | bytes] = []
        self.closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        await asyncio.sleep(0)
        self.frames.append(text)

    async def send_bytes(self, data: bytes) -> None:
        await asyncio.sleep(0)
        self.frames.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def connection(connection_id: str = "c1", peer: RecordingPeer | None = None) -> Connection:
    info = ConnectionInfo(connection_id, 1_000, "127.0.0.1", None, ApiInfo("a", "local", "h"))
    return Connection(
        info, peer or RecordingPeer(), connected_at=0.0, last_active=0.0, last_active_ms=1_000
    )


def test_posts_to_one_connection_arrive_in_the_order_they_were_made():
    async def scenario() -> list[str | bytes]:
        # Given an open connection
        peer = RecordingPeer()
        conn = connection(peer=peer)
        conn.open = True
        # When 50 posts start one after the other and run concurrently
        posts = [asyncio.create_task(conn.deliver(f"m{i}".encode(), 1.0, 2_000)) for i in range(50)]
        await asyncio.gather(*posts)
        return peer.frames

    # Then the client gets them in that order
    assert asyncio.run(scenario()) == [f"m{i}" for i in range(50)]


def test_utf8_goes_as_text_and_other_bytes_as_binary():
    async def scenario() -> list[str | bytes]:
        peer = RecordingPeer()
        conn = connection(peer=peer)
        conn.open = True
        await conn.deliver("héllo".encode(), 1.0, 2_000)
        await conn.deliver(b"\xff\x00", 1.0, 2_000)
        return peer.frames

    assert asyncio.run(scenario()) == ["héllo", b"\xff\x00"]


def test_delivery_marks_the_connection_active():
    conn = connection()
    conn.open = True
    asyncio.run(conn.deliver(b"x", 42.0, 9_000))
    assert (conn.last_active, conn.last_active_ms) == (42.0, 9_000)


def test_a_connection_not_yet_open_or_closed_is_gone():
    async def scenario() -> None:
        conn = connection()
        # While `$connect` runs nothing can be posted
        with pytest.raises(PeerGoneError):
            await conn.deliver(b"x", 1.0, 1)
        conn.open = True
        await conn.close(DELETED)
        # And after a close neither
        with pytest.raises(PeerGoneError):
            await conn.deliver(b"x", 1.0, 1)

    asyncio.run(scenario())


def test_a_peer_that_fails_makes_the_connection_gone():
    class BrokenPeer(RecordingPeer):
        async def send_text(self, text: str) -> None:
            raise OSError("socket closed")

    conn = connection(peer=BrokenPeer())
    conn.open = True
    with pytest.raises(PeerGoneError):
        asyncio.run(conn.deliver(b"x", 1.0, 1))


def test_close_happens_once_with_its_cause():
    peer = RecordingPeer()
    conn = connection(peer=peer)
    conn.open = True
    assert asyncio.run(conn.close(DELETED)) is True
    assert asyncio.run(conn.close(IDLE_TIMEOUT)) is False
    assert peer.closed == (1000, "Connection Closed Normally")
    assert conn.close_cause == DELETED


def test_registry_finds_only_open_connections():
    registry = ConnectionRegistry()
    connecting, live = connection("a"), connection("b")
    live.open = True
    registry.add(connecting)
    registry.add(live)
    assert registry.open_connection("a") is None
    assert registry.open_connection("b") is live
    assert registry.open_connection("missing") is None
    registry.remove("b")
    assert registry.open_connection("b") is None
    assert len(registry) == 1


def test_registry_lists_expired_open_connections():
    # Given two open connections, one active recently, and one still connecting
    registry = ConnectionRegistry()
    idle, active, connecting = connection("idle"), connection("active"), connection("connecting")
    idle.open = active.open = True
    active.touch(95.0, 1)
    for conn in (idle, active, connecting):
        registry.add(conn)
    # When the idle timeout (10 s) has passed for one of them
    due = registry.expired(ConnectionLimits(idle_timeout_s=10, max_lifetime_s=1000), now=100.0)
    # Then only that one is due, as an idle timeout
    assert due == [(idle, IDLE_TIMEOUT)]
