"""/collections: the declared collections, and the caller's documents in each."""

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
    TENANT_ERRORS,
    TENANT_WRITE_ERRORS,
    Operation,
    Reply,
    ResponseHeader,
)
from chalicelib.errors import (
    DocExistsError,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    InvalidCursorError,
    NotFoundError,
    PayloadTooLargeError,
    TenantStorageFullError,
    UnknownCollectionError,
    UserdbError,
    VersionMismatchError,
)
from chalicelib.models.documents import (
    CollectionInfo,
    CollectionsResponse,
    CreateDocRequest,
    Doc,
    DocId,
    DocResponse,
    DocsPage,
    ListDocsQuery,
    MergePatch,
    PutDocRequest,
)
from chalicelib.services import get_services

collections_routes = ApiBlueprint(__name__)

_KEYED_ERRORS: tuple[type[UserdbError], ...] = (
    IdempotencyKeyReusedError,
    IdempotencyInProgressError,
)
_WRITE_ERRORS: tuple[type[UserdbError], ...] = (
    UnknownCollectionError,
    PayloadTooLargeError,
    *_KEYED_ERRORS,
    *TENANT_WRITE_ERRORS,
    TenantStorageFullError,
)
DOC_LOCATION = ResponseHeader("Location", "Where the document is, relative to /collections.")
DOCS = "/collections/{collection}/docs"
DOC = "/collections/{collection}/docs/{doc_id}"
PATH = {"collection": str, "doc_id": DocId}


def _doc_reply(doc: Doc, status: int = 200) -> Response:
    headers = {"ETag": etag(doc.version), "Cache-Control": "no-store"}
    if status == 201:
        headers["Location"] = f"{doc.collection}/docs/{doc.id}"
    return json_response(DocResponse(doc=doc), status=status, headers=headers)


@collections_routes.route(
    "/collections",
    methods=["GET"],
    operation=Operation(
        summary="The collections this app declares, with their JSON Schemas",
        replies={200: Reply(CollectionsResponse, "Every declared collection.")},
    ),
)
def list_collections() -> Response:
    authenticate(collections_routes.current_request)
    declared = get_services().documents.collections
    body = CollectionsResponse(
        collections=[CollectionInfo(name=c.name, schema_=dict(c.schema)) for c in declared]
    )
    return json_response(body, headers={"Cache-Control": "no-cache"})


@collections_routes.route(
    DOCS,
    methods=["GET"],
    operation=Operation(
        summary="List a collection's live documents, by id, a page at a time",
        path={"collection": str},
        query=ListDocsQuery,
        replies={200: Reply(DocsPage, "A page; `cursor` continues it, null on the last page.")},
        errors=(UnknownCollectionError, InvalidCursorError, *TENANT_ERRORS),
        description=(
            "`where` keeps documents whose top-level fields equal the given JSON values, e.g. "
            '`where={"done":false,"list":"home"}` (URL-encoded). A filtered page reads at most '
            "1,000 documents: it may hold fewer than `limit` and still have a cursor."
        ),
    ),
)
def list_docs(collection: str) -> Response:
    request = collections_routes.current_request
    session = authenticate(request)
    query = parse_query(request, ListDocsQuery)
    page = get_services().documents.list_page(session.user_id, collection, query)
    return json_response(page, headers={"Cache-Control": "no-store"})


@collections_routes.route(
    DOCS,
    methods=["POST"],
    operation=Operation(
        summary="Create a document",
        path={"collection": str},
        body=CreateDocRequest,
        headers=(IDEMPOTENCY_KEY,),
        replies={201: Reply(DocResponse, "The document, as stored.", (ETAG, DOC_LOCATION))},
        errors=(DocExistsError, *_WRITE_ERRORS),
        description="`data` must match the collection's schema and be at most 64 KiB of JSON.",
    ),
)
def create_doc(collection: str) -> Response:
    request = collections_routes.current_request
    session = authenticate(request)
    body = parse_body(request, CreateDocRequest)
    doc = get_services().documents.create(
        session.user_id,
        collection,
        body.data,
        body.id,
        idempotency_key=idempotency_key(request),
        lambda_context=request.lambda_context,
    )
    return _doc_reply(doc, status=201)


@collections_routes.route(
    DOC,
    methods=["GET"],
    operation=Operation(
        summary="Read a document",
        path=PATH,
        replies={200: Reply(DocResponse, "The live document.", (ETAG,))},
        errors=(UnknownCollectionError, NotFoundError, *TENANT_ERRORS),
    ),
)
def get_doc(collection: str, doc_id: str) -> Response:
    session = authenticate(collections_routes.current_request)
    doc = get_services().documents.get(session.user_id, collection, parse_doc_id(doc_id))
    return _doc_reply(doc)


@collections_routes.route(
    DOC,
    methods=["PUT"],
    operation=Operation(
        summary="Replace a document's data, or create the document with this id",
        path=PATH,
        body=PutDocRequest,
        headers=(IF_MATCH, IDEMPOTENCY_KEY),
        replies={
            200: Reply(DocResponse, "Replaced.", (ETAG,)),
            201: Reply(DocResponse, "Created.", (ETAG, DOC_LOCATION)),
        },
        errors=(VersionMismatchError, *_WRITE_ERRORS),
        description="With If-Match, 412 unless the document exists at that version.",
    ),
)
def put_doc(collection: str, doc_id: str) -> Response:
    request = collections_routes.current_request
    session = authenticate(request)
    target = parse_doc_id(doc_id)
    body = parse_body(request, PutDocRequest)
    outcome = get_services().documents.put(
        session.user_id,
        collection,
        target,
        body.data,
        if_match_version(request),
        idempotency_key=idempotency_key(request),
        lambda_context=request.lambda_context,
    )
    return _doc_reply(outcome.doc, status=201 if outcome.created else 200)


@collections_routes.route(
    DOC,
    methods=["PATCH"],
    content_types=["application/json", "application/merge-patch+json"],
    operation=Operation(
        summary="Change some fields of a document (JSON Merge Patch, RFC 7386)",
        path=PATH,
        body=MergePatch,
        headers=(IF_MATCH, IDEMPOTENCY_KEY),
        replies={200: Reply(DocResponse, "The document, as stored.", (ETAG,))},
        errors=(NotFoundError, VersionMismatchError, *_WRITE_ERRORS),
        description=(
            "The body's members replace the document's, `null` removes one, objects merge; "
            "applied to the document as it is when the write commits, so two clients that "
            "change different fields both keep their change. The result must match the schema."
        ),
    ),
)
def patch_doc(collection: str, doc_id: str) -> Response:
    request = collections_routes.current_request
    session = authenticate(request)
    target = parse_doc_id(doc_id)
    patch = parse_body(request, MergePatch)
    doc = get_services().documents.patch(
        session.user_id,
        collection,
        target,
        patch.root,
        if_match_version(request),
        idempotency_key=idempotency_key(request),
        lambda_context=request.lambda_context,
    )
    return _doc_reply(doc)


@collections_routes.route(
    DOC,
    methods=["DELETE"],
    operation=Operation(
        summary="Delete a document (a tombstone tells other clients)",
        path=PATH,
        headers=(IF_MATCH, IDEMPOTENCY_KEY),
        replies={204: Reply(description="Deleted.")},
        errors=(
            UnknownCollectionError,
            NotFoundError,
            VersionMismatchError,
            *_KEYED_ERRORS,
            *TENANT_WRITE_ERRORS,
        ),
    ),
)
def delete_doc(collection: str, doc_id: str) -> Response:
    request = collections_routes.current_request
    session = authenticate(request)
    get_services().documents.delete(
        session.user_id,
        collection,
        parse_doc_id(doc_id),
        if_match_version(request),
        idempotency_key=idempotency_key(request),
        lambda_context=request.lambda_context,
    )
    return no_content()
