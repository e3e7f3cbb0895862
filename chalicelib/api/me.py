"""/me: the caller's account."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import (
    ApiBlueprint,
    authenticate,
    json_response,
    no_content,
    parse_body,
    session_cookie,
)
from chalicelib.models.accounts import MeResponse, UpdateProfileRequest, UserOut
from chalicelib.services import get_services

me_routes = ApiBlueprint(__name__)


@me_routes.route("/me", methods=["GET"])
def get_me() -> Response:
    session = authenticate(me_routes.current_request)
    account = get_services().accounts.get(session.user_id)
    return json_response(MeResponse(user=UserOut.of(account)))


@me_routes.route("/me", methods=["PATCH"])
def update_me() -> Response:
    request = me_routes.current_request
    session = authenticate(request)
    body = parse_body(request, UpdateProfileRequest)
    account = get_services().accounts.update_profile(session.user_id, body)
    return json_response(MeResponse(user=UserOut.of(account)))


@me_routes.route("/me", methods=["DELETE"])
def delete_me() -> Response:
    session = authenticate(me_routes.current_request)
    get_services().accounts.delete(session.user_id)
    return no_content({"Set-Cookie": session_cookie("", 0)})
