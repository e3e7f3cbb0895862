"""Rules about documents that need no I/O: encoding, limits, merge patches, filters, refusals."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.dal.tenant_store import (
    NOTES_COLLECTION,
    Absent,
    DocWrite,
    StoredDoc,
)
from chalicelib.errors import (
    DocExistsError,
    NotFoundError,
    PayloadTooLargeError,
    UserdbError,
    ValidationError,
    VersionMismatchError,
)
from chalicelib.logic.tokens import derived_id, new_id
from chalicelib.models.documents import MAX_DOC_DATA_BYTES, DeletedDoc, Doc

# Ids the server gives: notes keep the form they always had.
_ID_PREFIX = {NOTES_COLLECTION: "note"}
DEFAULT_ID_PREFIX = "doc"


def encode_data(
    data: Mapping[str, Any], at: str, max_bytes: int | None = MAX_DOC_DATA_BYTES
) -> str:
    """`data` as the compact JSON text that is stored; ValidationError for numbers JSON cannot
    carry (NaN, infinities), PayloadTooLargeError (413) over `max_bytes` of UTF-8."""
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise ValidationError(
            details=[{"field": at, "message": "numbers must be finite", "type": "number"}]
        ) from None
    if max_bytes is not None:
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            raise PayloadTooLargeError(
                f"The document's data is {size} bytes of JSON; the limit is {max_bytes}."
            )
    return text


def decode_data(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: `patch`'s members replace `target`'s, recursively; a null
    member removes; anything but an object replaces the target whole."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: numbers by value (1 == 1.0), but a boolean is no number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def matches(data: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """True when each top-level field named in `where` is present and equal in `data`."""
    return all(name in data and json_equal(data[name], value) for name, value in where.items())


def parse_where(raw: str | None) -> dict[str, Any]:
    """The `where` query parameter: a JSON object of top-level field -> value."""
    if raw is None:
        return {}
    try:
        where = json.loads(raw)
    except ValueError:
        where = None
    if not isinstance(where, dict):
        raise ValidationError(
            details=[
                {
                    "field": "where",
                    "message": 'a JSON object of top-level fields, e.g. {"done":false}',
                    "type": "json_object",
                }
            ]
        )
    return where


def server_id(collection: str) -> str:
    """A fresh id the server gives a document."""
    return new_id(_ID_PREFIX.get(collection, DEFAULT_ID_PREFIX))


def idempotent_id(collection: str, tenant_id: str, key: str, data_text: str, slot: str = "") -> str:
    """The id a keyed create without a client id gets: the same request always names the
    same document, so a create re-run after a crash finds it instead of making a second.
    A note derives it as notes always have (from its text), across an upgrade."""
    prefix = _ID_PREFIX.get(collection, DEFAULT_ID_PREFIX)
    data = json.loads(data_text)
    if collection == NOTES_COLLECTION and not slot and set(data) == {"text"}:
        return derived_id(prefix, tenant_id, key, str(data["text"]))
    return derived_id(prefix, tenant_id, key, slot, collection, data_text)


def refusal_for(
    write: DocWrite, current: StoredDoc | None, if_match: int | None
) -> UserdbError | None:
    """Why a document's condition refused `write`, given the document as it is now and the
    client's If-Match; None when a concurrent change explains it (read again and retry)."""
    live = current is not None and current.live
    if isinstance(write.expect, Absent):
        taken = live or (current is not None and not write.expect.over_tombstone)
        return DocExistsError() if taken else None
    if current is None or not live:
        return NotFoundError("No such document.")
    if if_match is not None and current.version != if_match:
        return VersionMismatchError(f"The document changed: it is at version {current.version}.")
    return None


def to_doc(stored: StoredDoc) -> Doc:
    """A live stored document as the API returns it."""
    return Doc(
        collection=stored.collection,
        id=stored.id,
        data=decode_data(stored.data or "{}"),
        version=stored.version,
        created=stored.created,
        updated=stored.updated,
    )


def to_change(stored: StoredDoc) -> dict[str, Any]:
    """A stored document as a `changes` item: the document, or its deletion."""
    if stored.deleted:
        return {
            "collection": stored.collection,
            "id": stored.id,
            "version": stored.version,
            "deleted": True,
        }
    return {
        "collection": stored.collection,
        "id": stored.id,
        "data": decode_data(stored.data or "{}"),
        "version": stored.version,
        "created": stored.created,
        "updated": stored.updated,
    }


def deletion(collection: str, doc_id: str, version: int) -> DeletedDoc:
    return DeletedDoc(collection=collection, id=doc_id, version=version)
