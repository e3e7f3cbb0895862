"""uvicorn's WebSocket protocol with one change: a failed connection lingers to be read.

When a client breaks a limit (a message over 128 KB), the server fails the
connection: it sends the close frame (1009) and closes TCP. If the client is still
sending the rest of its message, closing a socket with unread data makes the kernel
answer with a reset, and the client may see "connection reset" instead of 1009.
Here the server half-closes instead, discards what still arrives, and closes once
the client has (or after a short grace), so the close code reaches the client.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

LINGER_SECONDS = 2.0


class LingeringCloseProtocol(WebSocketsSansIOProtocol):
    def data_received(self, data: bytes) -> None:
        if self.close_sent and self.conn.parser_exc is not None:
            return  # failed already: drop what the client still sends
        super().data_received(data)

    def handle_parser_exception(self) -> None:
        close = self.conn.close_sent
        code, reason = (close.code, close.reason) if close else (1002, "")
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
