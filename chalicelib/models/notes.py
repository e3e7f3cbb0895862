"""Notes (`/notes`) and sync (`/sync`): REST requests and responses, the `changes` body."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from chalicelib.models.base import RequestModel, ResponseModel
from chalicelib.models.protocol import Changes, Version

NOTE_ID_PATTERN = r"^note_[a-z0-9]{16}$"
# DESIGN §3: note text is at most 64 KiB once encoded as UTF-8.
MAX_NOTE_TEXT_BYTES = 64 * 1024
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 50, 100
SYNC_LIMIT_DEFAULT, SYNC_LIMIT_MAX = 500, 1000
CURSOR_MAX = 512

NoteId = Annotated[str, Field(pattern=NOTE_ID_PATTERN, description="`note_` + 16 of [a-z0-9]")]
# Any document of the notes collection is a note, whatever its id (DocId).

# Request headers of the notes routes (api/notes.py checks them with these same patterns).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
# RFC 9110 entity-tags are quoted; a bare version number is accepted as well, `*` means any.
IF_MATCH_PATTERN = r'^\s*(?:\*|"(\d{1,15})"|(\d{1,15}))\s*$'
IdempotencyKey = Annotated[
    str, Field(pattern=IDEMPOTENCY_KEY_PATTERN, description="1 to 255 visible ASCII characters")
]
IfMatch = Annotated[str, Field(pattern=IF_MATCH_PATTERN, description='`"7"`, `7` or `*`')]


class Note(ResponseModel):
    """A live note. Times are epoch ms; `version` is the tenant's version at its last write."""

    id: str
    text: str
    created: int
    updated: int
    version: int


class CreateNoteRequest(RequestModel):
    text: str
    id: NoteId | None = None


class UpdateNoteRequest(RequestModel):
    text: str


class ListNotesQuery(RequestModel):
    limit: int = Field(default=LIST_LIMIT_DEFAULT, ge=1, le=LIST_LIMIT_MAX)
    cursor: str | None = Field(default=None, min_length=1, max_length=CURSOR_MAX)


class SyncQuery(RequestModel):
    """`since`: the client's cursor (absent: it has nothing); `cursor`: continue a `more` answer."""

    since: Version | None = None
    limit: int = Field(default=SYNC_LIMIT_DEFAULT, ge=1, le=SYNC_LIMIT_MAX)
    cursor: str | None = Field(default=None, min_length=1, max_length=CURSOR_MAX)
    collections: str | None = Field(
        default=None,
        min_length=1,
        max_length=6400,
        description="Follow only these collections: names separated by commas (default: all).",
    )

    @model_validator(mode="after")
    def _since_or_cursor(self) -> SyncQuery:
        if self.since is not None and self.cursor is not None:
            raise ValueError("give `since` or `cursor`, not both")
        return self


class NoteResponse(ResponseModel):
    note: Note


class NotesPage(ResponseModel):
    """One page of live notes by id; `version` is the tenant's version read before the page."""

    notes: list[Note]
    cursor: str | None
    version: int


class SyncResponse(Changes):
    """REST `/sync`: the `changes` message body (DESIGN §5), with `more` always present and,
    when `more`, the cursor that continues it."""

    model_config = ConfigDict(serialize_by_alias=True)

    more: bool = False
    cursor: str | None = None
