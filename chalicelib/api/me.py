"""/me: the caller's account."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import (
    ApiBlueprint,
    authenticate,
    json_response,
    no_content,
    parse_body,
    parse_query,
    session_cookie,
)
from chalicelib.api.operations import CLEAR_SESSION, Operation, Reply
from chalicelib.errors import IdentityNotFoundError, LastSignInMethodError, UnknownProviderError
from chalicelib.models.accounts import Account, MeResponse, UpdateProfileRequest, UserOut
from chalicelib.models.identities import IdentityOut, UnlinkQuery
from chalicelib.services import get_services

me_routes = ApiBlueprint(__name__)


def _me(account: Account) -> MeResponse:
    identities = get_services().oauth.identities(account.id)
    return MeResponse(user=UserOut.of(account), identities=[IdentityOut.of(i) for i in identities])


@me_routes.route(
    "/me",
    methods=["GET"],
    operation=Operation(
        summary="The caller's account and connected sign-in providers",
        replies={200: Reply(MeResponse, "The account.")},
    ),
)
def get_me() -> Response:
    session = authenticate(me_routes.current_request)
    account = get_services().accounts.get(session.user_id)
    return json_response(_me(account))


@me_routes.route(
    "/me",
    methods=["PATCH"],
    operation=Operation(
        summary="Change the caller's name or picture",
        body=UpdateProfileRequest,
        replies={200: Reply(MeResponse, "The account, changed.")},
    ),
)
def update_me() -> Response:
    request = me_routes.current_request
    session = authenticate(request)
    body = parse_body(request, UpdateProfileRequest)
    account = get_services().accounts.update_profile(session.user_id, body)
    return json_response(_me(account))


@me_routes.route(
    "/me",
    methods=["DELETE"],
    operation=Operation(
        summary="Delete the caller's account and all its data",
        replies={204: Reply(description="Deleted.", headers=(CLEAR_SESSION,))},
    ),
)
def delete_me() -> Response:
    session = authenticate(me_routes.current_request)
    get_services().accounts.delete(session.user_id)
    return no_content({"Set-Cookie": session_cookie("", 0)})


@me_routes.route(
    "/me/identities/{provider}",
    methods=["DELETE"],
    operation=Operation(
        summary="Disconnect a sign-in provider (`subject`: only that identity)",
        query=UnlinkQuery,
        replies={204: Reply(description="Disconnected.")},
        errors=(UnknownProviderError, IdentityNotFoundError, LastSignInMethodError),
    ),
)
def unlink_identity(provider: str) -> Response:
    request = me_routes.current_request
    session = authenticate(request)
    query = parse_query(request, UnlinkQuery)
    get_services().oauth.unlink(session.user_id, provider, query.subject)
    return no_content()
