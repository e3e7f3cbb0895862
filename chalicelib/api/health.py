"""/health: liveness, no authentication."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import ApiBlueprint, json_response
from chalicelib.services import get_services

health_routes = ApiBlueprint(__name__)


@health_routes.route("/health", methods=["GET"])
def health() -> Response:
    return json_response({"status": "ok", "stage": get_services().settings.stage})
