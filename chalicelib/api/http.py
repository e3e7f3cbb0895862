"""What every REST route shares: body parsing, authentication, replies, error mapping."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
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
from chalicelib.models.documents import DocId
from chalicelib.observability import logger
from chalicelib.services import get_services

MAX_BODY_BYTES = 256 * 1024
SESSION_COOKIE = "userdb_session"
DEVICE_COOKIE = "userdb_device"
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA_TYPE = "application/json"
MERGE_PATCH_MEDIA_TYPE = "application/merge-patch+json"

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


def accepted_media_types(method: str) -> frozenset[str]:
    """What a body may be sent as: JSON, and JSON Merge Patch on PATCH (RFC 7386)."""
    if method == "PATCH":
        return frozenset({JSON_MEDIA_TYPE, MERGE_PATCH_MEDIA_TYPE})
    return frozenset({JSON_MEDIA_TYPE})


def check_media_type(request: Request) -> None:
    """415 for a body not declared as JSON. A missing Content-Type is refused too: a
    browser sends such a body cross-site without asking first (login CSRF)."""
    if not request.raw_body:
        return
    declared = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if declared not in accepted_media_types(request.method):
        allowed = " or ".join(sorted(accepted_media_types(request.method)))
        raise UnsupportedMediaTypeError(f"Send the body as {allowed}.")


def parse_body(request: Request, model: type[R]) -> R:
    """The JSON body as `model`: 413 over 256 KiB, 415 if not JSON, 400 if malformed or invalid."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    check_media_type(request)
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


_DOC_ID = pydantic.TypeAdapter(DocId)


def parse_doc_id(raw: str) -> str:
    """A document id from the path (a note's too), or 400 naming the field `id`."""
    try:
        return _DOC_ID.validate_python(raw)
    except pydantic.ValidationError:
        raise ValidationError(
            details=[
                {"field": "id", "message": "1 to 128 of [A-Za-z0-9_-]", "type": "string_pattern"}
            ]
        ) from None


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


def require_trusted_origin(request: Request) -> None:
    """403 for a request a page of another site made (sign-up, login: login CSRF).

    Clients that are not browsers send no Origin and pass; browsers always send it
    on a cross-site POST and cannot forge it.
    """
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in get_services().settings.allowed_origins:
        raise OriginMismatchError("Sign-up and sign-in are only accepted from the app's own pages.")


def device_cookie(token: str, max_age: int) -> str:
    """Set-Cookie for this device's token (docs/security.md): HttpOnly, SameSite=Strict."""
    parts = [f"{DEVICE_COOKIE}={token}", "Path=/", f"Max-Age={max_age}", "HttpOnly"]
    parts.append("SameSite=Strict")
    if get_services().settings.secure_cookies:
        parts.append("Secure")
    return "; ".join(parts)


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
    headers: Mapping[str, str | list[str]] | None = None,
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


# An API answers JSON: nothing in it may run, load, be framed or be sniffed as a page.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=63072000; includeSubDomains"


def security_headers(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: every REST reply carries the security headers (docs/security.md);
    HSTS on every stage served over HTTPS (all but `local`)."""
    response = get_response(event)
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    if get_services().settings.strict_transport_security:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def json_bodies_only(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: a body of any other type than JSON is refused (415) on every
    route, also those that ignore their body, before the route runs."""
    try:
        check_media_type(event)
    except UnsupportedMediaTypeError as error:
        return to_http_response(error)
    return get_response(event)


def framework_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: replies Chalice makes itself (405, 415, 500) get our error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or "Code" not in body:
        return response
    error_class = _FRAMEWORK_ERRORS.get(str(body["Code"]), UserdbError)
    allow = {"Allow": str(response.headers["Allow"])} if "Allow" in response.headers else {}
    return to_http_response(error_class(), headers=allow)
