"""Any Chalice app runs with its own template: a chat app in the shape of Chalice's WebSocket
tutorial (tests/integration/apps/chat_app), started with `--template resources.json`, gets
its table (keys, index, stream, TTL), its handlers' environment and its stream mapping
from that file, and nothing of userdb's. Real runtime, real sockets, real boto3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from tests.support.runtime_process import RuntimeProcess, connect, start_runtime

CHAT_APP = Path(__file__).resolve().parent / "apps" / "chat_app"
TABLE = "chat-test-local-chat"  # TableName: ${AWS::StackName}-chat


@pytest.fixture(scope="module")
def chat() -> Iterator[RuntimeProcess]:
    runtime = start_runtime(CHAT_APP, "--template", str(CHAT_APP / "resources.json"))
    yield runtime
    runtime.stop()


def ask(ws: websocket.WebSocket, message: dict[str, str]) -> dict[str, str]:
    ws.send(json.dumps(message))
    return dict(json.loads(ws.recv()))


def test_the_app_gets_its_own_table_as_its_template_declares_it(chat: RuntimeProcess) -> None:
    dynamodb = chat.client("dynamodb")
    # Only the template's table: none of userdb's
    assert dynamodb.list_tables()["TableNames"] == [TABLE]
    table = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["ReverseLookup"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")


def test_the_templates_stream_mapping_is_made_on_the_local_stream(chat: RuntimeProcess) -> None:
    stream_arn = chat.client("dynamodb").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    mappings = chat.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert [(m["EventSourceArn"], m["FunctionArn"].rsplit(":", 1)[-1]) for m in mappings] == [
        (stream_arn, "chat-test-local-broadcast")
    ]
    assert (mappings[0]["BatchSize"], mappings[0]["MaximumRetryAttempts"]) == (10, 2)


def test_handlers_see_their_template_variables_resolved_locally(chat: RuntimeProcess) -> None:
    ws = connect(chat)
    try:
        seen = ask(ws, {"action": "env"})
    finally:
        ws.close()
    stream_arn = chat.client("dynamodb").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    assert seen == {
        "TABLE": TABLE,  # Ref ChatTable
        "STREAM_ARN": stream_arn,  # Fn::GetAtt ChatTable.StreamArn
        # Fn::Sub of the WebSocket API's execute-api URL: the local @connections endpoint
        "MANAGEMENT_ENDPOINT": f"http://127.0.0.1:{chat.ws_port}/local",
        "CHAT_GREETING": "welcome",  # the stage's own variable
    }


def test_a_message_goes_through_the_table_stream_and_function_to_the_room(
    chat: RuntimeProcess,
) -> None:
    # Given two clients in a room
    ann, bob = connect(chat), connect(chat)
    try:
        assert ask(ann, {"action": "join", "room": "tea"}) == {"joined": "tea"}
        assert ask(bob, {"action": "join", "room": "tea"}) == {"joined": "tea"}
        # When one says something (a put to the table; the template maps its stream)
        ann.send(json.dumps({"action": "say", "room": "tea", "text": "hello"}))
        # Then the stream's function relays it to both, through @connections
        assert json.loads(bob.recv()) == {"room": "tea", "text": "hello"}
        assert json.loads(ann.recv()) == {"room": "tea", "text": "hello"}
    finally:
        ann.close()
        bob.close()
