"""/notes: the caller's notes (list, create, read, update, delete)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.headers import etag, idempotency_key, if_match_version
from chalicelib.api.http import (
    ApiBlueprint,
    authenticate,
    json_response,
    no_content,
    parse_body,
    parse_doc_id,
    parse_query,
)
from chalicelib.api.operations import (
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LOCATION,
    TENANT_ERRORS,
    TENANT_WRITE_ERRORS,
    Operation,
    Reply,
)
from chalicelib.errors import (
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    InvalidCursorError,
    NoteExistsError,
    NotFoundError,
    TenantStorageFullError,
    VersionMismatchError,
)
from chalicelib.models.documents import DocId
from chalicelib.models.notes import (
    CreateNoteRequest,
    ListNotesQuery,
    Note,
    NoteResponse,
    NotesPage,
    UpdateNoteRequest,
)
from chalicelib.services import get_services

notes_routes = ApiBlueprint(__name__)

_WRITE_ERRORS = (*TENANT_WRITE_ERRORS, TenantStorageFullError)


def _note_reply(note: Note, status: int = 200) -> Response:
    headers = {"ETag": etag(note.version), "Cache-Control": "no-store"}
    if status == 201:
        headers["Location"] = f"notes/{note.id}"
    return json_response(NoteResponse(note=note), status=status, headers=headers)


@notes_routes.route(
    "/notes",
    methods=["GET"],
    operation=Operation(
        summary="List the caller's live notes, by id, a page at a time",
        query=ListNotesQuery,
        replies={200: Reply(NotesPage, "A page; `cursor` continues it, null on the last page.")},
        errors=(InvalidCursorError, *TENANT_ERRORS),
    ),
)
def list_notes() -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    query = parse_query(request, ListNotesQuery)
    page = get_services().notes.list(session.user_id, query)
    return json_response(page, headers={"Cache-Control": "no-store"})


@notes_routes.route(
    "/notes",
    methods=["POST"],
    operation=Operation(
        summary="Create a note",
        body=CreateNoteRequest,
        headers=(IDEMPOTENCY_KEY,),
        replies={201: Reply(NoteResponse, "The note, as stored.", (ETAG, LOCATION))},
        errors=(
            NoteExistsError,
            IdempotencyKeyReusedError,
            IdempotencyInProgressError,
            *_WRITE_ERRORS,
        ),
        description="Text is at most 64 KiB of UTF-8 (413 beyond).",
    ),
)
def create_note() -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    body = parse_body(request, CreateNoteRequest)
    note = get_services().notes.create(
        session.user_id, body, idempotency_key(request), request.lambda_context
    )
    return _note_reply(note, status=201)


@notes_routes.route(
    "/notes/{note_id}",
    methods=["GET"],
    operation=Operation(
        summary="Read a note",
        path={"note_id": DocId},
        replies={200: Reply(NoteResponse, "The live note.", (ETAG,))},
        errors=(NotFoundError, *TENANT_ERRORS),
    ),
)
def get_note(note_id: str) -> Response:
    session = authenticate(notes_routes.current_request)
    return _note_reply(get_services().notes.get(session.user_id, parse_doc_id(note_id)))


@notes_routes.route(
    "/notes/{note_id}",
    methods=["PUT", "PATCH"],
    operation=Operation(
        summary="Replace a note's text",
        path={"note_id": DocId},
        body=UpdateNoteRequest,
        headers=(IF_MATCH,),
        replies={200: Reply(NoteResponse, "The note, as stored.", (ETAG,))},
        errors=(NotFoundError, VersionMismatchError, *_WRITE_ERRORS),
    ),
)
def update_note(note_id: str) -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    target = parse_doc_id(note_id)
    body = parse_body(request, UpdateNoteRequest)
    note = get_services().notes.update(session.user_id, target, body, if_match_version(request))
    return _note_reply(note)


@notes_routes.route(
    "/notes/{note_id}",
    methods=["DELETE"],
    operation=Operation(
        summary="Delete a note (a tombstone tells other clients)",
        path={"note_id": DocId},
        headers=(IF_MATCH,),
        replies={204: Reply(description="Deleted.")},
        errors=(NotFoundError, VersionMismatchError, *TENANT_WRITE_ERRORS),
    ),
)
def delete_note(note_id: str) -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    target = parse_doc_id(note_id)
    get_services().notes.delete(session.user_id, target, if_match_version(request))
    return no_content()
