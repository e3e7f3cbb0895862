"""Sign-in with OAuth: linked identities, providers, and the query strings of the flow."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.models.base import ResponseModel

# Provider ids are path segments; subjects are at most 255 ASCII characters (OIDC Core §2).
PROVIDER_ID_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
SUBJECT_MAX = 255
QUERY_VALUE_MAX = 2048

QueryValue = Annotated[str, Field(max_length=QUERY_VALUE_MAX)]


class Identity(ResponseModel):
    """An account at a provider, linked to one of ours: (provider, subject) -> user_id."""

    provider: str
    subject: str
    user_id: str
    email: str | None = None
    email_verified: bool = False
    created: int

    @property
    def key(self) -> str:
        """How the account item refers to this identity."""
        return identity_key(self.provider, self.subject)


def identity_key(provider: str, subject: str) -> str:
    return f"{provider}#{subject}"


class ProviderIdentity(ResponseModel):
    """What a provider vouched for at the end of a sign-in (after every check passed)."""

    provider: str
    subject: Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX)]
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    picture: str | None = None

    def for_user(self, user_id: str, created: int) -> Identity:
        """This identity, linked to `user_id` at `created` (epoch ms)."""
        return Identity(
            provider=self.provider,
            subject=self.subject,
            user_id=user_id,
            email=self.email,
            email_verified=self.email_verified,
            created=created,
        )


class IdentityOut(ResponseModel):
    provider: str
    subject: str
    email: str | None
    created: int

    @classmethod
    def of(cls, identity: Identity) -> IdentityOut:
        return cls(
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email,
            created=identity.created,
        )


class ProviderOut(ResponseModel):
    """A configured provider, as the web client shows it: a "Sign in with {name}" button."""

    id: str
    name: str
    start_url: str


class ProvidersResponse(ResponseModel):
    providers: list[ProviderOut]


class _BrowserQuery(BaseModel):
    """A query string the browser brings; providers add parameters of their own (ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class StartQuery(_BrowserQuery):
    redirect: QueryValue | None = None
    # Connect this provider to the signed-in account instead of signing in.
    link: bool = False


class CallbackQuery(_BrowserQuery):
    code: QueryValue | None = None
    state: QueryValue | None = None
    error: QueryValue | None = None
    error_description: QueryValue | None = None


class UnlinkQuery(_BrowserQuery):
    subject: Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX)] | None = None
