"""/sync: what changed since a version (or a snapshot), as a `changes` message body."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import ApiBlueprint, authenticate, json_response, parse_query
from chalicelib.api.operations import TENANT_ERRORS, Operation, Reply
from chalicelib.errors import InvalidCursorError, UnknownCollectionError
from chalicelib.models.notes import SyncQuery, SyncResponse
from chalicelib.services import get_services

sync_routes = ApiBlueprint(__name__)


@sync_routes.route(
    "/sync",
    methods=["GET"],
    operation=Operation(
        summary="What changed since a version, or a snapshot",
        query=SyncQuery,
        replies={200: Reply(SyncResponse, "A `changes` body; `more` if it stopped early.")},
        errors=(InvalidCursorError, UnknownCollectionError, *TENANT_ERRORS),
        description=(
            "Give `since` (your cursor) or `cursor` (from a `more` answer), not both. "
            "`collections=a,b` keeps only those collections' items (the range is the same)."
        ),
    ),
)
def sync() -> Response:
    request = sync_routes.current_request
    session = authenticate(request)
    query = parse_query(request, SyncQuery)
    changes = get_services().feed.sync(session.user_id, query)
    return json_response(changes, headers={"Cache-Control": "no-store"})
