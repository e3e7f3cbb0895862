"""What the userdb API returns, as plain frozen dataclasses (no server code is shared)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _int(value: Any, default: int = 0) -> int:
    return int(value) if value is not None else default


@dataclass(frozen=True)
class Note:
    """A live note: times in epoch ms; `version` is the tenant's version at its last write."""

    id: str
    text: str
    created: int
    updated: int
    version: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Note:
        """A note from its JSON object (as REST and the WebSocket send it)."""
        return cls(
            id=str(data["id"]),
            text=str(data.get("text", "")),
            created=_int(data.get("created")),
            updated=_int(data.get("updated")),
            version=_int(data.get("version")),
        )

    def to_json(self) -> dict[str, Any]:
        """The note as the JSON object the API uses."""
        return {
            "id": self.id,
            "text": self.text,
            "created": self.created,
            "updated": self.updated,
            "version": self.version,
        }


@dataclass(frozen=True)
class User:
    """A signed-in account."""

    id: str
    email: str | None
    name: str
    image: str | None = None
    role: str = "user"
    created: int = 0
    updated: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        """Parse from the API's JSON object."""
        return cls(
            id=str(data["id"]),
            email=data.get("email"),
            name=str(data.get("name", "")),
            image=data.get("image"),
            role=str(data.get("role", "user")),
            created=_int(data.get("created")),
            updated=_int(data.get("updated")),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object the API uses."""
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "image": self.image,
            "role": self.role,
            "created": self.created,
            "updated": self.updated,
        }


@dataclass(frozen=True)
class SessionInfo:
    """One session of the account (times in epoch ms); `current` marks the caller's own."""

    id: str
    created: int
    expires: int
    last_seen: int
    ip: str | None = None
    user_agent: str | None = None
    current: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionInfo:
        """Parse from the API's JSON object."""
        return cls(
            id=str(data["id"]),
            created=_int(data.get("created")),
            expires=_int(data.get("expires")),
            last_seen=_int(data.get("last_seen")),
            ip=data.get("ip"),
            user_agent=data.get("user_agent"),
            current=bool(data.get("current", False)),
        )


@dataclass(frozen=True)
class NotesPage:
    """One page of `GET /notes`; pass `cursor` back for the next page (None: the last page)."""

    notes: list[Note]
    cursor: str | None
    version: int


@dataclass(frozen=True)
class Deletion:
    """A note deleted at `version` (a tombstone among changes)."""

    id: str
    version: int


@dataclass(frozen=True)
class Changes:
    """A `changes` body (DESIGN §5): everything in versions (from_, to], or a snapshot.

    Applies when the client's cursor >= `from_` (or `snapshot`: replace everything);
    then the cursor becomes `to`. `more` means the server stopped early.
    """

    from_: int
    to: int
    snapshot: bool
    notes: list[Note] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    more: bool = False
    cursor: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Changes:
        """Parse a `changes` object; raises KeyError/ValueError/TypeError if malformed."""
        notes: list[Note] = []
        deletions: list[Deletion] = []
        for item in data.get("items") or []:
            if item.get("deleted"):
                deletions.append(Deletion(id=str(item["id"]), version=int(item["version"])))
            else:
                notes.append(Note.from_json(item))
        return cls(
            from_=int(data["from"]),
            to=int(data["to"]),
            snapshot=bool(data.get("snapshot", False)),
            notes=notes,
            deletions=deletions,
            more=bool(data.get("more", False)),
            cursor=data.get("cursor"),
        )
