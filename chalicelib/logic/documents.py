"""Documents of declared collections: list, read, and writes (one, or a batch), each
optionally idempotent. Every write is one commit of the tenant's next versions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from chalicelib.dal.idempotency import IdempotentRunner, RemainingTime
from chalicelib.dal.tenant_store import Commit, DocKey, StoredDoc, TenantMeta, TenantStore
from chalicelib.errors import DocExistsError, NotFoundError, UserdbError, ValidationError
from chalicelib.logic.clock import Clock, epoch_ms
from chalicelib.logic.collections import Collections
from chalicelib.logic.cursors import decode_list_cursor, encode_list_cursor
from chalicelib.logic.doc_rules import (
    encode_data,
    idempotent_id,
    matches,
    parse_where,
    server_id,
    to_doc,
)
from chalicelib.logic.doc_writes import (
    Planned,
    WriteOp,
    duplicate_keys,
    explain,
    in_op,
    plan,
    result_of,
)
from chalicelib.logic.sync import encoded_size
from chalicelib.logic.tenant_writes import TenantWriter
from chalicelib.logic.tombstones import ledger_change, tombstone_expiry
from chalicelib.models.documents import (
    MAX_DOC_DATA_BYTES,
    BatchRequest,
    BatchResponse,
    DeletedDoc,
    Doc,
    DocsPage,
    ListDocsQuery,
    PutOutcome,
)

T = TypeVar("T", bound=BaseModel)

# Item bytes per REST reply: JSON-escaped twice over (body, then Lambda's proxy result),
# this stays under Lambda's 6 MB response limit.
REPLY_ITEM_BYTES = 2_500_000
# Documents a filtered list reads at most per request: a page may hold fewer than `limit`
# and still have a cursor, so one request never reads a whole large collection.
MAX_SCANNED_PER_PAGE = 1_000


@dataclass(frozen=True)
class Keyed:
    """A write as its Idempotency-Key covers it: the operation, the key (None: not keyed),
    the request a repeat must match, and the Lambda context (its remaining time)."""

    operation: str
    key: str | None
    request: Mapping[str, Any]
    lambda_context: RemainingTime | None


class DocumentService:
    """The documents of every declared collection; stores, idempotency and time are injected."""

    def __init__(
        self,
        writer: TenantWriter,
        collections: Collections,
        idempotency: IdempotentRunner,
        clock: Clock,
        *,
        tombstone_days: int,
        reply_item_bytes: int = REPLY_ITEM_BYTES,
    ) -> None:
        self._writer = writer
        self._collections = collections
        self._idempotency = idempotency
        self._clock = clock
        self._tombstone_days = tombstone_days
        self._reply_bytes = reply_item_bytes

    @property
    def collections(self) -> Collections:
        return self._collections

    # ---- reads ----

    def get(self, tenant_id: str, collection: str, doc_id: str) -> Doc:
        """The live document; NotFoundError for unknown ids and deleted documents alike."""
        key = DocKey(self._collections.get(collection).name, doc_id)
        stored = self._writer.read(tenant_id, lambda store: store.get_doc(key))
        if stored is None or stored.deleted:
            raise NotFoundError("No such document.")
        return to_doc(stored)

    def list_page(self, tenant_id: str, collection: str, query: ListDocsQuery) -> DocsPage:
        """Live documents in id order that match `query.where`, `query.limit` at most, and the
        tenant's version; a filtered page reads at most MAX_SCANNED_PER_PAGE documents."""
        name = self._collections.get(collection).name
        where = parse_where(query.where)
        after = decode_list_cursor(tenant_id, query.cursor) if query.cursor else None

        def page(store: TenantStore) -> DocsPage:
            version = store.read_meta().version
            docs: list[Doc] = []
            size = scanned = 0
            last_id: str | None = None
            read_ahead = query.limit + 1 if not where else MAX_SCANNED_PER_PAGE
            for stored in store.live_docs(name, after, page_size=read_ahead):
                if scanned >= MAX_SCANNED_PER_PAGE and last_id is not None:
                    return DocsPage(
                        docs=docs, cursor=self._cursor(tenant_id, last_id), version=version
                    )
                scanned += 1
                doc = to_doc(stored)
                if where and not matches(doc.data, where):
                    last_id = stored.id
                    continue
                size += encoded_size(doc.model_dump(mode="json"))
                if docs and (len(docs) >= query.limit or size > self._reply_bytes):
                    return DocsPage(
                        docs=docs, cursor=self._cursor(tenant_id, docs[-1].id), version=version
                    )
                docs.append(doc)
                last_id = stored.id
            return DocsPage(docs=docs, cursor=None, version=version)

        return self._writer.read(tenant_id, page)

    @staticmethod
    def _cursor(tenant_id: str, last_id: str) -> str:
        return encode_list_cursor(tenant_id, last_id)

    # ---- writes ----

    def create(
        self,
        tenant_id: str,
        collection: str,
        data: Mapping[str, Any],
        doc_id: str | None = None,
        *,
        idempotency_key: str | None = None,
        lambda_context: RemainingTime | None = None,
        max_bytes: int | None = MAX_DOC_DATA_BYTES,
    ) -> Doc:
        """A new document (the client's id, or one the server gives); DocExistsError (409)
        if that id is live. With an Idempotency-Key, a repeat returns the first result."""
        target = self._collections.get(collection)
        request = {"op": "create", "collection": target.name, "id": doc_id, "data": dict(data)}

        def run() -> Doc:
            if idempotency_key is None or doc_id is not None:
                op = WriteOp(
                    "create", target, doc_id or server_id(target.name), data, max_bytes=max_bytes
                )
                return self._one(tenant_id, op, Doc)
            return self._create_keyed(tenant_id, target.name, data, idempotency_key, max_bytes)

        return self._once(
            tenant_id,
            Keyed("docs.create", idempotency_key, request, lambda_context),
            Doc,
            run,
        )

    def _create_keyed(
        self,
        tenant_id: str,
        collection: str,
        data: Mapping[str, Any],
        key: str,
        max_bytes: int | None,
    ) -> Doc:
        """The idempotent create without a client id, safe to run again for the same key.

        The idempotency record and the document are separate writes: a process that dies
        between them leaves the document committed and the record in progress, and once
        that expires the retry runs this again. The id is derived from the key and the
        data, so the rerun finds its document instead of making a second.
        """
        target = self._collections.get(collection)
        text = encode_data(data, "/data", max_bytes)
        doc_id = idempotent_id(collection, tenant_id, key, text)
        # Not over a tombstone either: that would bring back a document deleted since.
        op = WriteOp("create", target, doc_id, data, over_tombstone=False, max_bytes=max_bytes)
        try:
            return self._one(tenant_id, op, Doc)
        except DocExistsError:
            stored = self._writer.read(tenant_id, lambda store: store.get_doc(op.key))
            if stored is None or stored.deleted:
                raise DocExistsError(
                    "This request created its document already; it has been deleted since."
                ) from None
            return to_doc(stored)

    def put(
        self,
        tenant_id: str,
        collection: str,
        doc_id: str,
        data: Mapping[str, Any],
        if_match: int | None = None,
        *,
        create_missing: bool = True,
        idempotency_key: str | None = None,
        lambda_context: RemainingTime | None = None,
        max_bytes: int | None = MAX_DOC_DATA_BYTES,
    ) -> PutOutcome:
        """Replace the document's data, or create it (`created`) when it does not exist and
        `create_missing`; VersionMismatchError (412) when `if_match` is not its version."""
        target = self._collections.get(collection)
        op = WriteOp(
            "put",
            target,
            doc_id,
            data,
            if_match,
            create_missing=create_missing,
            max_bytes=max_bytes,
        )
        request = {
            "op": "put",
            "collection": target.name,
            "id": doc_id,
            "data": dict(data),
            "if_match": if_match,
        }

        def run() -> PutOutcome:
            planned, doc = self._commit_one(tenant_id, op)
            assert isinstance(doc, Doc)
            return PutOutcome(doc=doc, created=planned.creates)

        return self._once(
            tenant_id,
            Keyed("docs.put", idempotency_key, request, lambda_context),
            PutOutcome,
            run,
        )

    def patch(
        self,
        tenant_id: str,
        collection: str,
        doc_id: str,
        patch: Mapping[str, Any],
        if_match: int | None = None,
        *,
        idempotency_key: str | None = None,
        lambda_context: RemainingTime | None = None,
    ) -> Doc:
        """Apply a JSON Merge Patch to the document as it is at commit; the result must fit
        the schema. NotFoundError if absent; VersionMismatchError if `if_match` is stale."""
        target = self._collections.get(collection)
        op = WriteOp("patch", target, doc_id, patch, if_match, at="")
        request = {
            "op": "patch",
            "collection": target.name,
            "id": doc_id,
            "patch": dict(patch),
            "if_match": if_match,
        }
        return self._once(
            tenant_id,
            Keyed("docs.patch", idempotency_key, request, lambda_context),
            Doc,
            lambda: self._one(tenant_id, op, Doc),
        )

    def delete(
        self,
        tenant_id: str,
        collection: str,
        doc_id: str,
        if_match: int | None = None,
        *,
        idempotency_key: str | None = None,
        lambda_context: RemainingTime | None = None,
    ) -> DeletedDoc:
        """Leave a tombstone that expires after the tombstone lifetime. NotFoundError if there
        is no live document; VersionMismatchError if `if_match` is stale."""
        target = self._collections.get(collection)
        op = WriteOp("delete", target, doc_id, if_match=if_match)
        request = {"op": "delete", "collection": target.name, "id": doc_id, "if_match": if_match}
        return self._once(
            tenant_id,
            Keyed("docs.delete", idempotency_key, request, lambda_context),
            DeletedDoc,
            lambda: self._one(tenant_id, op, DeletedDoc),
        )

    def batch(
        self,
        tenant_id: str,
        request: BatchRequest,
        *,
        idempotency_key: str | None = None,
        lambda_context: RemainingTime | None = None,
    ) -> BatchResponse:
        """Every op or none, in one commit (one TransactWriteItems): op i gets the tenant's
        version V+1+i. A refused op refuses the batch, with `details` naming its index."""

        def run() -> BatchResponse:
            ops = self._batch_ops(tenant_id, request, idempotency_key)
            plans, committed_version = self._commit(tenant_id, ops, in_batch=True)
            first = committed_version - len(plans) + 1
            results = [result_of(planned, first + i) for i, planned in enumerate(plans)]
            return BatchResponse(results=results, version=committed_version)

        return self._once(
            tenant_id,
            Keyed("docs.batch", idempotency_key, request.model_dump(mode="json"), lambda_context),
            BatchResponse,
            run,
        )

    def _batch_ops(self, tenant_id: str, request: BatchRequest, key: str | None) -> list[WriteOp]:
        ops: list[WriteOp] = []
        for index, asked in enumerate(request.ops):
            try:
                target = self._collections.get(asked.collection)
                if asked.op in ("create", "put", "patch") and asked.data is None:
                    raise _field_error(f"/ops/{index}/data", f"a {asked.op} op needs data")
                if asked.op != "create" and asked.id is None:
                    raise _field_error(f"/ops/{index}/id", f"a {asked.op} op needs an id")
                if asked.op == "delete" and asked.data is not None:
                    raise _field_error(f"/ops/{index}/data", "a delete op takes no data")
            except UserdbError as error:
                raise in_op(index, error) from None
            doc_id = asked.id
            over_tombstone = True
            if doc_id is None:
                assert asked.data is not None
                if key is None:
                    doc_id = server_id(target.name)
                else:
                    text = _encoded_or_refused(asked.data, index)
                    doc_id = idempotent_id(target.name, tenant_id, key, text, slot=str(index))
                    over_tombstone = False
            ops.append(
                WriteOp(
                    asked.op,
                    target,
                    doc_id,
                    asked.data,
                    asked.if_match,
                    at=f"/ops/{index}/data",
                    over_tombstone=over_tombstone,
                )
            )
        duplicated = duplicate_keys(ops)
        if duplicated is not None:
            raise duplicated
        return ops

    # ---- the commit ----

    def _one(self, tenant_id: str, op: WriteOp, result_type: type[T]) -> T:
        result = self._commit_one(tenant_id, op)[1]
        assert isinstance(result, result_type)
        return result

    def _commit_one(self, tenant_id: str, op: WriteOp) -> tuple[Planned, Doc | DeletedDoc]:
        plans, version = self._commit(tenant_id, [op], in_batch=False)
        return plans[0], result_of(plans[0], version)

    def _commit(
        self, tenant_id: str, ops: Sequence[WriteOp], *, in_batch: bool
    ) -> tuple[list[Planned], int]:
        """Plan and commit `ops` together; returns the plans that committed and the
        tenant's version after them (op i got version - len(ops) + 1 + i)."""
        now_ms = epoch_ms(self._clock)
        now_s = now_ms // 1000
        expires_s = tombstone_expiry(now_s, self._tombstone_days)
        plans: list[Planned] = []

        def refused(index: int, error: UserdbError) -> UserdbError:
            return in_op(index, error) if in_batch else error

        def make_commit(store: TenantStore, meta: TenantMeta) -> Commit:
            wanted = [op.key for op in ops if op.needs_current]
            current = store.get_docs(wanted) if wanted else {}
            plans.clear()
            for index, op in enumerate(ops):
                try:
                    plans.append(plan(op, current.get(op.key), now_ms, expires_s))
                except UserdbError as error:
                    raise refused(index, error) from None
            writes = tuple(planned.write for planned in plans)
            deletes = any(write.is_deletion for write in writes)
            ledger = ledger_change(meta, expires_s, now_s) if deletes else None
            return Commit(writes=writes, ledger=ledger)

        def explain_refusal(store: TenantStore, commit: Commit, index: int) -> UserdbError | None:
            write = commit.writes[index]
            current: StoredDoc | None = store.get_doc(write.key)
            error = explain(ops[index], write, current)
            return refused(index, error) if error is not None else None

        committed = self._writer.commit(tenant_id, make_commit, explain_refusal)
        return list(plans), committed.version

    def _once(self, tenant_id: str, keyed: Keyed, result_type: type[T], run: Callable[[], T]) -> T:
        """`run()`, once per Idempotency-Key when the request carries one."""
        if keyed.key is None:
            return run()
        return self._idempotency.once(
            keyed.operation,
            scope=tenant_id,
            key=keyed.key,
            request=keyed.request,
            result_type=result_type,
            operation=run,
            lambda_context=keyed.lambda_context,
        )


def _field_error(field: str, message: str) -> UserdbError:
    return ValidationError(details=[{"field": field, "message": message, "type": "missing"}])


def _encoded_or_refused(data: Mapping[str, Any], index: int) -> str:
    try:
        return encode_data(data, f"/ops/{index}/data")
    except UserdbError as error:
        raise in_op(index, error) from None
