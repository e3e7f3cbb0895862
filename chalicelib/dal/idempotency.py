"""Idempotent operations through Powertools' idempotency utility and its DynamoDB persistence.

Records live in `{prefix}-idempotency` with pk = tenant id and sk = the
operation and a hash of (tenant, key): one tenant's Idempotency-Key never finds
another tenant's record, and a tenant's records are deleted with its account.
The request body is checked too: the same key with a different body is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (
    PydanticSerializer,
)
from pydantic import BaseModel

from chalicelib.dal.items import IdempotencyRecordItem
from chalicelib.dal.tables import TableBinding, dynamodb_client
from chalicelib.errors import IdempotencyInProgressError, IdempotencyKeyReusedError
from chalicelib.settings import Settings

T = TypeVar("T", bound=BaseModel)

IN_PROGRESS_RETRY_AFTER = 1


class RemainingTime(Protocol):
    """What Powertools needs of the Lambda context: the time left to this invocation."""

    def get_remaining_time_in_millis(self) -> int: ...


class IdempotentRunner(Protocol):
    def once(
        self,
        operation_name: str,
        *,
        scope: str,
        key: str,
        request: Mapping[str, Any],
        result_type: type[T],
        operation: Callable[[], T],
        lambda_context: RemainingTime | None = None,
    ) -> T:
        """Run `operation` once per (operation, scope, key); repeats return the first result.

        IdempotencyKeyReusedError if the key was used with another `request`;
        IdempotencyInProgressError while the first call is still running.
        A call that raises leaves no record, so it can be retried. With
        `lambda_context`, a call cut off by its Lambda's timeout stops blocking
        its key when that invocation would have ended.
        """
        ...


class _RecordClient:
    """The shared boto3 client, showing Powertools only the calls it makes.

    Powertools adds a user-agent hook to the client of every persistence layer
    it builds; with a layer per call (for a per-tenant partition key) those
    hooks would pile up on a shared client. Without `meta` it skips the hook.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def get_item(self, **kwargs: Any) -> Any:
        return self._client.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        return self._client.put_item(**kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        return self._client.update_item(**kwargs)

    def delete_item(self, **kwargs: Any) -> Any:
        return self._client.delete_item(**kwargs)


class PowertoolsIdempotency:
    """IdempotentRunner on Powertools' `idempotent_function` with DynamoDB persistence."""

    def __init__(self, table: TableBinding, settings: Settings) -> None:
        self._table = table
        self._items = table.model(IdempotencyRecordItem)
        self._client = _RecordClient(dynamodb_client(settings))
        self._expires_after_seconds = settings.idempotency_seconds

    def _persistence(self, scope: str) -> DynamoDBPersistenceLayer:
        fields = IdempotencyRecordItem
        return DynamoDBPersistenceLayer(
            table_name=self._table.table_name,
            key_attr=fields.pk.attr_name,
            sort_key_attr=fields.sk.attr_name,
            static_pk_value=scope,
            expiry_attr=fields.expiration.attr_name,
            in_progress_expiry_attr=fields.in_progress_expiration.attr_name,
            status_attr=fields.status.attr_name,
            data_attr=fields.data.attr_name,
            validation_key_attr=fields.validation.attr_name,
            boto3_client=cast(Any, self._client),
        )

    def _config(self, lambda_context: RemainingTime | None) -> IdempotencyConfig:
        config = IdempotencyConfig(
            event_key_jmespath="[scope, key]",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._expires_after_seconds,
            hash_function="sha256",
        )
        if lambda_context is not None:
            config.register_lambda_context(lambda_context)  # type: ignore[arg-type]
        return config

    def once(
        self,
        operation_name: str,
        *,
        scope: str,
        key: str,
        request: Mapping[str, Any],
        result_type: type[T],
        operation: Callable[[], T],
        lambda_context: RemainingTime | None = None,
    ) -> T:
        # A layer and a config per call: nothing is shared between concurrent requests.
        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="call",
            persistence_store=self._persistence(scope),
            config=self._config(lambda_context),
            output_serializer=PydanticSerializer(result_type),
            key_prefix=operation_name,
        )
        def run_once(*, call: dict[str, Any]) -> T:
            return operation()

        try:
            result: T = run_once(call={"scope": scope, "key": key, "request": dict(request)})
        except IdempotencyValidationError:
            raise IdempotencyKeyReusedError() from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyInProgressError(retry_after=IN_PROGRESS_RETRY_AFTER) from None
        return result

    def delete_all(self, tenant_id: str) -> int:
        """Delete every idempotency record of the tenant; returns how many there were."""
        records = list(
            self._items.query(tenant_id, consistent_read=True, attributes_to_get=["pk", "sk"])
        )
        with self._items.batch_write() as batch:
            for record in records:
                batch.delete(record)
        return len(records)
