"""Typed exceptions: one class per kind of failure a caller may want to handle.

Every API error carries the server's stable `code`, its `message`, the HTTP
`status`, the offending fields (`details`, on 400) and `retry_after` (seconds,
on 429 and 503). Classes are chosen by `code` first, then by status, so a new
server code still lands in the right family.
"""

from __future__ import annotations

from typing import Any


class UserdbError(Exception):
    """Base of every exception the SDK raises."""


class NotSignedInError(UserdbError):
    """The client has no session: sign up or log in first."""

    def __init__(self, message: str = "Not signed in: run `userdb login` first.") -> None:
        super().__init__(message)


class NetworkError(UserdbError):
    """The server could not be reached (refused, timed out, DNS, TLS)."""


class StateLockedError(UserdbError):
    """Another process is already syncing this state folder."""


class ProtocolError(UserdbError):
    """The server answered something that is not the userdb API (e.g. HTML, a proxy page)."""


class ApiError(UserdbError):
    """The server refused a request: `{"error": {"code", "message"}}` with an HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.retry_after = retry_after


class BadRequestError(ApiError):
    """400: the request is malformed or invalid; `details` names the fields."""


class UnauthorizedError(ApiError):
    """401: the session is missing, expired or revoked (sign in again)."""


class InvalidCredentialsError(UnauthorizedError):
    """401 on login: wrong email or password."""


class ForbiddenError(ApiError):
    """403: not allowed (e.g. a cookie request from an untrusted Origin)."""


class NotFoundError(ApiError):
    """404: no such document or note (or route)."""


class ConflictError(ApiError):
    """409: the request conflicts with what exists."""


class UnknownCollectionError(NotFoundError):
    """404 `unknown_collection`: the app declares no such collection."""


class DocExistsError(ConflictError):
    """409 `doc_exists`: a document with this id exists already."""


class EmailTakenError(ConflictError):
    """409 on signup: an account with this email exists."""


class VersionMismatchError(ApiError):
    """412: the note changed since the version given in If-Match; re-read it and retry."""


class PayloadTooLargeError(ApiError):
    """413: the body or the note text is too large (64 KiB of text, 256 KiB of body)."""


class UnsupportedMediaTypeError(ApiError):
    """415: the body was not sent as JSON."""


class RateLimitedError(ApiError):
    """429: too many requests or attempts; wait `retry_after` seconds."""


class ServiceUnavailableError(ApiError):
    """503: try again after `retry_after` seconds."""


class TenantProvisioningError(ServiceUnavailableError):
    """503 while the account's data store is still being created."""


class ServerError(ApiError):
    """5xx: the server failed."""


_BY_CODE: dict[str, type[ApiError]] = {
    "invalid_credentials": InvalidCredentialsError,
    "email_taken": EmailTakenError,
    "version_mismatch": VersionMismatchError,
    "tenant_provisioning": TenantProvisioningError,
    "unknown_collection": UnknownCollectionError,
    "doc_exists": DocExistsError,
}

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    412: VersionMismatchError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def api_error(
    status: int,
    body: Any,
    retry_after: float | None = None,
) -> ApiError:
    """The exception for an error reply (`body` is the parsed JSON, or anything else)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or f"http_{status}")
        message = str(error.get("message") or "The request failed.")
        details = error.get("details") if isinstance(error.get("details"), list) else None
    else:
        code, message, details = f"http_{status}", f"The server answered HTTP {status}.", None
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ApiError
    return cls(status, code, message, details=details, retry_after=retry_after)
