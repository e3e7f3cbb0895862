"""REST access to documents: one collection's (`client.collection(name)`) and the notes API
(`client.notes`). Writes show at once in the client's live subscription, if one runs."""

from __future__ import annotations

import builtins
import json
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from userdb.models import Doc, DocsPage, Note, NotesPage

if TYPE_CHECKING:
    from userdb.client import Client


def version_header(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{version}"'}


def write_headers(if_match: int | None, idempotency_key: str | None) -> dict[str, str]:
    """If-Match when given, and always an Idempotency-Key (a fresh one unless given), so a
    retried call never writes twice."""
    return {**version_header(if_match), "Idempotency-Key": idempotency_key or str(uuid.uuid4())}


class CollectionApi:
    """One collection's documents over REST (`client.collection("todos")`).

    Writes send an Idempotency-Key (a fresh one unless given) and show at once in
    the live subscription's local documents, if one runs.
    """

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name
        self._path = f"/collections/{quote(name)}/docs"

    def list(
        self,
        where: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DocsPage:
        """One page of documents (by id) whose top-level fields equal `where`'s values."""
        query: dict[str, str | int | None] = {"limit": limit, "cursor": cursor}
        if where:
            query["where"] = json.dumps(dict(where), separators=(",", ":"))
        body = self._client._call("GET", self._path, query=query)
        return DocsPage(
            docs=[Doc.from_json(item) for item in body.get("docs") or []],
            cursor=body.get("cursor"),
            version=int(body.get("version") or 0),
        )

    def all(self, where: Mapping[str, Any] | None = None) -> builtins.list[Doc]:
        """Every matching document, following the pages."""
        docs: builtins.list[Doc] = []
        cursor: str | None = None
        while True:
            page = self.list(where, limit=100, cursor=cursor)
            docs.extend(page.docs)
            if not page.cursor:
                return docs
            cursor = page.cursor

    def get(self, doc_id: str) -> Doc:
        """One document; NotFoundError if it does not exist (or was deleted)."""
        return Doc.from_json(self._client._call("GET", self._doc_path(doc_id))["doc"])

    def create(
        self,
        data: Mapping[str, Any],
        *,
        id: str | None = None,  # the API's field name
        idempotency_key: str | None = None,
    ) -> Doc:
        """Create a document (`id`: the client's, 1 to 128 of [A-Za-z0-9_-]; else the server's)."""
        body: dict[str, Any] = {"data": dict(data)}
        if id is not None:
            body["id"] = id
        headers = write_headers(None, idempotency_key)
        return self._written(self._client._call("POST", self._path, body=body, headers=headers))

    def put(
        self,
        doc_id: str,
        data: Mapping[str, Any],
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> Doc:
        """Replace the document's data (creating it if absent); with `if_match`,
        VersionMismatchError unless it is at that version."""
        reply = self._client._call(
            "PUT",
            self._doc_path(doc_id),
            body={"data": dict(data)},
            headers=write_headers(if_match, idempotency_key),
        )
        return self._written(reply)

    def patch(
        self,
        doc_id: str,
        patch: Mapping[str, Any],
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> Doc:
        """Change some fields (JSON Merge Patch: None removes a field, objects merge)."""
        reply = self._client._call(
            "PATCH",
            self._doc_path(doc_id),
            body=dict(patch),
            headers=write_headers(if_match, idempotency_key),
        )
        return self._written(reply)

    def delete(
        self, doc_id: str, *, if_match: int | None = None, idempotency_key: str | None = None
    ) -> None:
        """Delete a document. With `if_match`, VersionMismatchError if it changed since."""
        self._client._call(
            "DELETE", self._doc_path(doc_id), headers=write_headers(if_match, idempotency_key)
        )
        self._client._deleted((self.name, doc_id))

    def cached(self) -> builtins.list[Doc]:
        """This collection's documents as last synced (live subscription or state folder)."""
        return self._client.cached_docs(self.name)

    def _doc_path(self, doc_id: str) -> str:
        return f"{self._path}/{quote(doc_id)}"

    def _written(self, reply: dict[str, Any]) -> Doc:
        doc = Doc.from_json(reply["doc"])
        self._client._written(doc)
        return doc


class NotesApi:
    """The signed-in user's notes over REST (`client.notes`)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, limit: int | None = None, cursor: str | None = None) -> NotesPage:
        """One page of notes (by id); pass the page's `cursor` back for the next one."""
        body = self._client._call("GET", "/notes", query={"limit": limit, "cursor": cursor})
        return NotesPage(
            notes=[Note.from_json(item) for item in body.get("notes") or []],
            cursor=body.get("cursor"),
            version=int(body.get("version") or 0),
        )

    def all(self) -> builtins.list[Note]:
        """Every note, following the pages."""
        notes: builtins.list[Note] = []
        cursor: str | None = None
        while True:
            page = self.list(limit=100, cursor=cursor)
            notes.extend(page.notes)
            if not page.cursor:
                return notes
            cursor = page.cursor

    def create(
        self,
        text: str,
        *,
        id: str | None = None,  # the API's field name
        idempotency_key: str | None = None,
    ) -> Note:
        """Create a note (`id`: a client-chosen `note_` + 16 of [a-z0-9]).

        An Idempotency-Key is always sent, a fresh one unless given: retrying a
        call with the same key never creates the note twice.
        """
        body: dict[str, str] = {"text": text}
        if id is not None:
            body["id"] = id
        key = idempotency_key or str(uuid.uuid4())
        reply = self._client._call("POST", "/notes", body=body, headers={"Idempotency-Key": key})
        note = Note.from_json(reply["note"])
        self._client._written(note.to_doc())
        return note

    def get(self, note_id: str) -> Note:
        """One note; NotFoundError if it does not exist (or was deleted)."""
        return Note.from_json(self._client._call("GET", f"/notes/{quote(note_id)}")["note"])

    def update(self, note_id: str, text: str, *, if_match: int | None = None) -> Note:
        """Replace a note's text. With `if_match`, VersionMismatchError if it changed since."""
        reply = self._client._call(
            "PUT",
            f"/notes/{quote(note_id)}",
            body={"text": text},
            headers=version_header(if_match),
        )
        note = Note.from_json(reply["note"])
        self._client._written(note.to_doc())
        return note

    def delete(self, note_id: str, *, if_match: int | None = None) -> None:
        """Delete a note. With `if_match`, VersionMismatchError if it changed since."""
        self._client._call("DELETE", f"/notes/{quote(note_id)}", headers=version_header(if_match))
        self._client._deleted(("notes", note_id))


def quote(note_id: str) -> str:
    return urllib.parse.quote(note_id, safe="")
