"""The WebSocket API's routes: $connect, $default (every client action) and $disconnect.

app.py registers these on the app itself: Chalice wraps websocket handlers only
there (a Blueprint's would reach Lambda unwrapped).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Response, WebsocketEvent

from chalicelib.errors import UserdbError
from chalicelib.observability import logger
from chalicelib.services import get_services


def _event_endpoint(event: WebsocketEvent) -> str:
    """This API stage's @connections endpoint, as API Gateway names it in the event."""
    context: dict[str, Any] = event.to_dict()["requestContext"]
    return f"https://{context['domainName']}/{context['stage']}"


def connect(event: WebsocketEvent) -> Response:
    query: dict[str, str] = event.to_dict().get("queryStringParameters") or {}
    ticket, token = query.get("ticket"), query.get("token")
    try:
        connection = get_services().connections.connect(
            event.connection_id, token, query.get("clientId"), ticket
        )
    except UserdbError as error:
        # A non-2xx $connect answer refuses the upgrade with that status.
        return Response(body="", status_code=error.status)
    logger.append_keys(user_id=connection.tenant_id, connection_id=connection.connection_id)
    # `token=` is deprecated (docs/protocol.md): it puts the session token in URLs.
    logger.info("connected", extra={"credential": "ticket" if ticket is not None else "token"})
    return Response(body="", status_code=200)


def message(event: WebsocketEvent) -> None:
    services = get_services()
    services.connections.receive(
        event.connection_id, event.body, services.push_for(_event_endpoint(event))
    )


def disconnect(event: WebsocketEvent) -> None:
    get_services().connections.disconnect(event.connection_id)
