"""/sync: what changed since a version (or a snapshot), as a `changes` message body."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import ApiBlueprint, authenticate, json_response, parse_query
from chalicelib.models.notes import SyncQuery
from chalicelib.services import get_services

sync_routes = ApiBlueprint(__name__)


@sync_routes.route("/sync", methods=["GET"])
def sync() -> Response:
    request = sync_routes.current_request
    session = authenticate(request)
    query = parse_query(request, SyncQuery)
    changes = get_services().notes.sync(session.user_id, query)
    return json_response(changes, headers={"Cache-Control": "no-store"})
