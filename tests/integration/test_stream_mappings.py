"""The runtime as a user runs it, on moto, DynamoDB Local and LocalStack (in the LocalStack
pass), with a small Chalice app that is not userdb:
DynamoDB writes through --ddb-port reach `on_dynamodb_record` handlers and functions mapped
through the Lambda API (boto3), with Lambda's batching, retry and TTL semantics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

from tests.support.dynamodb_local import DynamoDBLocal
from tests.support.local_runtime import Recorder, RuntimeProcess, require_dynamodb_local

APP_DIR = Path(__file__).parent / "apps" / "streams_app"
RECORDER = "streams-test-local-recorder"


class Stack:
    """A running runtime, its clients and the test app's recorder."""

    def __init__(self, runtime: RuntimeProcess, recorder: Recorder, events_table: str) -> None:
        self.runtime, self.recorder, self.events_table = runtime, recorder, events_table
        self.dynamodb = runtime.client("dynamodb")
        self.lambda_api = runtime.client("lambda")

    def create_table(self, name: str | None = None, ttl: str | None = None) -> tuple[str, str]:
        name = name or f"t-{uuid.uuid4().hex[:10]}"
        described = self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        if ttl:
            self.dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
            )
        return name, described["TableDescription"]["LatestStreamArn"]

    def put(self, table: str, key: str, **attributes: Any) -> None:
        item = {"pk": {"S": key}, **attributes}
        self.dynamodb.put_item(TableName=table, Item=item)

    def map(self, stream_arn: str, **settings: Any) -> str:
        answer = self.lambda_api.create_event_source_mapping(
            EventSourceArn=stream_arn,
            FunctionName=RECORDER,
            StartingPosition=settings.pop("StartingPosition", "TRIM_HORIZON"),
            **settings,
        )
        return str(answer["UUID"])

    def map_and_settle(self, table: str, stream_arn: str, **settings: Any) -> str:
        """Map, then wait for a first record: later writes are then read as one batch."""
        mapping_id = self.map(stream_arn, **settings)
        self.put(table, "warm-up")
        self.recorder.wait_for(lambda inv: ["warm-up"] in batches(inv, table))
        return mapping_id


def batches(
    invocations: list[dict[str, Any]], table: str, function: str = "recorder"
) -> list[list[str]]:
    """Keys of each invocation of `function` that carried records of `table`, in order."""
    found = []
    for invocation in invocations:
        records = [
            r for r in invocation["event"]["Records"] if f":table/{table}/" in r["eventSourceARN"]
        ]
        if invocation["function"] == function and records:
            found.append([r["dynamodb"]["Keys"]["pk"]["S"] for r in records])
    return found


@pytest.fixture(
    scope="module",
    params=["moto", "dynamodb-local", pytest.param("localstack", marks=pytest.mark.localstack)],
)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    backend, endpoint = request.param, []
    if backend == "dynamodb-local":
        require_dynamodb_local()
    if backend == "localstack":  # the runtime fronts LocalStack's DynamoDB and Streams
        backend, endpoint = (
            "endpoint",
            ["--endpoint", request.getfixturevalue("localstack_dynamodb").endpoint],
        )
    folder = tmp_path_factory.mktemp(f"runtime-{request.param}")
    events_table = f"events-{uuid.uuid4().hex[:8]}"
    runtime = RuntimeProcess(
        APP_DIR,
        folder / "data",
        backend=backend,
        args=[*endpoint, "--stream-interval", "20", "--ttl-interval", "0.3"],
        env={"RECORDER_FILE": str(folder / "recorded.jsonl"), "EVENTS_TABLE": events_table},
    ).start()
    stack = Stack(runtime, Recorder(folder / "recorded.jsonl"), events_table)
    stack.create_table(events_table)
    yield stack
    runtime.stop()


def test_a_write_reaches_the_apps_stream_handler_with_a_valid_event(stack: Stack) -> None:
    # Given the app's on_dynamodb_record handler on its events table (made after start-up)
    stream_arn = stack.dynamodb.describe_table(TableName=stack.events_table)["Table"][
        "LatestStreamArn"
    ]
    # When an item is written through --ddb-port
    stack.put(stack.events_table, "hello", text={"S": "hi"})
    # Then the handler gets it, as Lambda would deliver it
    found = stack.recorder.wait_for(
        lambda inv: ["hello"] in batches(inv, stack.events_table, "on_event")
    )
    invocation = next(
        i for i in found if batches([i], stack.events_table, "on_event") == [["hello"]]
    )
    assert invocation["function_name"] == "streams-test-local-on_event"
    parsed = DynamoDBStreamModel.model_validate(invocation["event"])
    record = parsed.Records[0]
    assert record.eventSourceARN == stream_arn
    assert record.awsRegion == "us-east-1"
    assert record.eventName == "INSERT"
    assert record.dynamodb.NewImage == {"pk": "hello", "text": "hi"}


def test_a_mapping_made_through_the_lambda_api_delivers_until_deleted(stack: Stack) -> None:
    # Given a table and a mapping created with boto3's lambda client
    table, stream_arn = stack.create_table()
    mapping_id = stack.map(stream_arn, BatchSize=10)
    listed = stack.lambda_api.list_event_source_mappings(EventSourceArn=stream_arn)
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [mapping_id]
    # When an item is written / Then the mapped function receives it
    stack.put(table, "first")
    stack.recorder.wait_for(lambda inv: batches(inv, table) == [["first"]])
    # When the mapping is deleted and more is written
    assert stack.lambda_api.delete_event_source_mapping(UUID=mapping_id)["State"] == "Deleting"
    with pytest.raises(stack.lambda_api.exceptions.ResourceNotFoundException):
        stack.lambda_api.get_event_source_mapping(UUID=mapping_id)
    stack.put(table, "second")
    stack.put(stack.events_table, f"marker-{table}")
    # Then the app's own mapping still delivers, but nothing more reaches the deleted one
    stack.recorder.wait_for(
        lambda inv: [f"marker-{table}"] in batches(inv, stack.events_table, "on_event")
    )
    time.sleep(0.3)
    assert batches(stack.recorder.invocations(), table) == [["first"]]


def test_lambda_api_errors_are_the_ones_boto3_knows(stack: Stack) -> None:
    _, stream_arn = stack.create_table()
    api = stack.lambda_api
    with pytest.raises(api.exceptions.ResourceNotFoundException):
        api.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName="nope", StartingPosition="LATEST"
        )
    with pytest.raises(api.exceptions.InvalidParameterValueException):
        api.create_event_source_mapping(
            EventSourceArn=stream_arn,
            FunctionName=RECORDER,
            StartingPosition="LATEST",
            MaximumRecordAgeInSeconds=30,
        )
    with pytest.raises(api.exceptions.InvalidParameterValueException):
        api.create_event_source_mapping(
            EventSourceArn=stream_arn + "x", FunctionName=RECORDER, StartingPosition="LATEST"
        )
    stack.map(stream_arn)
    with pytest.raises(api.exceptions.ResourceConflictException):
        stack.map(stream_arn)


def test_report_batch_item_failures_retries_from_the_failed_item(stack: Stack) -> None:
    # Given a mapping with ReportBatchItemFailures and a batch where one item fails once
    table, stream_arn = stack.create_table()
    stack.map_and_settle(
        table, stream_arn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    items = [{"PutRequest": {"Item": {"pk": {"S": f"i{n}"}}}} for n in range(5)]
    items[2]["PutRequest"]["Item"].update({"fail": {"S": "item"}, "times": {"N": "1"}})
    # When the five items are written in one request
    stack.dynamodb.batch_write_item(RequestItems={table: items})
    # Then the second invocation starts at the failed item, with what followed it
    found = stack.recorder.wait_for(lambda inv: len(batches(inv, table)) >= 3)
    first, second = batches(found, table)[1:3]
    assert sorted(first) == [f"i{n}" for n in range(5)]
    assert second == first[first.index("i2") :]


def test_bisect_isolates_a_failing_record_then_retries_run_out(stack: Stack) -> None:
    # Given bisect on error, one retry, and a batch of four with one record that always fails
    table, stream_arn = stack.create_table()
    stack.map_and_settle(
        table, stream_arn, BatchSize=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1
    )
    items = [{"PutRequest": {"Item": {"pk": {"S": f"b{n}"}}}} for n in range(4)]
    items[1]["PutRequest"]["Item"]["fail"] = {"S": "error"}
    stack.dynamodb.batch_write_item(RequestItems={table: items})

    def good_ones_delivered(inv: list[dict[str, Any]]) -> bool:
        delivered = {k for batch in batches(inv, table) if "b1" not in batch for k in batch}
        return {"b0", "b2", "b3"} <= delivered

    # When the batch has been worked through
    found = stack.recorder.wait_for(good_ones_delivered)
    # Then the bad record was tried alone twice (one retry), and the shard moved on
    got = batches(found, table)[1:]
    assert sorted(got[0]) == ["b0", "b1", "b2", "b3"]
    assert got.count(["b1"]) == 2
    stack.put(table, "after")
    stack.recorder.wait_for(lambda inv: ["after"] in batches(inv, table))


def test_maximum_retry_attempts_then_the_shard_moves_on(stack: Stack) -> None:
    # Given two retries and a record that always fails, followed by a good one
    table, stream_arn = stack.create_table()
    stack.map(stream_arn, BatchSize=1, MaximumRetryAttempts=2)
    stack.put(table, "bad", fail={"S": "error"})
    stack.put(table, "good")
    # Then the bad one is attempted three times in order, then the good one is delivered
    found = stack.recorder.wait_for(lambda inv: ["good"] in batches(inv, table))
    assert batches(found, table) == [["bad"], ["bad"], ["bad"], ["good"]]


def test_ttl_sweeper_removes_expired_items_as_service_removes(stack: Stack) -> None:
    # Given a TTL-enabled table with a mapping, one expired item and one live item
    table, stream_arn = stack.create_table(ttl="expires")
    stack.map(stream_arn)
    now = int(time.time())
    stack.put(table, "old", expires={"N": str(now - 10)})
    stack.put(table, "live", expires={"N": str(now + 3600)})

    def removals(inv: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            r
            for i in inv
            if i["function"] == "recorder"
            for r in i["event"]["Records"]
            if f":table/{table}/" in r["eventSourceARN"] and r["eventName"] == "REMOVE"
        ]

    # When the sweeper runs / Then the expired item is gone and its REMOVE says TTL did it
    found = stack.recorder.wait_for(lambda inv: bool(removals(inv)))
    [removal] = removals(found)
    assert removal["dynamodb"]["Keys"] == {"pk": {"S": "old"}}
    assert removal["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    DynamoDBStreamModel.model_validate({"Records": [removal]})
    assert "Item" not in stack.dynamodb.get_item(TableName=table, Key={"pk": {"S": "old"}})
    assert "Item" in stack.dynamodb.get_item(TableName=table, Key={"pk": {"S": "live"}})
    # And a user's own delete carries no userIdentity
    stack.dynamodb.delete_item(TableName=table, Key={"pk": {"S": "live"}})
    found = stack.recorder.wait_for(lambda inv: len(removals(inv)) == 2)
    assert "userIdentity" not in removals(found)[1]


def test_the_endpoint_backend_fronts_any_dynamodb_url(
    dynamodb_local: DynamoDBLocal, tmp_path: Path
) -> None:
    # Given the runtime pointed at a DynamoDB it does not own (the session's DynamoDB Local)
    events_table = f"events-{uuid.uuid4().hex[:8]}"
    recorder = Recorder(tmp_path / "recorded.jsonl")
    runtime = RuntimeProcess(
        APP_DIR,
        tmp_path / "data",
        backend="endpoint",
        args=["--endpoint", dynamodb_local.endpoint, "--stream-interval", "20"],
        env={"RECORDER_FILE": str(recorder.path), "EVENTS_TABLE": events_table},
    ).start()
    try:
        stack = Stack(runtime, recorder, events_table)
        stack.create_table(events_table)
        # When an item is written through the front
        stack.put(events_table, "via-endpoint")
        # Then the app's handler gets it, and the table is in the backend itself
        recorder.wait_for(lambda inv: ["via-endpoint"] in batches(inv, events_table, "on_event"))
        assert events_table in dynamodb_local.client().list_tables()["TableNames"]
    finally:
        runtime.stop()


def test_a_disabled_mapping_resumes_where_it_stopped(stack: Stack) -> None:
    # Given a working mapping
    table, stream_arn = stack.create_table()
    mapping_id = stack.map_and_settle(table, stream_arn)
    # When it is disabled through UpdateEventSourceMapping and items are written
    answer = stack.lambda_api.update_event_source_mapping(
        UUID=mapping_id, Enabled=False, BatchSize=7
    )
    assert answer["State"] == "Disabling"
    current = stack.lambda_api.get_event_source_mapping(UUID=mapping_id)
    assert (current["State"], current["BatchSize"]) == ("Disabled", 7)
    stack.put(table, "while-off")
    stack.put(stack.events_table, f"marker-off-{table}")
    stack.recorder.wait_for(
        lambda inv: [f"marker-off-{table}"] in batches(inv, stack.events_table, "on_event")
    )
    assert ["while-off"] not in batches(stack.recorder.invocations(), table)
    # Then enabling it delivers what was written meanwhile
    assert (
        stack.lambda_api.update_event_source_mapping(UUID=mapping_id, Enabled=True)["State"]
        == "Enabling"
    )
    stack.recorder.wait_for(lambda inv: ["while-off"] in batches(inv, table))
