"""What every REST route shares: body parsing, authentication, replies, error mapping."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import pydantic
from chalice.app import Blueprint, Request, Response

from chalicelib.api.operations import Operation, declare
from chalicelib.errors import (
    MalformedJsonError,
    MethodNotAllowedError,
    OriginMismatchError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    UserdbError,
    ValidationError,
    to_http_response,
)
from chalicelib.logic.sessions import ClientInfo
from chalicelib.models.accounts import Session
from chalicelib.models.base import ResponseModel
from chalicelib.observability import logger
from chalicelib.services import get_services

MAX_BODY_BYTES = 256 * 1024
SESSION_COOKIE = "userdb_session"
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

R = TypeVar("R", bound=pydantic.BaseModel)
View = Callable[..., Any]


class ApiBlueprint(Blueprint):
    """A Blueprint whose routes are declared (OpenAPI) and turn domain errors into
    `{"error": ...}` replies.

    Chalice converts any exception a view raises into its own 500 before
    middleware sees it, so the mapping wraps each view instead.
    """

    def route(
        self, path: str, operation: Operation | None = None, **kwargs: Any
    ) -> Callable[[View], View]:
        if operation is None:
            raise TypeError(f"{path}: declare the route with operation=Operation(...)")
        register = super().route(path, **kwargs)

        def decorator(view: View) -> View:
            @functools.wraps(view)
            def guarded(*args: Any, **view_kwargs: Any) -> Any:
                try:
                    return view(*args, **view_kwargs)
                except UserdbError as error:
                    logger.info("request refused", extra={"code": error.code})
                    return to_http_response(error)
                except Exception:
                    logger.exception("unhandled error")
                    return to_http_response(UserdbError())

            declare(guarded, operation)
            register(guarded)
            return view

        return decorator


def _field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "body"


def validation_details(error: pydantic.ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as `{field, message, type}`, without echoing the input back."""
    return [
        {"field": _field_path(e["loc"]), "message": e["msg"], "type": e["type"]}
        for e in error.errors(include_url=False, include_input=False)
    ]


def parse_body(request: Request, model: type[R]) -> R:
    """The JSON body as `model`: 413 over 256 KiB, 415 if not JSON, 400 if malformed or invalid."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    content_type = (request.headers.get("content-type") or "application/json").lower()
    if not content_type.split(";")[0].strip().endswith("json"):
        raise UnsupportedMediaTypeError()
    try:
        return model.model_validate_json(raw or b"{}")
    except pydantic.ValidationError as error:
        if any(e["type"] == "json_invalid" for e in error.errors()):
            raise MalformedJsonError() from None
        if any(e["type"] in ("model_type", "dict_type") and not e["loc"] for e in error.errors()):
            raise ValidationError("The body must be a JSON object.") from None
        raise ValidationError(details=validation_details(error)) from None


def parse_query(request: Request, model: type[R]) -> R:
    """Query parameters as `model` (strings coerced by the model's own field types)."""
    params = dict(request.query_params or {})
    try:
        return model.model_validate(params, strict=False)
    except pydantic.ValidationError as error:
        raise ValidationError(details=validation_details(error)) from None


def client_info(request: Request) -> ClientInfo:
    identity = (request.context or {}).get("identity") or {}
    return ClientInfo(ip=identity.get("sourceIp"), user_agent=request.headers.get("user-agent"))


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def cookie_value(request: Request, name: str) -> str | None:
    """The value of cookie `name`, or None if absent or the header is malformed."""
    header = request.headers.get("cookie")
    if not header:
        return None
    try:
        morsel = SimpleCookie(header).get(name)
    except CookieError:
        return None
    return morsel.value if morsel else None


def _cookie_token(request: Request) -> str | None:
    return cookie_value(request, SESSION_COOKIE)


def authenticate(request: Request) -> Session:
    """The caller's session, from `Authorization: Bearer` or the session cookie.

    A cookie-authenticated request that changes state must come from an allowed
    Origin (browsers send cookies cross-site; they cannot forge Origin).
    """
    services = get_services()
    token = _bearer_token(request)
    if token is None:
        token = _cookie_token(request)
        if token is None:
            raise UnauthorizedError()
        if request.method in STATE_CHANGING_METHODS:
            origin = (request.headers.get("origin") or "").rstrip("/")
            if origin not in services.settings.allowed_origins:
                raise OriginMismatchError()
    session = services.sessions.validate(token)
    logger.append_keys(user_id=session.user_id)
    return session


def session_cookie(token: str, max_age: int) -> str:
    """Set-Cookie for the session: HttpOnly, SameSite=Lax, Secure but on the local stage."""
    parts = [f"{SESSION_COOKIE}={token}", "Path=/", f"Max-Age={max_age}", "HttpOnly"]
    parts.append("SameSite=Lax")
    if get_services().settings.secure_cookies:
        parts.append("Secure")
    return "; ".join(parts)


def json_response(
    body: ResponseModel | dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    payload = body.model_dump(mode="json") if isinstance(body, pydantic.BaseModel) else body
    reply_headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    reply_headers.update(headers or {})
    return Response(
        body=json.dumps(payload, separators=(",", ":")), status_code=status, headers=reply_headers
    )


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(body="", status_code=204, headers=dict(headers or {}))


_FRAMEWORK_ERRORS: dict[str, type[UserdbError]] = {
    "UnsupportedMediaType": UnsupportedMediaTypeError,
    "MethodNotAllowedError": MethodNotAllowedError,
}


def framework_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: replies Chalice makes itself (405, 415, 500) get our error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or "Code" not in body:
        return response
    error_class = _FRAMEWORK_ERRORS.get(str(body["Code"]), UserdbError)
    allow = {"Allow": str(response.headers["Allow"])} if "Allow" in response.headers else {}
    return to_http_response(error_class(), headers=allow)
