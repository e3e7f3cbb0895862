"""The WebSocket protocol of DESIGN §5: client actions and server messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from chalicelib.models.base import RequestModel, ResponseModel

Version = Annotated[int, Field(ge=0, le=2**53)]


class HelloAction(RequestModel):
    action: Literal["hello"]
    since: Version | None = None


class AckAction(RequestModel):
    action: Literal["ack"]
    version: Version


class PingAction(RequestModel):
    action: Literal["ping"]
    version: Version | None = None


class SyncAction(RequestModel):
    action: Literal["sync"]
    since: Version | None = None


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
