"""The app's own API Gateway URLs, turned into the local gateways' URLs; no I/O here.

An app learns where its APIs are from its template, e.g.
`{"Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev"}`
for the `@connections` endpoint. Resolved, that names an API id the runtime gave the
app; this module maps such URLs to where the runtime serves those APIs:

- REST: `https://{rest}.execute-api.{region}.amazonaws.com/{stage}/path` ->
  `http://{host}:{port}/api/path`; the bare origin -> `http://{host}:{port}`.
- WebSocket: `https://{ws}...amazonaws.com/{stage}` -> `http://{host}:{ws-port}/{stage}`
  (the `@connections` API), `wss://...` -> `ws://{host}:{ws-port}/{stage}`.

Other URLs are left as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXECUTE_API = re.compile(
    r"^(?P<scheme>https|wss)://(?P<api>[A-Za-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com"
    r"(?P<path>/.*)?$"
)


@dataclass(frozen=True)
class LocalApis:
    """Where the runtime serves the app's APIs."""

    rest_api_id: str
    websocket_api_id: str
    host: str
    port: int
    ws_port: int
    rest_prefix: str = "/api"

    def localise(self, url: str) -> str:
        match = _EXECUTE_API.match(url)
        if match is None:
            return url
        path = match.group("path") or ""
        if match.group("api") == self.rest_api_id:
            if not path:
                return f"http://{self.host}:{self.port}"
            # The REST gateway serves every stage under one prefix.
            rest = path.split("/", 2)[2] if path.count("/") >= 2 else ""
            base = f"http://{self.host}:{self.port}{self.rest_prefix}"
            return f"{base}/{rest}" if rest else base
        if match.group("api") == self.websocket_api_id:
            scheme = "ws" if match.group("scheme") == "wss" else "http"
            return f"{scheme}://{self.host}:{self.ws_port}{path}"
        return url
