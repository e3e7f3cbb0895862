"""The WebSocket protocol of DESIGN §5: client actions and server messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from chalicelib.models.base import RequestModel, ResponseModel

Version = Annotated[int, Field(ge=0, le=2**53)]
COLLECTION_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
CollectionName = Annotated[
    str, Field(pattern=COLLECTION_NAME_PATTERN, description="[a-z][a-z0-9_]{0,62}")
]
# At most this many collections named in one `collections` list.
MAX_FOLLOWED = 100
Followed = Annotated[list[CollectionName], Field(min_length=1, max_length=MAX_FOLLOWED)]


class HelloAction(RequestModel):
    """Start (or resume) live sync; `collections`: follow only these (None: all)."""

    action: Literal["hello"]
    since: Version | None = None
    collections: Followed | None = None


class AckAction(RequestModel):
    action: Literal["ack"]
    version: Version


class PingAction(RequestModel):
    action: Literal["ping"]
    version: Version | None = None


class SyncAction(RequestModel):
    """An explicit pull; `collections` defaults to what the connection follows."""

    action: Literal["sync"]
    since: Version | None = None
    collections: Followed | None = None


ClientAction = Annotated[
    HelloAction | AckAction | PingAction | SyncAction, Field(discriminator="action")
]
client_action = TypeAdapter(ClientAction)


class Welcome(ResponseModel):
    type: Literal["welcome"] = "welcome"
    clientId: str  # noqa: N815 - protocol field names are camelCase
    connectionId: str  # noqa: N815
    version: int


class Pong(ResponseModel):
    type: Literal["pong"] = "pong"
    version: int


class Changes(ResponseModel):
    """Applies when the client's cursor >= `from_` (or `snapshot`); then cursor := `to`."""

    type: Literal["changes"] = "changes"
    from_: int = Field(alias="from")
    to: int
    snapshot: bool = False
    items: list[dict[str, Any]]
    more: bool | None = None

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True)


def encode(message: ResponseModel) -> bytes:
    """A server message as compact UTF-8 JSON, as it goes over the wire."""
    return message.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8")
