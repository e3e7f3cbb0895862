"""/notes: the caller's notes (list, create, read, update, delete)."""

from __future__ import annotations

import re

import pydantic
from chalice.app import Request, Response

from chalicelib.api.http import (
    ApiBlueprint,
    authenticate,
    json_response,
    no_content,
    parse_body,
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
    ValidationError,
    VersionMismatchError,
)
from chalicelib.models.notes import (
    IDEMPOTENCY_KEY_PATTERN,
    IF_MATCH_PATTERN,
    CreateNoteRequest,
    ListNotesQuery,
    Note,
    NoteId,
    NoteResponse,
    NotesPage,
    UpdateNoteRequest,
)
from chalicelib.services import get_services

notes_routes = ApiBlueprint(__name__)

_NOTE_ID = pydantic.TypeAdapter(NoteId)
_IF_MATCH = re.compile(IF_MATCH_PATTERN)
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_WRITE_ERRORS = (*TENANT_WRITE_ERRORS, TenantStorageFullError)


def _header_error(header: str, message: str) -> ValidationError:
    return ValidationError(details=[{"field": header, "message": message, "type": "header"}])


def parse_note_id(raw: str) -> str:
    """The path's note id, or 400 with the field named."""
    try:
        return _NOTE_ID.validate_python(raw)
    except pydantic.ValidationError:
        raise ValidationError(
            details=[{"field": "id", "message": "not a note id", "type": "string_pattern"}]
        ) from None


def if_match_version(request: Request) -> int | None:
    """`If-Match: "7"` (or `7`): the version the client last saw; `*` or absent: any."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _IF_MATCH.match(header)
    if match is None or not (match.group(1) or match.group(2)):
        raise _header_error("If-Match", 'expected a note version, e.g. "7"')
    return int(match.group(1) or match.group(2))


def idempotency_key(request: Request) -> str | None:
    header = request.headers.get("idempotency-key")
    if header is None:
        return None
    if not _IDEMPOTENCY_KEY.match(header):
        raise _header_error("Idempotency-Key", "1 to 255 visible ASCII characters")
    return str(header)


def _note_reply(note: Note, status: int = 200) -> Response:
    headers = {"ETag": f'"{note.version}"', "Cache-Control": "no-store"}
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
        path={"note_id": NoteId},
        replies={200: Reply(NoteResponse, "The live note.", (ETAG,))},
        errors=(NotFoundError, *TENANT_ERRORS),
    ),
)
def get_note(note_id: str) -> Response:
    session = authenticate(notes_routes.current_request)
    return _note_reply(get_services().notes.get(session.user_id, parse_note_id(note_id)))


@notes_routes.route(
    "/notes/{note_id}",
    methods=["PUT", "PATCH"],
    operation=Operation(
        summary="Replace a note's text",
        path={"note_id": NoteId},
        body=UpdateNoteRequest,
        headers=(IF_MATCH,),
        replies={200: Reply(NoteResponse, "The note, as stored.", (ETAG,))},
        errors=(NotFoundError, VersionMismatchError, *_WRITE_ERRORS),
    ),
)
def update_note(note_id: str) -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    target = parse_note_id(note_id)
    body = parse_body(request, UpdateNoteRequest)
    note = get_services().notes.update(session.user_id, target, body, if_match_version(request))
    return _note_reply(note)


@notes_routes.route(
    "/notes/{note_id}",
    methods=["DELETE"],
    operation=Operation(
        summary="Delete a note (a tombstone tells other clients)",
        path={"note_id": NoteId},
        headers=(IF_MATCH,),
        replies={204: Reply(description="Deleted.")},
        errors=(NotFoundError, VersionMismatchError, *TENANT_WRITE_ERRORS),
    ),
)
def delete_note(note_id: str) -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    target = parse_note_id(note_id)
    get_services().notes.delete(session.user_id, target, if_match_version(request))
    return no_content()
