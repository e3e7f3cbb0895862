"""`/notes`: the notes API as it always was, over the `notes` collection (a note is the
document `{"text": ...}`), so a note written either way is readable both ways."""

from __future__ import annotations

from chalicelib.dal.idempotency import RemainingTime
from chalicelib.dal.tenant_store import NOTES_COLLECTION
from chalicelib.errors import (
    DocExistsError,
    NoteExistsError,
    PayloadTooLargeError,
    ValidationError,
)
from chalicelib.logic.documents import DocumentService
from chalicelib.models.documents import Doc, ListDocsQuery
from chalicelib.models.notes import (
    MAX_NOTE_TEXT_BYTES,
    CreateNoteRequest,
    ListNotesQuery,
    Note,
    NotesPage,
    UpdateNoteRequest,
)


def check_text_size(text: str) -> None:
    """PayloadTooLargeError (413) above 64 KiB of UTF-8; ValidationError if not encodable."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError(
            details=[{"field": "text", "message": "Text is not valid Unicode.", "type": "unicode"}]
        ) from None
    if size > MAX_NOTE_TEXT_BYTES:
        raise PayloadTooLargeError(
            f"Note text is {size} bytes of UTF-8; the limit is {MAX_NOTE_TEXT_BYTES}."
        )


def note_of(doc: Doc) -> Note:
    """A document of the notes collection as a note."""
    text = doc.data.get("text")
    return Note(
        id=doc.id,
        text=text if isinstance(text, str) else "",
        created=doc.created,
        updated=doc.updated,
        version=doc.version,
    )


class NoteService:
    """The notes rules: the text limit notes always had (64 KiB of text, checked here, so
    the document limit does not apply on top), over the documents of `notes`."""

    def __init__(self, documents: DocumentService) -> None:
        self._documents = documents

    def list(self, tenant_id: str, query: ListNotesQuery) -> NotesPage:
        """Live notes in id order, `query.limit` at most, and the tenant's version."""
        page = self._documents.list_page(
            tenant_id, NOTES_COLLECTION, ListDocsQuery(limit=query.limit, cursor=query.cursor)
        )
        return NotesPage(
            notes=[note_of(doc) for doc in page.docs], cursor=page.cursor, version=page.version
        )

    def create(
        self,
        tenant_id: str,
        request: CreateNoteRequest,
        idempotency_key: str | None,
        lambda_context: RemainingTime | None = None,
    ) -> Note:
        """A new note (client id or `note_` + 16 random); DocExistsError if the id is live."""
        check_text_size(request.text)
        try:
            doc = self._documents.create(
                tenant_id,
                NOTES_COLLECTION,
                {"text": request.text},
                request.id,
                idempotency_key=idempotency_key,
                lambda_context=lambda_context,
                max_bytes=None,
            )
        except DocExistsError as error:
            # /notes has always answered `note_exists`.
            raise NoteExistsError(error.message) from None
        return note_of(doc)

    def get(self, tenant_id: str, note_id: str) -> Note:
        """The live note; NotFoundError for unknown ids and deleted notes alike."""
        return note_of(self._documents.get(tenant_id, NOTES_COLLECTION, note_id))

    def update(
        self, tenant_id: str, note_id: str, request: UpdateNoteRequest, if_version: int | None
    ) -> Note:
        """Replace the text of an existing note; VersionMismatchError (412) if `if_version`
        is given and stale; NotFoundError if there is no such note."""
        check_text_size(request.text)
        outcome = self._documents.put(
            tenant_id,
            NOTES_COLLECTION,
            note_id,
            {"text": request.text},
            if_version,
            create_missing=False,
            max_bytes=None,
        )
        return note_of(outcome.doc)

    def delete(self, tenant_id: str, note_id: str, if_version: int | None) -> int:
        """Leave a tombstone; returns its version."""
        return self._documents.delete(tenant_id, NOTES_COLLECTION, note_id, if_version).version
