"""The ws_echo test app under the local runtime (tests/support/local_runtime.py), and the
websocket-client helpers its tests share."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any
from urllib.parse import quote

import websocket

from infra.local.config import PROJECT_DIR
from tests.support.backend_choice import backend_args
from tests.support.local_runtime import STAGE, RuntimeProcess, wait_for

WS_ECHO_APP = Path(__file__).resolve().parent.parent / "integration" / "apps" / "ws_echo"

__all__ = [
    "PROJECT_DIR",
    "WS_ECHO_APP",
    "RuntimeProcess",
    "close_frame",
    "connect",
    "connection_id",
    "recorded_events",
    "start_runtime",
    "wait_for",
]


def start_runtime(
    app_dir: Path = WS_ECHO_APP,
    *extra: str,
    timeout_s: float = 60,
    env: dict[str, str] | None = None,
    backend: str = "moto",
) -> RuntimeProcess:
    """Start the runtime (moto backend unless told, or USERDB_TEST_BACKEND) on free ports,
    once healthy."""
    _, chosen, *endpoint = backend_args(backend)
    return RuntimeProcess(app_dir, backend=chosen, args=[*endpoint, *extra], env=env).start(
        timeout_s
    )


def recorded_events(runtime: RuntimeProcess, connection_id: str) -> list[dict[str, Any]]:
    """The websocket events the ws_echo app recorded for one connection."""
    _, body = runtime.get_json(f"/events?connectionId={quote(connection_id, safe='')}")
    return list(body["events"])


def connect(runtime: RuntimeProcess, path: str = f"/{STAGE}", **query: str) -> websocket.WebSocket:
    """A websocket-client connection (token=`t` unless given), with a bounded read timeout."""
    query.setdefault("token", "t")
    return websocket.create_connection(runtime.ws_url(path, **query), timeout=10)


def connection_id(ws: websocket.WebSocket) -> str:
    """Ask the ws_echo app who we are (API Gateway cannot post during `$connect`)."""
    ws.send(json.dumps({"action": "whoami"}))
    return str(json.loads(ws.recv())["connectionId"])


def close_frame(ws: websocket.WebSocket) -> tuple[int, str]:
    """Read until the server's close frame; its code and reason."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            if len(data) < 2:
                return 1005, ""
            return struct.unpack("!H", data[:2])[0], data[2:].decode()
