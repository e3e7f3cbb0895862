"""Turning requested writes into a commit: one op (a REST write) or many (`/batch`).

`WriteOp` is a write as the client asked for it; `plan` makes the stored write
from it and the document as it is now, refusing what cannot be done (404, 409,
412, 400, 413) before anything is written. Ops that change an existing document
(put, patch) are planned on a fresh read at every attempt, and guarded by its
version, so a concurrent change makes the commit try again on the new state
(two devices patching different fields both keep their change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.dal.tenant_store import Absent, DocKey, DocWrite, Live, StoredDoc
from chalicelib.errors import NotFoundError, UserdbError, ValidationError, VersionMismatchError
from chalicelib.logic.collections import Collection
from chalicelib.logic.doc_rules import decode_data, encode_data, merge_patch, refusal_for
from chalicelib.models.documents import MAX_DOC_DATA_BYTES, DeletedDoc, Doc

OpKind = Literal["create", "put", "patch", "delete"]


@dataclass(frozen=True)
class WriteOp:
    """One write a client asked for.

    `data` is the new data (create, put) or the merge patch (patch); `at` is where it
    sits in the request body (JSON pointer), so refusals point into the request.
    """

    kind: OpKind
    collection: Collection
    doc_id: str
    data: Mapping[str, Any] | None = None
    if_match: int | None = None
    at: str = "/data"
    # create: whether a deleted document's id may be taken again.
    over_tombstone: bool = True
    # put: whether a missing document is created (REST PUT) or is 404 (/notes).
    create_missing: bool = True
    max_bytes: int | None = MAX_DOC_DATA_BYTES

    @property
    def key(self) -> DocKey:
        return DocKey(self.collection.name, self.doc_id)

    @property
    def needs_current(self) -> bool:
        """Whether planning needs the document as it is now."""
        return self.kind in ("put", "patch")


@dataclass(frozen=True)
class Planned:
    """A stored write and what the reply needs that the write does not say."""

    write: DocWrite
    created_ms: int
    # put: whether the document did not exist (201 rather than 200).
    creates: bool


def _version_mismatch(current: StoredDoc | None) -> VersionMismatchError:
    if current is None or not current.live:
        return VersionMismatchError("The document does not exist (If-Match names a version).")
    return VersionMismatchError(f"The document changed: it is at version {current.version}.")


def _valid_data(op: WriteOp, data: Mapping[str, Any]) -> str:
    op.collection.check(data, op.at)
    return encode_data(data, op.at, op.max_bytes)


def plan(op: WriteOp, current: StoredDoc | None, now_ms: int, expires_s: int) -> Planned:
    """The stored write for `op` given `current` (read only when `op.needs_current`)."""
    live = current if current is not None and current.live else None
    if op.kind == "create":
        assert op.data is not None
        text = _valid_data(op, op.data)
        write = DocWrite(op.key, now_ms, Absent(op.over_tombstone), data=text)
        return Planned(write, now_ms, creates=True)
    if op.kind == "delete":
        write = DocWrite(op.key, now_ms, Live(op.if_match), expires_s=expires_s)
        return Planned(write, now_ms, creates=False)
    if live is None and (op.kind == "patch" or not op.create_missing):
        raise NotFoundError("No such document.")
    if op.if_match is not None and (live is None or live.version != op.if_match):
        raise _version_mismatch(current)
    assert op.data is not None
    if op.kind == "patch":
        assert live is not None
        merged = merge_patch(decode_data(live.data or "{}"), op.data)
        text = _valid_data(op, merged)
        return Planned(DocWrite(op.key, now_ms, Live(live.version), data=text), live.created, False)
    text = _valid_data(op, op.data)
    if live is not None:
        return Planned(DocWrite(op.key, now_ms, Live(live.version), data=text), live.created, False)
    return Planned(DocWrite(op.key, now_ms, Absent(), data=text), now_ms, creates=True)


def explain(op: WriteOp, write: DocWrite, current: StoredDoc | None) -> UserdbError | None:
    """Why the store refused `op`'s write; None to plan it again on a fresh read.

    Ops planned on a read (put, patch) always try again: the next plan sees the new
    state and refuses there if it must."""
    if op.needs_current:
        return None
    return refusal_for(write, current, op.if_match)


def result_of(planned: Planned, version: int) -> Doc | DeletedDoc:
    """The document (or deletion) a committed write left, as the reply shows it."""
    write = planned.write
    if write.data is None:
        return DeletedDoc(collection=write.key.collection, id=write.key.id, version=version)
    return Doc(
        collection=write.key.collection,
        id=write.key.id,
        data=decode_data(write.data),
        version=version,
        created=planned.created_ms,
        updated=write.now_ms,
    )


def duplicate_keys(ops: Sequence[WriteOp]) -> ValidationError | None:
    """A batch may touch each document once (DynamoDB's rule for a transaction)."""
    first: dict[DocKey, int] = {}
    details = []
    for index, op in enumerate(ops):
        if op.key in first:
            details.append(
                {
                    "op": index,
                    "field": f"/ops/{index}/id",
                    "message": f"op {first[op.key]} writes the same document",
                    "type": "duplicate",
                }
            )
        first.setdefault(op.key, index)
    if not details:
        return None
    return ValidationError("A batch may write each document once.", details=details)


def in_op(index: int, error: UserdbError) -> UserdbError:
    """`error` of a batch's op `index`, with `details` naming the op."""
    details = error.details or [
        {"field": f"/ops/{index}", "message": error.message, "type": error.code}
    ]
    named = [{"op": index, **detail} for detail in details]
    return type(error)(
        f"Op {index} failed: {error.message}", details=named, retry_after=error.retry_after
    )
