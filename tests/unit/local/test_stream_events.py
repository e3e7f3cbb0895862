"""Stream records become Lambda DynamoDB events that Powertools' model accepts."""

from datetime import UTC, datetime

from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

from infra.local.streams.events import TTL_USER_IDENTITY, to_lambda_event, to_lambda_record
from infra.local.ttl_sweeper import TtlRemovals
from tests.support.streams_fakes import STREAM_ARN, stream_record


def test_records_get_arn_region_and_numeric_time_and_validate():
    # Given a record as DynamoDB Local returns it (region "ddblocal", no eventSourceARN)
    record = stream_record(7, key="a")
    # When it is converted for a mapping in us-east-1
    event = to_lambda_event([to_lambda_record(record, STREAM_ARN, "us-east-1")])
    # Then Lambda's fields are filled in and Powertools' model validates it
    converted = event["Records"][0]
    assert converted["eventSourceARN"] == STREAM_ARN
    assert converted["awsRegion"] == "us-east-1"
    assert isinstance(converted["dynamodb"]["ApproximateCreationDateTime"], float)
    assert "userIdentity" not in converted
    parsed = DynamoDBStreamModel.model_validate(event)
    assert parsed.Records[0].dynamodb.Keys == {"pk": "a"}
    assert parsed.Records[0].dynamodb.SequenceNumber == f"{7:021d}"


def test_sdk_datetimes_become_epoch_seconds():
    # Given a record parsed by an SDK (a datetime instead of a number)
    record = stream_record(1)
    record["dynamodb"]["ApproximateCreationDateTime"] = datetime(2027, 1, 1, tzinfo=UTC)
    # When converted
    converted = to_lambda_record(record, STREAM_ARN, "eu-west-1")
    # Then the time is numeric epoch seconds
    assert (
        converted["dynamodb"]["ApproximateCreationDateTime"]
        == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    )


def test_ttl_removals_are_told_apart_from_user_deletes():
    # Given the sweeper deleted item k1 whose TTL was 100
    removals = TtlRemovals()
    removals.add("things", {"pk": {"S": "k1"}}, {"N": "100"}, now=1_000.0)
    swept = stream_record(1, key="k1", event_name="REMOVE")
    swept["dynamodb"]["OldImage"] = {"pk": {"S": "k1"}, "expires": {"N": "100"}}
    by_user = stream_record(2, key="k2", event_name="REMOVE")
    # When the REMOVE records are identified and converted
    identity = removals.identify("things", swept, now=1_001.0)
    events = to_lambda_event(
        [
            to_lambda_record(swept, STREAM_ARN, "us-east-1", identity),
            to_lambda_record(
                by_user, STREAM_ARN, "us-east-1", removals.identify("things", by_user)
            ),
        ]
    )
    # Then only the sweeper's carries TTL's userIdentity, and both validate
    assert identity == TTL_USER_IDENTITY
    parsed = DynamoDBStreamModel.model_validate(events)
    assert parsed.Records[0].userIdentity is not None
    assert parsed.Records[0].userIdentity.principalId == "dynamodb.amazonaws.com"
    assert parsed.Records[1].userIdentity is None


def test_a_rewritten_item_is_not_taken_for_a_ttl_removal():
    # Given the sweeper deleted k1 (TTL 100), then a user re-created it with TTL 900 and deleted it
    removals = TtlRemovals()
    removals.add("things", {"pk": {"S": "k1"}}, {"N": "100"}, now=1_000.0)
    record = stream_record(3, key="k1", event_name="REMOVE")
    record["dynamodb"]["OldImage"] = {"pk": {"S": "k1"}, "expires": {"N": "900"}}
    # When identified / Then it is the user's
    assert removals.identify("things", record, now=1_001.0) is None


def test_dynamodb_locals_own_ttl_removals_become_service_removes():
    # Given a record of DynamoDB Local 3.x's own TTL deletion (an event name no SDK knows)
    record = stream_record(4, key="k4", event_name="UNKNOWN_TO_SDK_VERSION")
    del record["dynamodb"]["NewImage"]
    record["dynamodb"]["OldImage"] = {"pk": {"S": "k4"}, "expires": {"N": "100"}}
    # When converted
    event = to_lambda_event([to_lambda_record(record, STREAM_ARN, "us-east-1")])
    # Then it is the REMOVE that AWS's TTL would send
    parsed = DynamoDBStreamModel.model_validate(event)
    assert parsed.Records[0].eventName == "REMOVE"
    assert event["Records"][0]["userIdentity"] == TTL_USER_IDENTITY
