"""What each REST route takes and answers, declared once beside the route.

`ApiBlueprint.route(..., operation=Operation(...))` records the declaration on
the view; `/openapi.json` is generated from the app's own routes and these
declarations (chalicelib/api/openapi_document.py), so a route cannot be served
without being described, and its path and methods come from Chalice itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import (
    MalformedJsonError,
    OriginMismatchError,
    PayloadTooLargeError,
    TenantBusyError,
    TenantNotReadyError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    UserdbError,
    ValidationError,
)
from chalicelib.models.notes import IdempotencyKey, IfMatch


@dataclass(frozen=True)
class RequestHeader:
    """A header a route reads; `schema` is a type pydantic can describe."""

    name: str
    schema: Any
    description: str


@dataclass(frozen=True)
class ResponseHeader:
    name: str
    description: str
    required: bool = True


@dataclass(frozen=True)
class Reply:
    """A success reply: its body (a type pydantic can describe; None: no body) and headers."""

    body: Any = None
    description: str = ""
    headers: tuple[ResponseHeader, ...] = ()


@dataclass(frozen=True)
class Operation:
    """One route's contract. Errors that follow from `auth`, `body`, `query`, `path`
    and `headers` are added by the document; `errors` lists those of the route's logic."""

    summary: str
    replies: Mapping[int, Reply]
    auth: bool = True
    body: Any = None
    query: Any = None
    path: Mapping[str, Any] = field(default_factory=dict)
    headers: tuple[RequestHeader, ...] = ()
    errors: tuple[type[UserdbError], ...] = ()
    description: str = ""
    # Browser routes: every outcome, errors included, is a redirect.
    redirects_errors: bool = False

    def all_errors(self) -> tuple[type[UserdbError], ...]:
        """Every error the route may answer, in a stable order."""
        if self.redirects_errors:
            return ()
        implied: list[type[UserdbError]] = []
        if self.auth:
            implied += [UnauthorizedError, OriginMismatchError]
        if self.body is not None:
            implied += [
                ValidationError,
                MalformedJsonError,
                PayloadTooLargeError,
                UnsupportedMediaTypeError,
            ]
        if self.query is not None or self.path or self.headers:
            implied.append(ValidationError)
        return tuple(dict.fromkeys([*implied, *self.errors]))


# ---- Shared parts of declarations ----

IDEMPOTENCY_KEY = RequestHeader(
    "Idempotency-Key",
    IdempotencyKey,
    "Repeating a request with the same key returns the first result instead of acting twice "
    "(same key with another body: 409 `idempotency_key_reused`).",
)
IF_MATCH = RequestHeader(
    "If-Match",
    IfMatch,
    'The note version the client last saw, e.g. `"7"` (the ETag); a newer note answers 412.',
)
ETAG = ResponseHeader("ETag", 'The note\'s version, quoted: `"7"`. Send it back as If-Match.')
LOCATION = ResponseHeader("Location", "Where the created note is, relative to /notes.")
REDIRECT = ResponseHeader("Location", "Where the browser goes next.")
SET_SESSION = ResponseHeader(
    "Set-Cookie",
    "The `userdb_session` cookie (HttpOnly, SameSite=Lax; Secure but locally) and the "
    "`userdb_device` cookie (HttpOnly, SameSite=Strict): this device's token for later "
    "sign-ins (docs/security.md).",
)
CLEAR_SESSION = ResponseHeader("Set-Cookie", "Clears the `userdb_session` cookie.")
RETRY_AFTER = ResponseHeader("Retry-After", "Seconds to wait before trying again.")

# Errors of every route that reads or writes the caller's data.
TENANT_ERRORS: tuple[type[UserdbError], ...] = (TenantNotReadyError,)
TENANT_WRITE_ERRORS: tuple[type[UserdbError], ...] = (TenantNotReadyError, TenantBusyError)


# ---- The record: view function -> declaration ----

_declared: dict[Callable[..., Any], Operation] = {}


def declare(view: Callable[..., Any], operation: Operation) -> None:
    _declared[view] = operation


def declared(view: Callable[..., Any]) -> Operation | None:
    """The declaration of a registered view, or None for a route registered without one."""
    return _declared.get(view)
