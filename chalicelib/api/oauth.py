"""/auth/providers and /auth/oauth/{provider}/start|callback: sign-in with OAuth / OIDC.

Browsers navigate to start and callback, so both always answer with a 302 to
the web client, errors included (never an error page); docs/oauth.md says what
the web client reads from the landing URL's fragment.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.api.http import (
    ApiBlueprint,
    authenticate,
    client_info,
    cookie_value,
    json_response,
    parse_query,
    session_cookie,
)
from chalicelib.api.operations import REDIRECT, Operation, Reply, ResponseHeader
from chalicelib.errors import UnauthorizedError, UserdbError
from chalicelib.logic.oauth import STATE_TTL_SECONDS, BrowserRedirect
from chalicelib.models.identities import CallbackQuery, ProvidersResponse, StartQuery
from chalicelib.observability import logger
from chalicelib.services import get_services

STATE_COOKIE = "userdb_oauth_state"

oauth_routes = ApiBlueprint(__name__)

_TO_WEB_CLIENT = Reply(
    description="To the provider, or back to the web client with the outcome in the fragment "
    "(docs/oauth.md); errors included.",
    headers=(REDIRECT, ResponseHeader("Set-Cookie", "Session and sign-in cookies.", False)),
)


def state_cookie(value: str) -> str:
    """Set-Cookie binding a sign-in to this browser (Lax: sent on the provider's redirect)."""
    max_age = STATE_TTL_SECONDS if value else 0
    parts = [f"{STATE_COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if get_services().settings.secure_cookies:
        parts.append("Secure")
    return "; ".join(parts)


def _redirect(redirect: BrowserRedirect, provider: str) -> Response:
    services = get_services()
    cookies: list[str] = []
    if redirect.session_token is not None:
        max_age = services.settings.session_days * 86_400
        cookies.append(session_cookie(redirect.session_token, max_age))
    if redirect.state_cookie is not None:
        cookies.append(state_cookie(redirect.state_cookie))
    headers: dict[str, str | list[str]] = {
        "Location": redirect.location,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    if cookies:
        headers["Set-Cookie"] = cookies
    logger.info("oauth redirect", extra={"provider": provider, "outcome": redirect.outcome})
    return Response(body="", status_code=302, headers=headers)


def _browser_step(provider: str, step: Callable[[], BrowserRedirect]) -> Response:
    """Run a step of the flow; whatever happens, the browser is redirected to the web client."""
    oauth = get_services().oauth
    try:
        redirect = step()
    except UserdbError as error:
        redirect = oauth.refused(error, provider)
    except Exception:
        logger.exception("oauth step failed")
        redirect = oauth.refused(UserdbError(), provider)
    return _redirect(redirect, provider)


def _signed_in_user(request: Request) -> str | None:
    try:
        return authenticate(request).user_id
    except UnauthorizedError:
        return None


@oauth_routes.route(
    "/auth/providers",
    methods=["GET"],
    operation=Operation(
        summary="The sign-in providers configured on this stage",
        auth=False,
        replies={200: Reply(ProvidersResponse, "Providers, for 'Sign in with ...' buttons.")},
    ),
)
def list_providers() -> Response:
    return json_response(ProvidersResponse(providers=get_services().oauth.providers()))


@oauth_routes.route(
    "/auth/oauth/{provider}/start",
    methods=["GET"],
    operation=Operation(
        summary="Start signing in with a provider (a browser navigates here)",
        auth=False,
        redirects_errors=True,
        query=StartQuery,
        replies={302: _TO_WEB_CLIENT},
        description="With `link=true` and a session, connects the provider to the account.",
    ),
)
def start_sign_in(provider: str) -> Response:
    request = oauth_routes.current_request

    def step() -> BrowserRedirect:
        query = parse_query(request, StartQuery)
        user = _signed_in_user(request) if query.link else None
        return get_services().oauth.start(
            provider, query.redirect, link=query.link, signed_in_user=user
        )

    return _browser_step(provider, step)


@oauth_routes.route(
    "/auth/oauth/{provider}/callback",
    methods=["GET"],
    operation=Operation(
        summary="Where the provider sends the browser back",
        auth=False,
        redirects_errors=True,
        query=CallbackQuery,
        replies={302: _TO_WEB_CLIENT},
    ),
)
def finish_sign_in(provider: str) -> Response:
    request = oauth_routes.current_request

    def step() -> BrowserRedirect:
        query = parse_query(request, CallbackQuery)
        return get_services().oauth.finish(
            provider,
            code=query.code,
            state=query.state,
            error=query.error,
            browser_state=cookie_value(request, STATE_COOKIE),
            client=client_info(request),
        )

    return _browser_step(provider, step)
