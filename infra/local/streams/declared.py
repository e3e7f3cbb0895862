"""Mappings an app declares rather than creates through the Lambda API: its
`@app.on_dynamodb_record` handlers, and the `AWS::Lambda::EventSourceMapping` resources
of its template. The runtime keeps them in step with the declaration, on whatever
stream the named table has locally; no I/O here."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.local.lambda_runtime import FunctionNotFoundError, LambdaRuntime
from infra.local.streams.mappings import MappingOrigin, declared_mapping_id, stream_table

log = logging.getLogger("userdb.local.streams")


class DeclarationError(ValueError):
    """A declared mapping that cannot be made (not a stream, no such function)."""


@dataclass(frozen=True)
class DeclaredSource:
    """One declared mapping: the function, the stream as declared, and its settings
    under the Lambda API's names (StartingPosition, BatchSize, ...)."""

    function_arn: str
    stream_arn: str
    origin: MappingOrigin
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return stream_table(self.stream_arn) or ""

    @property
    def mapping_id(self) -> str:
        return declared_mapping_id(self.function_arn, self.table)


def chalice_stream_sources(app: Any, config: Any, functions: LambdaRuntime) -> list[DeclaredSource]:
    """The app's `on_dynamodb_record` handlers, with the function `chalice deploy` makes
    (one whose stream ARN is not one is skipped, with a warning)."""
    sources = []
    for source in app.event_sources:
        if not hasattr(source, "stream_arn") or not hasattr(source, "starting_position"):
            continue  # S3, SNS, SQS, Kinesis: not emulated
        name = f"{app.app_name}-{config.chalice_stage}-{source.name}"
        if stream_table(source.stream_arn) is None:
            log.warning("on_dynamodb_record of %s: %r is not a stream ARN", name, source.stream_arn)
            continue
        sources.append(
            DeclaredSource(
                function_arn=functions.find(name).arn,
                stream_arn=source.stream_arn,
                origin=MappingOrigin.CHALICE,
                settings={
                    "StartingPosition": source.starting_position,
                    "BatchSize": source.batch_size,
                    "MaximumBatchingWindowInSeconds": source.maximum_batching_window_in_seconds,
                },
            )
        )
    return sources


def template_stream_source(
    logical_id: str, properties: Mapping[str, Any], functions: LambdaRuntime
) -> DeclaredSource:
    """An `AWS::Lambda::EventSourceMapping`'s resolved Properties as a declared mapping."""
    stream_arn = properties.get("EventSourceArn")
    if not isinstance(stream_arn, str) or stream_table(stream_arn) is None:
        raise DeclarationError(
            f"{logical_id}: EventSourceArn {stream_arn!r} is not a DynamoDB stream "
            "(only DynamoDB streams are emulated)"
        )
    try:
        function_arn = functions.find(str(properties.get("FunctionName"))).arn
    except FunctionNotFoundError as error:
        raise DeclarationError(f"{logical_id}: {error}") from None
    settings = {
        key: value
        for key, value in properties.items()
        if key not in ("EventSourceArn", "FunctionName")
    }
    return DeclaredSource(function_arn, stream_arn, MappingOrigin.TEMPLATE, settings)
