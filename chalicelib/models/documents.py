"""Documents of declared collections: REST requests and responses (DESIGN §7)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel

from chalicelib.models.base import RequestModel, ResponseModel
from chalicelib.models.protocol import CollectionName, Version

DOC_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
# DESIGN §7: a document's data is at most 64 KiB once encoded as compact UTF-8 JSON.
MAX_DOC_DATA_BYTES = 64 * 1024
# DynamoDB's TransactWriteItems takes 100 actions; the tenant's `meta` counter is one.
MAX_BATCH_OPS = 99
DOCS_LIMIT_DEFAULT, DOCS_LIMIT_MAX = 50, 100
CURSOR_MAX = 512
WHERE_MAX = 2048

DocId = Annotated[str, Field(pattern=DOC_ID_PATTERN, description="1 to 128 of [A-Za-z0-9_-]")]
JsonObject = dict[str, Any]


class Doc(ResponseModel):
    """A live document. Times are epoch ms; `version` is the tenant's version at its last write."""

    collection: str
    id: str
    data: JsonObject
    version: int
    created: int
    updated: int


class DeletedDoc(ResponseModel):
    """A deletion, as it appears among changes and batch results."""

    collection: str
    id: str
    version: int
    deleted: Literal[True] = True


class DocResponse(ResponseModel):
    doc: Doc


class DocsPage(ResponseModel):
    """One page of a collection's live documents by id; `version` is the tenant's version
    read before the page; `cursor` continues it (null on the last page)."""

    docs: list[Doc]
    cursor: str | None
    version: int


class CollectionInfo(ResponseModel):
    name: str
    schema_: JsonObject = Field(alias="schema")

    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)


class CollectionsResponse(ResponseModel):
    collections: list[CollectionInfo]


class CreateDocRequest(RequestModel):
    data: JsonObject
    id: DocId | None = None


class PutDocRequest(RequestModel):
    data: JsonObject


class MergePatch(RootModel[JsonObject]):
    """A JSON Merge Patch (RFC 7386) of a document's data: an object whose null members remove."""

    model_config = ConfigDict(strict=True, frozen=True)


class ListDocsQuery(RequestModel):
    limit: int = Field(default=DOCS_LIMIT_DEFAULT, ge=1, le=DOCS_LIMIT_MAX)
    cursor: str | None = Field(default=None, min_length=1, max_length=CURSOR_MAX)
    where: str | None = Field(
        default=None,
        min_length=2,
        max_length=WHERE_MAX,
        description='Equality on top-level fields, as a JSON object: `{"done":false}`.',
    )


class BatchOp(RequestModel):
    op: Literal["create", "put", "patch", "delete"]
    collection: CollectionName
    id: DocId | None = None
    data: JsonObject | None = None
    if_match: Version | None = None


class BatchRequest(RequestModel):
    ops: list[BatchOp] = Field(min_length=1, max_length=MAX_BATCH_OPS)


class BatchResponse(ResponseModel):
    """Each op's result in order (a document, or a deletion), and the tenant's version after."""

    results: list[Doc | DeletedDoc]
    version: int


class PutOutcome(ResponseModel):
    """What a PUT did: the document, and whether it was created (201) or replaced (200)."""

    doc: Doc
    created: bool
