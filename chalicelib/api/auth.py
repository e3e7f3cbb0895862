"""/auth: sign up, log in, log out, and the caller's sessions."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.http import (
    DEVICE_COOKIE,
    ApiBlueprint,
    authenticate,
    client_info,
    cookie_value,
    device_cookie,
    json_response,
    no_content,
    parse_body,
    require_trusted_origin,
    session_cookie,
)
from chalicelib.api.operations import (
    CLEAR_SESSION,
    SET_SESSION,
    Operation,
    Reply,
)
from chalicelib.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    NotFoundError,
    OriginMismatchError,
    TooManyAttemptsError,
)
from chalicelib.logic.accounts import SignedIn
from chalicelib.models.accounts import (
    AuthResponse,
    ConnectTicketResponse,
    LoginRequest,
    SessionOut,
    SessionResponse,
    SessionsResponse,
    SignupRequest,
    UserOut,
)
from chalicelib.observability import logger
from chalicelib.services import get_services

auth_routes = ApiBlueprint(__name__)


def _signed_in(status: int, signed_in: SignedIn) -> Response:
    settings = get_services().settings
    cookies = [session_cookie(signed_in.token, settings.session_days * 86_400)]
    if signed_in.device_token is not None:
        cookies.append(device_cookie(signed_in.device_token, settings.login_device_days * 86_400))
    return json_response(
        AuthResponse(
            user=UserOut.of(signed_in.account),
            token=signed_in.token,
            device_token=signed_in.device_token,
        ),
        status=status,
        headers={"Set-Cookie": cookies, "Cache-Control": "no-store"},
    )


@auth_routes.route(
    "/auth/signup",
    methods=["POST"],
    operation=Operation(
        summary="Create an account with a password, and sign in",
        auth=False,
        body=SignupRequest,
        replies={
            201: Reply(AuthResponse, "Signed in: the token, also set as a cookie.", (SET_SESSION,))
        },
        errors=(EmailTakenError, OriginMismatchError),
    ),
)
def sign_up() -> Response:
    request = auth_routes.current_request
    require_trusted_origin(request)
    body = parse_body(request, SignupRequest)
    signed_in = get_services().accounts.sign_up(body, client_info(request))
    logger.append_keys(user_id=signed_in.account.id)
    logger.info("account created")
    return _signed_in(201, signed_in)


@auth_routes.route(
    "/auth/login",
    methods=["POST"],
    operation=Operation(
        summary="Sign in with email and password",
        auth=False,
        body=LoginRequest,
        replies={
            200: Reply(AuthResponse, "Signed in: the token, also set as a cookie.", (SET_SESSION,))
        },
        errors=(InvalidCredentialsError, TooManyAttemptsError, OriginMismatchError),
    ),
)
def log_in() -> Response:
    request = auth_routes.current_request
    require_trusted_origin(request)
    body = parse_body(request, LoginRequest)
    device_token = body.device_token or cookie_value(request, DEVICE_COOKIE)
    signed_in = get_services().accounts.log_in(body, client_info(request), device_token)
    logger.append_keys(user_id=signed_in.account.id)
    logger.info("signed in")
    return _signed_in(200, signed_in)


@auth_routes.route(
    "/auth/logout",
    methods=["POST"],
    operation=Operation(
        summary="End this session (its WebSocket connections close)",
        replies={204: Reply(description="Signed out.", headers=(CLEAR_SESSION,))},
    ),
)
def log_out() -> Response:
    session = authenticate(auth_routes.current_request)
    get_services().sessions.end(session)
    logger.info("signed out")
    return no_content({"Set-Cookie": session_cookie("", 0)})


@auth_routes.route(
    "/auth/ws-ticket",
    methods=["POST"],
    operation=Operation(
        summary="A single-use ticket to open one WebSocket connection within 60 s",
        description=(
            "Connect with `?ticket=<ticket>&clientId=<uuid>`: the session token stays out "
            "of URLs (and so of access logs). The ticket is bound to this session."
        ),
        replies={201: Reply(ConnectTicketResponse, "The ticket and when it expires (epoch ms).")},
    ),
)
def connect_ticket() -> Response:
    session = authenticate(auth_routes.current_request)
    ticket, expires = get_services().tickets.issue(session)
    return json_response(
        ConnectTicketResponse(ticket=ticket, expires=expires * 1000),
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@auth_routes.route(
    "/auth/session",
    methods=["GET"],
    operation=Operation(
        summary="The caller and this session",
        replies={200: Reply(SessionResponse, "Signed in.")},
    ),
)
def current_session() -> Response:
    session = authenticate(auth_routes.current_request)
    account = get_services().accounts.get(session.user_id)
    return json_response(
        SessionResponse(user=UserOut.of(account), session=SessionOut.of(session, session.id))
    )


@auth_routes.route(
    "/auth/sessions",
    methods=["GET"],
    operation=Operation(
        summary="The caller's live sessions",
        replies={200: Reply(SessionsResponse, "Every live session; `current` marks this one.")},
    ),
)
def list_sessions() -> Response:
    session = authenticate(auth_routes.current_request)
    sessions = get_services().sessions.live_sessions(session.user_id)
    return json_response(
        SessionsResponse(sessions=[SessionOut.of(s, session.id) for s in sessions])
    )


@auth_routes.route(
    "/auth/sessions/{session_id}",
    methods=["DELETE"],
    operation=Operation(
        summary="Revoke one of the caller's sessions",
        replies={204: Reply(description="Revoked; its connections close.")},
        errors=(NotFoundError,),
    ),
)
def revoke_session(session_id: str) -> Response:
    session = authenticate(auth_routes.current_request)
    get_services().sessions.revoke(session.user_id, session_id)
    return no_content()
