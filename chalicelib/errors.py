"""Domain errors and their one mapping to HTTP and WebSocket replies.

Logic raises these; `to_http_response` and `to_websocket_message` are the only
places that turn them into what a client sees: `{"error": {"code", "message"}}`
with a stable `code` that clients can branch on.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from chalice.app import Response


class UserdbError(Exception):
    """Base of every error a client may see. `code` is stable; `message` is for people."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "An internal error occurred."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details
        self.retry_after = retry_after


class ValidationError(UserdbError):
    status, code = 400, "validation_error"
    default_message = "The request is not valid."


class MalformedJsonError(UserdbError):
    status, code = 400, "malformed_json"
    default_message = "The request body is not valid JSON."


class InvalidCursorError(UserdbError):
    status, code = 400, "invalid_cursor"
    default_message = "The cursor is not valid."


class UnauthorizedError(UserdbError):
    status, code = 401, "unauthorized"
    default_message = "Sign in first: the session is missing, expired or revoked."


class InvalidCredentialsError(UserdbError):
    status, code = 401, "invalid_credentials"
    default_message = "Invalid email or password."


class ForbiddenError(UserdbError):
    status, code = 403, "forbidden"
    default_message = "This is not allowed."


class OriginMismatchError(UserdbError):
    status, code = 403, "origin_mismatch"
    default_message = "A cookie-authenticated request that changes state needs a trusted Origin."


class NotFoundError(UserdbError):
    status, code = 404, "not_found"
    default_message = "Not found."


class UnknownCollectionError(UserdbError):
    status, code = 404, "unknown_collection"
    default_message = "No such collection is declared."


class MethodNotAllowedError(UserdbError):
    status, code = 405, "method_not_allowed"
    default_message = "This method is not allowed here."


class EmailTakenError(UserdbError):
    status, code = 409, "email_taken"
    default_message = "An account with this email already exists."


class ConflictError(UserdbError):
    status, code = 409, "conflict"
    default_message = "The request conflicts with the current state."


class NoteExistsError(UserdbError):
    status, code = 409, "note_exists"
    default_message = "A note with this id already exists."


class DocExistsError(UserdbError):
    status, code = 409, "doc_exists"
    default_message = "A document with this id already exists."


class IdempotencyKeyReusedError(UserdbError):
    status, code = 409, "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyInProgressError(UserdbError):
    status, code = 409, "idempotency_in_progress"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


class VersionMismatchError(UserdbError):
    status, code = 412, "version_mismatch"
    default_message = "The item changed since that version."


class PayloadTooLargeError(UserdbError):
    status, code = 413, "payload_too_large"
    default_message = "The request body is too large."


class TenantStorageFullError(UserdbError):
    status, code = 413, "tenant_storage_full"
    default_message = "Your data store is full (10 GB); delete documents to make room."


class UnsupportedMediaTypeError(UserdbError):
    status, code = 415, "unsupported_media_type"
    default_message = "Send the body as application/json."


class TooManyAttemptsError(UserdbError):
    status, code = 429, "too_many_attempts"
    default_message = "Too many failed sign-in attempts; try again later."


class RateLimitedError(UserdbError):
    status, code = 429, "rate_limited"
    default_message = "Too many messages on this connection: some were dropped; slow down."


class TenantBusyError(UserdbError):
    status, code = 429, "tenant_busy"
    default_message = "Too many concurrent writes to your data; retry shortly."


class TenantNotReadyError(UserdbError):
    status, code = 503, "tenant_provisioning"
    default_message = "Your data store is still being created; try again shortly."


# ---- Sign-in with OAuth: the browser lands on the web client with one of these codes ----


class UnknownProviderError(UserdbError):
    status, code = 404, "unknown_provider"
    default_message = "This sign-in provider is not configured."


class InvalidRedirectError(UserdbError):
    status, code = 400, "invalid_redirect"
    default_message = "The page to return to is not on an allowed origin."


class InvalidStateError(UserdbError):
    status, code = 400, "invalid_state"
    default_message = "The sign-in attempt is unknown, expired or already used; start again."


class AccessDeniedError(UserdbError):
    status, code = 403, "access_denied"
    default_message = "Sign-in was cancelled at the provider."


class ProviderError(UserdbError):
    status, code = 502, "provider_error"
    default_message = "The provider refused the sign-in."


class InvalidCallbackError(UserdbError):
    status, code = 400, "invalid_callback"
    default_message = "The provider's reply carries no authorization code."


class TokenExchangeError(UserdbError):
    status, code = 502, "token_exchange_failed"
    default_message = "The provider did not accept the authorization code."


class ProviderUnavailableError(UserdbError):
    status, code = 503, "provider_unavailable"
    default_message = "The sign-in provider cannot be reached; try again shortly."


class IdTokenInvalidError(UserdbError):
    status, code = 401, "id_token_invalid"
    default_message = "The provider's ID token is not valid for this app."


class IdTokenExpiredError(IdTokenInvalidError):
    code = "id_token_expired"
    default_message = "The provider's ID token has expired."


class IdTokenSignatureError(IdTokenInvalidError):
    code = "id_token_signature_invalid"
    default_message = "The provider's ID token signature does not verify."


class NonceMismatchError(IdTokenInvalidError):
    code = "nonce_mismatch"
    default_message = "The provider's ID token belongs to another sign-in attempt."


class AccountExistsError(UserdbError):
    status, code = 409, "account_exists"
    default_message = (
        "An account with this email exists: sign in with its password, "
        "then connect this provider from your account."
    )


class IdentityInUseError(UserdbError):
    status, code = 409, "identity_in_use"
    default_message = "This provider account is already connected to another userdb account."


class IdentityNotFoundError(UserdbError):
    status, code = 404, "identity_not_found"
    default_message = "No identity of this provider is connected to your account."


class LastSignInMethodError(UserdbError):
    status, code = 409, "last_sign_in_method"
    default_message = "This is the last way to sign in to your account; it cannot be removed."


def error_body(error: UserdbError) -> dict[str, Any]:
    """The JSON body every error reply carries."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return {"error": body}


def to_http_response(error: UserdbError, headers: dict[str, str] | None = None) -> Response:
    """The HTTP reply for a domain error (the one place statuses are chosen)."""
    reply_headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    reply_headers.update(headers or {})
    if error.retry_after is not None:
        reply_headers["Retry-After"] = str(max(1, error.retry_after))
    return Response(
        body=json.dumps(error_body(error)), status_code=error.status, headers=reply_headers
    )


def to_websocket_message(error: UserdbError) -> dict[str, Any]:
    """The WebSocket `error` message for a domain error (DESIGN §5)."""
    return {"type": "error", "code": error.code, "message": error.message}
