"""Pointing a Chalice app's `app.websocket_api` at the local `@connections` endpoint.

Before each websocket handler Chalice calls `configure_from_api_id(apiId, stage)`,
which builds `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`. Locally
the endpoint is `http://127.0.0.1:<ws-port>/<stage>`, so the runtime swaps the
instance's class for one whose `configure*` keep that endpoint. The app's code is
untouched, and `app.websocket_api.send()` / `close()` work as deployed.
"""

from __future__ import annotations

from typing import Any


def point_websocket_api(app: Any, endpoint: str) -> None:
    """Make `app.websocket_api` post to `endpoint`, whatever the app or Chalice configure."""
    api = getattr(app, "websocket_api", None)
    if api is None:
        return
    base = type(api)

    def configure(self: Any, domain_name: str, stage: str) -> None:
        # Chalice keeps the first endpoint configured; locally it is always this one.
        self._endpoint = endpoint

    def configure_from_api_id(self: Any, api_id: str, stage: str) -> None:
        self._endpoint = endpoint

    local_class = type(
        f"Local{base.__name__}",
        (base,),
        {"configure": configure, "configure_from_api_id": configure_from_api_id},
    )
    api.__class__ = local_class
    api._endpoint = endpoint
    api._client = None  # a client made for another endpoint must not be reused
