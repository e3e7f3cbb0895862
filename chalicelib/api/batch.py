"""/batch: several document writes, all or nothing, in one transaction."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.headers import idempotency_key
from chalicelib.api.http import ApiBlueprint, authenticate, json_response, parse_body
from chalicelib.api.operations import IDEMPOTENCY_KEY, TENANT_WRITE_ERRORS, Operation, Reply
from chalicelib.errors import (
    DocExistsError,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    NotFoundError,
    TenantStorageFullError,
    UnknownCollectionError,
    VersionMismatchError,
)
from chalicelib.models.documents import MAX_BATCH_OPS, BatchRequest, BatchResponse
from chalicelib.services import get_services

batch_routes = ApiBlueprint(__name__)


@batch_routes.route(
    "/batch",
    methods=["POST"],
    operation=Operation(
        summary="Write several documents at once, atomically",
        body=BatchRequest,
        headers=(IDEMPOTENCY_KEY,),
        replies={200: Reply(BatchResponse, "Every op's result, in order.")},
        errors=(
            UnknownCollectionError,
            NotFoundError,
            DocExistsError,
            VersionMismatchError,
            IdempotencyKeyReusedError,
            IdempotencyInProgressError,
            TenantStorageFullError,
            *TENANT_WRITE_ERRORS,
        ),
        description=(
            f"At most {MAX_BATCH_OPS} ops (DynamoDB's 100 actions per transaction, one of them "
            "the version counter), each document once. Ops commit together as one "
            "TransactWriteItems, op i taking the version V+1+i: if any op is refused, nothing "
            "is written and the error's `details` name the op (`op`: its index)."
        ),
    ),
)
def batch() -> Response:
    request = batch_routes.current_request
    session = authenticate(request)
    body = parse_body(request, BatchRequest)
    result = get_services().documents.batch(
        session.user_id,
        body,
        idempotency_key=idempotency_key(request),
        lambda_context=request.lambda_context,
    )
    return json_response(result, headers={"Cache-Control": "no-store"})
