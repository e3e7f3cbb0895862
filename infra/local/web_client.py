"""The web client as the local runtime serves it: its configuration and its security headers.

The page learns where the API and the WebSocket are from `GET /config.json`, made from
the runtime's own configuration (never from a request's Host header, which anyone can
set), and its Content-Security-Policy allows connections to exactly those two places.
No I/O here but the ASGI middleware that adds the headers.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONFIG_PATH = "/config.json"


@dataclass(frozen=True)
class WebClientConfig:
    """Where the page finds the REST API (`/api`: the page's own origin) and the WebSocket;
    `origin`, if given, the one origin the page is served from (the app trusts that one)."""

    api_url: str
    ws_url: str
    origin: str | None = None

    def as_json(self) -> dict[str, str]:
        """The body of `GET /config.json`."""
        return {"apiUrl": self.api_url, "wsUrl": self.ws_url}


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute URL; None for a relative one (the page's own)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(config: WebClientConfig) -> str:
    """The page's policy: its own scripts, styles and images only, no inline script or
    style attribute, no eval, no framing; connections to the API and the WebSocket only."""
    connect = ["'self'"]
    for url in (config.api_url, config.ws_url):
        found = origin_of(url)
        if found is not None and found not in connect:
            connect.append(found)
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src {' '.join(connect)}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def security_headers(config: WebClientConfig) -> dict[str, str]:
    """What every answer of the web + REST port carries (unless the app set its own).

    No Strict-Transport-Security: the runtime serves plain HTTP (the stages on AWS set it).
    """
    return {
        "Content-Security-Policy": content_security_policy(config),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


class CanonicalOrigin:
    """ASGI middleware: a page asked for by another name of this host (`localhost` for
    127.0.0.1, say) is redirected to `origin`, the one the app trusts as the page's: from
    another origin, its sign-up and login would be refused as cross-site (403). The API
    and every path under `exempt` answer whatever the name."""

    def __init__(self, app: ASGIApp, origin: str, exempt: tuple[str, ...]) -> None:
        self._app = app
        self._origin = origin.rstrip("/")
        self._host = urllib.parse.urlsplit(origin).netloc.lower()
        self._exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path: str = scope["path"]
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            if host and host != self._host and not path.startswith(self._exempt):
                query = scope.get("query_string", b"").decode("latin-1")
                location = self._origin + path + (f"?{query}" if query else "")
                await send(
                    {
                        "type": "http.response.start",
                        "status": 307,
                        "headers": [(b"location", location.encode("latin-1"))],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
        await self._app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware: adds `headers` to every HTTP answer that does not have them yet."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self._app = app
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self._app(scope, receive, send_with_headers)
