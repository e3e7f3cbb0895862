"""/health: liveness, no authentication."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import ApiBlueprint, json_response
from chalicelib.api.operations import Operation, Reply
from chalicelib.models.health import HealthResponse
from chalicelib.services import get_services

health_routes = ApiBlueprint(__name__)


@health_routes.route(
    "/health",
    methods=["GET"],
    operation=Operation(
        summary="Liveness", auth=False, replies={200: Reply(HealthResponse, "Up.")}
    ),
)
def health() -> Response:
    return json_response(HealthResponse(stage=get_services().settings.stage))
