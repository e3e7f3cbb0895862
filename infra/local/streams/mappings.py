"""Event source mappings as the Lambda API speaks of them: validation of Create/Update
requests, the JSON Lambda answers with, and the persisted form. No I/O here."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from infra.local.lambda_runtime import LOCAL_ACCOUNT_ID
from infra.local.streams.batching import BatchPolicy

STREAM_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:dynamodb:[^:]*:[^:]*:table/([^/]+)/stream/.+$")
STARTING_POSITIONS = {"TRIM_HORIZON", "LATEST"}
RESPONSE_TYPES = {"ReportBatchItemFailures"}
# Declared mappings get a stable id, so their checkpoints survive a restart.
_CHALICE_NAMESPACE = uuid.UUID("6f1c6c1e-9d1e-4f7e-9a43-3c1f0e8f5a10")
UNSUPPORTED = {
    "FilterCriteria": "event filtering",
    "TumblingWindowInSeconds": "tumbling windows",
    "StartingPositionTimestamp": "AT_TIMESTAMP",
    "Topics": "Kafka topics",
    "Queues": "MQ queues",
    "SourceAccessConfigurations": "source access configurations",
    "SelfManagedEventSource": "self-managed event sources",
    "AmazonManagedKafkaEventSourceConfig": "Kafka",
    "SelfManagedKafkaEventSourceConfig": "Kafka",
    "DocumentDBEventSourceConfig": "DocumentDB",
    "ScalingConfig": "scaling configuration",
    "KMSKeyArn": "KMS keys",
    "MetricsConfig": "metrics configuration",
    "ProvisionedPollerConfig": "provisioned pollers",
}


class MappingState(StrEnum):
    """A mapping's `State`, as the Lambda API names it."""

    CREATING = "Creating"
    ENABLING = "Enabling"
    ENABLED = "Enabled"
    UPDATING = "Updating"
    DISABLING = "Disabling"
    DISABLED = "Disabled"
    DELETING = "Deleting"


class MappingOrigin(StrEnum):
    """Who made a mapping: the Lambda API, or the app's own declaration (kept in step with it)."""

    API = "api"
    CHALICE = "chalice"  # an `@app.on_dynamodb_record` handler
    TEMPLATE = "template"  # an AWS::Lambda::EventSourceMapping of the app's template

    @property
    def declared(self) -> bool:
        return self is not MappingOrigin.API


class LambdaApiError(Exception):
    """An error the Lambda API answers with: its type (boto3's exception name) and status."""

    error_type: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameterValueError(LambdaApiError):
    error_type = "InvalidParameterValueException"
    status = 400


class ResourceNotFoundError(LambdaApiError):
    error_type = "ResourceNotFoundException"
    status = 404


class ResourceConflictError(LambdaApiError):
    error_type = "ResourceConflictException"
    status = 409


def stream_table(stream_arn: str) -> str | None:
    """The table name in a DynamoDB stream ARN, or None if it is not one."""
    match = STREAM_ARN.match(stream_arn or "")
    return match.group(1) if match else None


def declared_mapping_id(function_arn: str, table: str) -> str:
    """The stable id of a declared mapping: its checkpoints survive a restart."""
    return str(uuid.uuid5(_CHALICE_NAMESPACE, f"{function_arn}|{table}"))


def _integer(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterValueError(f"{key} must be an integer from {low} to {high}.")
    return value


def _boolean(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidParameterValueError(f"{key} must be true or false.")
    return value


@dataclass
class ShardProgress:
    """How far a mapping got in one shard: the last settled record, and whether it is done."""

    checkpoint: str | None = None
    done: bool = False


@dataclass
class EventSourceMapping:
    """One mapping from a DynamoDB stream to a function, and its progress per shard."""

    uuid: str
    event_source_arn: str
    function_arn: str
    starting_position: str
    batch_size: int = 100
    maximum_batching_window_s: int = 0
    maximum_retry_attempts: int = -1
    maximum_record_age_s: int = -1
    bisect_on_error: bool = False
    function_response_types: list[str] = field(default_factory=list)
    parallelization_factor: int = 1
    destination_config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    origin: MappingOrigin = MappingOrigin.API
    state: MappingState = MappingState.CREATING
    state_transition_reason: str = "User action"
    last_processing_result: str = "No records processed"
    last_modified: float = field(default_factory=time.time)
    shards: dict[str, ShardProgress] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return stream_table(self.event_source_arn) or ""

    @property
    def region(self) -> str:
        return self.function_arn.split(":")[3]

    def policy(self, retry_backoff_s: float) -> BatchPolicy:
        return BatchPolicy(
            batch_size=self.batch_size,
            batching_window_s=float(self.maximum_batching_window_s),
            maximum_retry_attempts=self.maximum_retry_attempts,
            maximum_record_age_s=self.maximum_record_age_s,
            bisect_on_error=self.bisect_on_error,
            report_batch_item_failures="ReportBatchItemFailures" in self.function_response_types,
            retry_backoff_s=retry_backoff_s,
        )

    def to_api(self) -> dict[str, Any]:
        """The mapping as GetEventSourceMapping answers (boto3 parses it unchanged)."""
        return {
            "UUID": self.uuid,
            "StartingPosition": self.starting_position,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.maximum_batching_window_s,
            "ParallelizationFactor": self.parallelization_factor,
            "EventSourceArn": self.event_source_arn,
            "FunctionArn": self.function_arn,
            "LastModified": self.last_modified,
            "LastProcessingResult": self.last_processing_result,
            "State": str(self.state),
            "StateTransitionReason": self.state_transition_reason,
            "DestinationConfig": self.destination_config or {"OnFailure": {}},
            "MaximumRecordAgeInSeconds": self.maximum_record_age_s,
            "BisectBatchOnFunctionError": self.bisect_on_error,
            "MaximumRetryAttempts": self.maximum_retry_attempts,
            "FunctionResponseTypes": list(self.function_response_types),
            "EventSourceMappingArn": (
                f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:event-source-mapping:{self.uuid}"
            ),
        }

    def to_json(self) -> dict[str, Any]:
        data = {key: value for key, value in self.__dict__.items() if key != "shards"}
        data["shards"] = {
            k: {"checkpoint": v.checkpoint, "done": v.done} for k, v in self.shards.items()
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventSourceMapping:
        fields = dict(data)
        shards = fields.pop("shards", {})
        mapping = cls(**fields)
        mapping.state = MappingState(mapping.state)
        mapping.origin = MappingOrigin(mapping.origin)
        mapping.shards = {
            k: ShardProgress(v.get("checkpoint"), bool(v.get("done"))) for k, v in shards.items()
        }
        return mapping


def _settings(body: dict[str, Any], current: EventSourceMapping | None) -> dict[str, Any]:
    """The tunable settings in `body`, validated; missing ones keep `current` (or defaults)."""
    for key, feature in UNSUPPORTED.items():
        if body.get(key) not in (None, 0, {}, []):
            raise InvalidParameterValueError(
                f"The local runtime does not emulate {feature} ({key})."
            )
    base = current or EventSourceMapping("", "", "", "LATEST")
    response_types = body.get("FunctionResponseTypes", base.function_response_types)
    if not isinstance(response_types, list) or not set(response_types) <= RESPONSE_TYPES:
        raise InvalidParameterValueError(
            "FunctionResponseTypes may only contain ReportBatchItemFailures."
        )
    record_age = _integer(body, "MaximumRecordAgeInSeconds", base.maximum_record_age_s, -1, 604_800)
    if 0 <= record_age < 60:
        raise InvalidParameterValueError(
            "MaximumRecordAgeInSeconds must be -1 or from 60 to 604800."
        )
    destination = body.get("DestinationConfig", base.destination_config)
    if not isinstance(destination, dict):
        raise InvalidParameterValueError("DestinationConfig must be an object.")
    return {
        "batch_size": _integer(body, "BatchSize", base.batch_size, 1, 10_000),
        "maximum_batching_window_s": _integer(
            body, "MaximumBatchingWindowInSeconds", base.maximum_batching_window_s, 0, 300
        ),
        "maximum_retry_attempts": _integer(
            body, "MaximumRetryAttempts", base.maximum_retry_attempts, -1, 10_000
        ),
        "maximum_record_age_s": record_age,
        "bisect_on_error": _boolean(body, "BisectBatchOnFunctionError", base.bisect_on_error),
        "function_response_types": list(response_types),
        "parallelization_factor": _integer(
            body, "ParallelizationFactor", base.parallelization_factor, 1, 10
        ),
        "destination_config": destination,
        "enabled": _boolean(body, "Enabled", base.enabled),
    }


def new_mapping(body: dict[str, Any], function_arn: str) -> EventSourceMapping:
    """A mapping from a CreateEventSourceMapping body (function already resolved)."""
    source = body.get("EventSourceArn")
    if not isinstance(source, str) or stream_table(source) is None:
        raise InvalidParameterValueError(
            "EventSourceArn must be a DynamoDB stream ARN "
            "(arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL)."
        )
    settings = _settings(body, None)
    return EventSourceMapping(
        uuid=str(uuid.uuid4()),
        event_source_arn=source,
        function_arn=function_arn,
        starting_position=starting_position(body),
        **settings,
    )


def starting_position(body: dict[str, Any]) -> str:
    """The body's StartingPosition, one a DynamoDB stream takes."""
    position = body.get("StartingPosition")
    if position not in STARTING_POSITIONS:
        raise InvalidParameterValueError(
            "StartingPosition must be TRIM_HORIZON or LATEST for a DynamoDB stream."
        )
    return str(position)


def apply_update(
    mapping: EventSourceMapping, body: dict[str, Any], function_arn: str | None
) -> None:
    """Apply an UpdateEventSourceMapping body to `mapping` (validated first, all or nothing)."""
    settings = _settings(body, mapping)
    for key, value in settings.items():
        setattr(mapping, key, value)
    if function_arn:
        mapping.function_arn = function_arn
    mapping.last_modified = time.time()
