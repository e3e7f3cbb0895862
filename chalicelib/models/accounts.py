"""Accounts and sessions: domain types and their REST requests and responses."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

import idna
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    UrlConstraints,
)

from chalicelib.models.base import RequestModel, ResponseModel
from chalicelib.models.identities import IdentityOut

EMAIL_MAX = 254
PASSWORD_MIN, PASSWORD_MAX = 8, 128
NAME_MAX = 100
IMAGE_URL_MAX = 2048


def normalise_email(email: str) -> str:
    """Emails compare after NFKC (a full-width d, U+FF44, is a d), case-insensitively and
    without surrounding spaces."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def _compatibility_form(value: object) -> object:
    # Before email-validator, which normalises to NFC only: look-alikes must not pass as new.
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


def _idna_domain(email: str) -> str:
    """Refuse a domain that is still not ASCII after NFKC unless it is valid IDNA (UTS 46,
    with the `idna` package, as email-validator itself uses)."""
    domain = email.rpartition("@")[2]
    if not domain.isascii():
        try:
            idna.encode(domain, uts46=True)
        except idna.IDNAError:
            raise ValueError("the domain is not a valid internationalised domain name") from None
    return email


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else f"\\{c}" for c in word)


# email-validator refuses special-use domains (RFC 6761) such as `x@host.test`; the schema
# says so with its own list (a pattern for documents only: Rust regexes have no look-ahead).
NOT_SPECIAL_USE_DOMAIN = "(?![^@]*@(?:.*\\.)?(?:{})$)".format(
    "|".join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)
)
Email = Annotated[
    EmailStr,
    BeforeValidator(_compatibility_form),
    Field(max_length=EMAIL_MAX, json_schema_extra={"pattern": f"^{NOT_SPECIAL_USE_DOMAIN}"}),
    AfterValidator(normalise_email),
    AfterValidator(_idna_domain),
]
Password = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
# A name is stripped, then must not be empty: the schema says "has a character that is not
# whitespace", listing the characters pydantic strips (Unicode's White_Space, not Python's
# `str.isspace`, which adds U+001C-U+001F), found by asking pydantic itself.
_strip = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True)]).validate_python
STRIPPED = "".join(chr(c) for c in range(0x3001) if chr(c).isspace() and not _strip(chr(c)))
HAS_NON_WHITESPACE = "[^{}]".format("".join(f"\\u{ord(c):04x}" for c in STRIPPED))
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    Field(json_schema_extra={"pattern": HAS_NON_WHITESPACE}),
]
# The limit is on what the client sends (Field(max_length) would count the normalised URL).
ImageUrl = Annotated[HttpUrl, UrlConstraints(max_length=IMAGE_URL_MAX)]


class Account(ResponseModel):
    """A user. `id` is also the tenant id of their data."""

    id: str
    email: str | None
    email_verified: bool = False
    name: str
    image: str | None = None
    role: Literal["user", "admin"] = "user"
    created: int
    updated: int


class Session(ResponseModel):
    """A signed-in session. Times are epoch seconds; the token itself is never kept."""

    id: str
    token_hash: str
    user_id: str
    created: int
    expires: int
    renewed: int
    last_seen: int
    ip: str | None = None
    user_agent: str | None = None


class SignupRequest(RequestModel):
    email: Email
    password: Password
    name: Name


class LoginRequest(RequestModel):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
    # The device token of an earlier sign-in to this email, for clients without cookies.
    device_token: Annotated[str, Field(min_length=1, max_length=256)] | None = None


class UpdateProfileRequest(RequestModel):
    name: Name | None = None
    image: ImageUrl | None = None


class UserOut(ResponseModel):
    id: str
    email: str | None
    name: str
    image: str | None
    role: str
    created: int
    updated: int

    @classmethod
    def of(cls, account: Account) -> UserOut:
        return cls.model_validate(account.model_dump(exclude={"email_verified"}))


class SessionOut(ResponseModel):
    id: str
    created: int
    expires: int
    last_seen: int
    ip: str | None
    user_agent: str | None
    current: bool

    @classmethod
    def of(cls, session: Session, current_id: str) -> SessionOut:
        # Sessions are kept in epoch seconds (TTL needs them); the API speaks epoch ms.
        return cls(
            id=session.id,
            created=session.created * 1000,
            expires=session.expires * 1000,
            last_seen=session.last_seen * 1000,
            ip=session.ip,
            user_agent=session.user_agent,
            current=session.id == current_id,
        )


class AuthResponse(ResponseModel):
    user: UserOut
    token: str
    # This device's token for later sign-ins to this email (also the `userdb_device` cookie).
    device_token: str | None = None


class ConnectTicketResponse(ResponseModel):
    """A single-use WebSocket connect ticket: `?ticket=` within 60 s (epoch ms `expires`)."""

    ticket: str
    expires: int


class SessionResponse(ResponseModel):
    user: UserOut
    session: SessionOut


class SessionsResponse(ResponseModel):
    sessions: list[SessionOut]


class MeResponse(ResponseModel):
    user: UserOut
    # The OAuth / OpenID Connect identities that sign in to this account.
    identities: list[IdentityOut] = []
