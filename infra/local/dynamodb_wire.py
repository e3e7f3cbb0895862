"""HTTP/1.1 on asyncio streams, just enough for the DynamoDB JSON protocol.

`read_message` frames one request or response (Content-Length, chunked, or up to
EOF); `BackendPool` keeps keep-alive connections to the backend; `DynamoDBApi` makes
signed JSON calls on it (the runtime's own DynamoDB and Streams calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_HEAD = 64 * 1024
_NO_BODY_STATUSES = {204, 304}


class HttpFramingError(ValueError):
    """The bytes on the wire are not an HTTP/1.1 message we can frame."""


@dataclass
class HttpMessage:
    """One request or response: its start line, headers (in order) and whole body."""

    start_line: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    # Framed by Content-Length as received, so the head can be forwarded as is.
    raw_head: bytes | None = None
    closes: bool = False

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == wanted:
                return value
        return None

    @property
    def status(self) -> int:
        return int(self.start_line.split(" ", 2)[1])

    def encode(self) -> bytes:
        """The message framed by Content-Length (a chunked body is sent whole)."""
        if self.raw_head is not None:
            return self.raw_head + self.body
        lines = [self.start_line]
        for name, value in self.headers:
            if name.lower() not in {"content-length", "transfer-encoding"}:
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """Start line and headers of a head (without its final blank line)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as error:  # pragma: no cover - latin-1 decodes any byte
        raise HttpFramingError(str(error)) from None
    lines = text.split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpFramingError(f"bad header line: {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers end with a blank line; they are dropped.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def read_message(
    reader: asyncio.StreamReader, *, is_response: bool = False, head_request: bool = False
) -> HttpMessage | None:
    """The next message on `reader`, or None at a clean EOF before it starts."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise HttpFramingError("connection closed inside a message head") from None
    except asyncio.LimitOverrunError:
        raise HttpFramingError("message head too large") from None
    start_line, headers = parse_head(head[:-4])
    message = HttpMessage(start_line, headers)
    connection = (message.header("connection") or "").lower()
    message.closes = "close" in connection or start_line.endswith("HTTP/1.0")
    length = message.header("content-length")
    chunked = "chunked" in (message.header("transfer-encoding") or "").lower()
    if is_response and (
        head_request or message.status in _NO_BODY_STATUSES or message.status < 200
    ):
        message.raw_head = head
    elif chunked:
        message.body = await _read_chunked(reader)
    elif length is not None:
        message.body = await reader.readexactly(int(length))
        message.raw_head = head
    elif is_response:
        message.body = await reader.read()
        message.closes = True
    else:
        message.raw_head = head
    return message


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class BackendPool:
    """Keep-alive connections to one http:// backend, reused request after request.

    `one_at_a_time` sends the next request only once the last is answered: for a backend
    that is not safe under concurrent requests (moto: docs/local-runtime.md).
    """

    url: str
    max_idle: int = 32
    one_at_a_time: bool = False
    _idle: list[_Connection] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._turn = asyncio.Lock()

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_HEAD)
        return _Connection(reader, writer)

    async def send(self, request: bytes, *, head_request: bool = False) -> HttpMessage:
        """Send one encoded request; a stale pooled connection is retried once on a new one."""
        if not self.one_at_a_time:
            return await self._send(request, head_request)
        async with self._turn:
            return await self._send(request, head_request)

    async def _send(self, request: bytes, head_request: bool) -> HttpMessage:
        reused = bool(self._idle)
        connection = self._idle.pop() if reused else await self._open()
        try:
            response = await self._exchange(connection, request, head_request)
        except (ConnectionError, asyncio.IncompleteReadError, HttpFramingError):
            connection.close()
            if not reused:
                raise
            connection = await self._open()
            response = await self._exchange(connection, request, head_request)
        if response.closes or len(self._idle) >= self.max_idle:
            connection.close()
        else:
            self._idle.append(connection)
        return response

    @staticmethod
    async def _exchange(connection: _Connection, request: bytes, head_request: bool) -> HttpMessage:
        connection.writer.write(request)
        await connection.writer.drain()
        response = await read_message(
            connection.reader, is_response=True, head_request=head_request
        )
        if response is None:
            raise ConnectionResetError("backend closed the connection")
        return response

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class DynamoDBError(Exception):
    """An error answer of DynamoDB or DynamoDB Streams (code as in `__type`)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class DynamoDBApi:
    """Signed DynamoDB / DynamoDB Streams JSON calls over a `BackendPool`."""

    def __init__(self, pool: BackendPool, region: str, access_key: str, secret_key: str) -> None:
        self._pool = pool
        self._signer = SigV4Auth(Credentials(access_key, secret_key), "dynamodb", region)
        self._netloc = urlsplit(pool.url).netloc

    def _encode(self, target: str, payload: dict[str, Any]) -> bytes:
        body = json.dumps(payload).encode()
        request = AWSRequest(
            method="POST",
            url=f"http://{self._netloc}/",
            data=body,
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
        )
        self._signer.add_auth(request)
        lines = ["POST / HTTP/1.1", f"Host: {self._netloc}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def call(self, target: str, payload: dict[str, Any]) -> dict[str, Any]:
        """`target` like "DynamoDB_20120810.Scan"; raises DynamoDBError on an error answer."""
        response = await self._pool.send(self._encode(target, payload))
        data: dict[str, Any] = json.loads(response.body) if response.body else {}
        if response.status != 200:
            code = str(data.get("__type", "UnknownError")).rsplit("#", 1)[-1]
            message = str(data.get("message") or data.get("Message") or "")
            raise DynamoDBError(code, message, response.status)
        return data

    async def dynamodb(self, operation: str, **payload: Any) -> dict[str, Any]:
        return await self.call(f"DynamoDB_20120810.{operation}", payload)

    async def streams(self, operation: str, **payload: Any) -> dict[str, Any]:
        return await self.call(f"DynamoDBStreams_20120810.{operation}", payload)
