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
from chalicelib.errors import ValidationError
from chalicelib.models.notes import (
    CreateNoteRequest,
    ListNotesQuery,
    Note,
    NoteId,
    NoteResponse,
    UpdateNoteRequest,
)
from chalicelib.services import get_services

notes_routes = ApiBlueprint(__name__)

_NOTE_ID = pydantic.TypeAdapter(NoteId)
# RFC 9110 entity-tags are quoted; a bare version number is accepted as well.
_IF_MATCH = re.compile(r'^\s*(?:"(\d{1,15})"|(\d{1,15}))\s*$')
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _header_error(header: str, message: str) -> ValidationError:
    return ValidationError(details=[{"field": header, "message": message, "type": "header"}])


def note_id(raw: str) -> str:
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
    if match is None:
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


@notes_routes.route("/notes", methods=["GET"])
def list_notes() -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    query = parse_query(request, ListNotesQuery)
    page = get_services().notes.list(session.user_id, query)
    return json_response(page, headers={"Cache-Control": "no-store"})


@notes_routes.route("/notes", methods=["POST"])
def create_note() -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    body = parse_body(request, CreateNoteRequest)
    note = get_services().notes.create(
        session.user_id, body, idempotency_key(request), request.lambda_context
    )
    return _note_reply(note, status=201)


@notes_routes.route("/notes/{raw_id}", methods=["GET"])
def get_note(raw_id: str) -> Response:
    session = authenticate(notes_routes.current_request)
    return _note_reply(get_services().notes.get(session.user_id, note_id(raw_id)))


@notes_routes.route("/notes/{raw_id}", methods=["PUT", "PATCH"])
def update_note(raw_id: str) -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    target = note_id(raw_id)
    body = parse_body(request, UpdateNoteRequest)
    note = get_services().notes.update(session.user_id, target, body, if_match_version(request))
    return _note_reply(note)


@notes_routes.route("/notes/{raw_id}", methods=["DELETE"])
def delete_note(raw_id: str) -> Response:
    request = notes_routes.current_request
    session = authenticate(request)
    target = note_id(raw_id)
    get_services().notes.delete(session.user_id, target, if_match_version(request))
    return no_content()
