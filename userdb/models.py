"""What the userdb API returns, as plain frozen dataclasses (no server code is shared)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _int(value: Any, default: int = 0) -> int:
    return int(value) if value is not None else default


NOTES = "notes"
DocKey = tuple[str, str]  # (collection, id)


@dataclass(frozen=True)
class Doc:
    """A live document of a collection: `data` is its JSON object; times in epoch ms;
    `version` is the tenant's version at its last write."""

    collection: str
    id: str
    data: dict[str, Any]
    version: int
    created: int = 0
    updated: int = 0

    @property
    def key(self) -> DocKey:
        """(collection, id): what names the document in the local replica."""
        return (self.collection, self.id)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Doc:
        """A document from its JSON object (as REST and the WebSocket send it).

        An item without `collection` (a server from before collections) is a note.
        """
        if "collection" not in data:
            return cls(
                NOTES,
                str(data["id"]),
                {"text": str(data.get("text", ""))},
                _int(data.get("version")),
                _int(data.get("created")),
                _int(data.get("updated")),
            )
        body = data.get("data")
        if not isinstance(body, dict):
            raise TypeError("a document's data is a JSON object")
        return cls(
            str(data["collection"]),
            str(data["id"]),
            body,
            _int(data.get("version")),
            _int(data.get("created")),
            _int(data.get("updated")),
        )

    def to_json(self) -> dict[str, Any]:
        """The document as the JSON object the API uses."""
        return {
            "collection": self.collection,
            "id": self.id,
            "data": self.data,
            "version": self.version,
            "created": self.created,
            "updated": self.updated,
        }


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

    @classmethod
    def from_doc(cls, doc: Doc) -> Note:
        """A document of the notes collection as a note."""
        text = doc.data.get("text")
        return cls(
            doc.id, text if isinstance(text, str) else "", doc.created, doc.updated, doc.version
        )

    def to_doc(self) -> Doc:
        """The note as the document of the notes collection it is."""
        return Doc(NOTES, self.id, {"text": self.text}, self.version, self.created, self.updated)

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
class DocsPage:
    """One page of a collection's documents; pass `cursor` back for the next (None: the last)."""

    docs: list[Doc]
    cursor: str | None
    version: int


@dataclass(frozen=True)
class Deletion:
    """A document deleted at `version` (a tombstone among changes and batch results)."""

    id: str
    version: int
    collection: str = NOTES

    @property
    def key(self) -> DocKey:
        return (self.collection, self.id)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deletion:
        return cls(str(data["id"]), int(data["version"]), str(data.get("collection", NOTES)))


@dataclass(frozen=True)
class BatchResult:
    """`POST /batch`: each op's result in order, and the tenant's version after them."""

    results: list[Doc | Deletion]
    version: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchResult:
        results: list[Doc | Deletion] = [
            Deletion.from_json(item) if item.get("deleted") else Doc.from_json(item)
            for item in data.get("results") or []
        ]
        return cls(results, int(data.get("version") or 0))


@dataclass(frozen=True)
class Changes:
    """A `changes` body (DESIGN §5): everything in versions (from_, to], or a snapshot.

    Applies when the client's cursor >= `from_` (or `snapshot`: replace everything);
    then the cursor becomes `to`. `more` means the server stopped early.
    """

    from_: int
    to: int
    snapshot: bool
    docs: list[Doc] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    more: bool = False
    cursor: str | None = None

    @property
    def notes(self) -> list[Note]:
        """The documents of the notes collection, as notes."""
        return [Note.from_doc(doc) for doc in self.docs if doc.collection == NOTES]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Changes:
        """Parse a `changes` object; raises KeyError/ValueError/TypeError if malformed."""
        docs: list[Doc] = []
        deletions: list[Deletion] = []
        for item in data.get("items") or []:
            if item.get("deleted"):
                deletions.append(Deletion.from_json(item))
            else:
                docs.append(Doc.from_json(item))
        return cls(
            from_=int(data["from"]),
            to=int(data["to"]),
            snapshot=bool(data.get("snapshot", False)),
            docs=docs,
            deletions=deletions,
            more=bool(data.get("more", False)),
            cursor=data.get("cursor"),
        )
