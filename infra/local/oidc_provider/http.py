"""The provider over HTTP/1.1 (the standard library's threading server): requests in as
`HttpRequest`s, `(status, body, headers)` replies out, JSON bodies encoded."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra.local.oidc_provider.models import HttpRequest

Reply = tuple[int, Any, list[tuple[str, str]]]
Route = Callable[[HttpRequest], Reply]


def handler_class(route: Route, issuer: Callable[[], str]) -> type[BaseHTTPRequestHandler]:
    """A request handler class that answers every GET and POST with `route`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests and the runtime print their own lines

        def _request(self) -> HttpRequest:
            url = f"{issuer()}{self.path}"
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            return HttpRequest(
                method=self.command,
                url=url,
                headers=self.headers,
                args=dict(parse_qsl(urlsplit(url).query)),
                form=dict(parse_qsl(raw)) if self.command == "POST" else {},
            )

        def _serve(self) -> None:
            try:
                status, body, headers = route(self._request())
            except Exception as error:  # a broken test provider should say why
                status, body, headers = 500, {"error": repr(error)}, []
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = [*headers, ("Content-Type", "application/json")]
            payload = (body or "").encode("utf-8")
            self.send_response(status)
            sent = set()
            for name, value in headers:
                if name.lower() not in sent or name.lower() == "set-cookie":
                    self.send_header(name, value)
                    sent.add(name.lower())
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve  # noqa: N815 - http.server's naming
        do_POST = _serve  # noqa: N815

    return Handler
