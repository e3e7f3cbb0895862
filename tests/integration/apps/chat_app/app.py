"""A chat app in the shape of Chalice's WebSocket tutorial, and nothing of userdb's:
it knows its table only as the TABLE variable its merge template (resources.json) sets,
talks to DynamoDB with plain boto3, and relays messages through a stream-triggered
function that its template maps to the table's stream.

Messages: {"action": "join", "room": R}, then {"action": "say", "room": R, "text": T};
everyone in the room gets {"room": R, "text": T} from the stream's function.
{"action": "env"} answers with the variables the handler sees.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from chalice.app import Chalice, WebsocketEvent

app = Chalice(app_name="chat-test")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.session.Session()

# As the tutorial does: read at import, a plain resource (no endpoint given).
TABLE = boto3.resource("dynamodb").Table(os.environ.get("TABLE", ""))


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> None:
    TABLE.put_item(Item={"PK": event.connection_id, "SK": "username_"})


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    found = TABLE.query(KeyConditionExpression=Key("PK").eq(event.connection_id))
    for item in found["Items"]:
        TABLE.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})


@app.on_ws_message()
def message(event: WebsocketEvent) -> None:
    body = json.loads(event.body)
    action = body.get("action")
    if action == "join":
        TABLE.put_item(Item={"PK": event.connection_id, "SK": f"room_{body['room']}"})
        app.websocket_api.send(event.connection_id, json.dumps({"joined": body["room"]}))
    elif action == "say":
        item = {"PK": f"room_{body['room']}", "SK": f"msg_{time.time_ns()}", "text": body["text"]}
        TABLE.put_item(Item=item)
    elif action == "env":
        names = ("TABLE", "STREAM_ARN", "MANAGEMENT_ENDPOINT", "CHAT_GREETING")
        app.websocket_api.send(
            event.connection_id, json.dumps({n: os.environ.get(n) for n in names})
        )


@app.lambda_function(name="broadcast")
def broadcast(event: dict[str, Any], context: Any) -> None:
    """Mapped to the table's stream by the template: relays each new message to its room."""
    management = boto3.client(
        "apigatewaymanagementapi", endpoint_url=os.environ["MANAGEMENT_ENDPOINT"]
    )
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage") or {}
        if record["eventName"] != "INSERT" or not image.get("SK", {}).get("S", "").startswith(
            "msg_"
        ):
            continue
        room = image["PK"]["S"]
        members = TABLE.query(IndexName="ReverseLookup", KeyConditionExpression=Key("SK").eq(room))
        text = json.dumps({"room": room.removeprefix("room_"), "text": image["text"]["S"]})
        for member in members["Items"]:
            management.post_to_connection(ConnectionId=str(member["PK"]), Data=text.encode())
