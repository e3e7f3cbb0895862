"""Lambda API requests for event source mappings: validation and answers, as AWS gives them."""

import pytest

from infra.local.streams.mappings import (
    EventSourceMapping,
    InvalidParameterValueError,
    apply_update,
    new_mapping,
    stream_table,
)
from tests.support.streams_fakes import FUNCTION_ARN, STREAM_ARN


def create(**overrides):
    body = {"EventSourceArn": STREAM_ARN, "FunctionName": "handler", "StartingPosition": "LATEST"}
    body.update(overrides)
    return new_mapping(body, FUNCTION_ARN)


def test_defaults_are_lambdas():
    mapping = create()
    answer = mapping.to_api()
    assert answer["BatchSize"] == 100
    assert answer["MaximumRetryAttempts"] == -1
    assert answer["MaximumRecordAgeInSeconds"] == -1
    assert answer["BisectBatchOnFunctionError"] is False
    assert answer["State"] == "Creating"
    assert answer["FunctionArn"] == FUNCTION_ARN
    assert answer["EventSourceMappingArn"].endswith(f":event-source-mapping:{mapping.uuid}")


@pytest.mark.parametrize(
    "overrides",
    [
        {"EventSourceArn": "arn:aws:sqs:us-east-1:1:queue"},
        {"StartingPosition": "AT_TIMESTAMP"},
        {"StartingPosition": None},
        {"BatchSize": 0},
        {"BatchSize": 10_001},
        {"BatchSize": True},
        {"MaximumBatchingWindowInSeconds": 301},
        {"MaximumRetryAttempts": -2},
        {"MaximumRecordAgeInSeconds": 59},
        {"FunctionResponseTypes": ["Other"]},
        {"BisectBatchOnFunctionError": "yes"},
        {"FilterCriteria": {"Filters": [{"Pattern": "{}"}]}},
        {"TumblingWindowInSeconds": 30},
    ],
)
def test_invalid_or_unsupported_settings_are_rejected(overrides):
    with pytest.raises(InvalidParameterValueError):
        create(**overrides)


def test_update_changes_only_what_it_names_and_validates_first():
    mapping = create(BatchSize=5, MaximumRetryAttempts=3)
    apply_update(mapping, {"BisectBatchOnFunctionError": True}, None)
    assert (mapping.batch_size, mapping.maximum_retry_attempts, mapping.bisect_on_error) == (
        5,
        3,
        True,
    )
    with pytest.raises(InvalidParameterValueError):
        apply_update(mapping, {"BatchSize": 2, "MaximumRecordAgeInSeconds": 5}, None)
    assert mapping.batch_size == 5


def test_policy_and_persisted_form_round_trip():
    mapping = create(
        FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRecordAgeInSeconds=60
    )
    assert mapping.policy(0.1).report_batch_item_failures
    restored = EventSourceMapping.from_json(mapping.to_json())
    assert restored.to_api() == mapping.to_api()


def test_stream_table_reads_the_table_name():
    assert stream_table(STREAM_ARN) == "things"
    assert stream_table("arn:aws:dynamodb:us-east-1:1:table/things") is None
