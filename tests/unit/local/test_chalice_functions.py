"""Functions named as `chalice deploy` names them, and the app's sender pointed locally."""

from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from chalice.app import Chalice

from infra.local.lambda_runtime import (
    chalice_functions,
    rest_function_name,
    websocket_function_names,
)
from infra.local.websocket_gateway.chalice_sender import point_websocket_api
from infra.local.websocket_gateway.events import (
    ApiInfo,
    ConnectionInfo,
    disconnect_event,
)

CONFIG = SimpleNamespace(chalice_stage="dev", lambda_memory_size=256, lambda_timeout=5)


def websocket_app() -> Chalice:
    app = Chalice(app_name="chat")
    app.experimental_feature_flags.update(["WEBSOCKETS"])

    @app.route("/")
    def index():
        return {}

    @app.on_ws_connect()
    def connect(event):
        return None

    @app.on_ws_message()
    def message(event):
        return None

    @app.on_ws_disconnect()
    def disconnect(event):
        app.websocket_api.send(event.connection_id, "bye")

    return app


def test_functions_are_named_as_chalice_deploy_names_them():
    app = websocket_app()
    assert rest_function_name(app, CONFIG) == "chat-dev"
    assert websocket_function_names(app, CONFIG) == {
        "$connect": "chat-dev-websocket_connect",
        "$default": "chat-dev-websocket_message",
        "$disconnect": "chat-dev-websocket_disconnect",
    }
    runtime = chalice_functions(app, CONFIG, "us-east-1")
    assert set(runtime.functions) == {
        "chat-dev",
        "chat-dev-websocket_connect",
        "chat-dev-websocket_message",
        "chat-dev-websocket_disconnect",
    }
    assert runtime.find("chat-dev").memory_mb == 256
    # Each under the logical id `chalice package` gives it, which merge templates name
    assert {f.logical_id: name for name, f in runtime.functions.items()} == {
        "APIHandler": "chat-dev",
        "WebsocketConnect": "chat-dev-websocket_connect",
        "WebsocketMessage": "chat-dev-websocket_message",
        "WebsocketDisconnect": "chat-dev-websocket_disconnect",
    }


def test_the_apps_sender_posts_to_the_local_endpoint_whatever_chalice_configures():
    # Given an app whose sender would build an execute-api URL from the event's apiId
    app = websocket_app()
    app.websocket_api.session = boto3.session.Session()
    app.websocket_api.configure("abc.execute-api.us-east-1.amazonaws.com", "dev")
    # When the runtime points it at the local endpoint and Chalice configures it again
    point_websocket_api(app, "http://127.0.0.1:8001/dev")
    app.websocket_api.configure_from_api_id("abcde12345", "dev")
    app.websocket_api.configure("other.example.com", "prod")
    # Then its client talks to the local endpoint
    client = app.websocket_api._get_client()
    assert client.meta.endpoint_url == "http://127.0.0.1:8001/dev"


def test_a_handler_run_keeps_the_local_endpoint():
    # Given a pointed app, and no server listening (the post fails to connect)
    app = websocket_app()
    app.websocket_api.session = boto3.session.Session()
    point_websocket_api(app, "http://127.0.0.1:1/dev")
    info = ConnectionInfo("c1", 0, "127.0.0.1", None, ApiInfo("abcde12345", "dev", "h"))
    # When Chalice runs a websocket handler (it configures from the event's apiId first)
    with pytest.raises(EndpointConnectionError) as refused:
        app.handler_map["disconnect"](disconnect_event(info, 1000, "", 0, "r"), None)
    # Then the post went to the local endpoint, not execute-api
    assert "http://127.0.0.1:1/dev/" in str(refused.value)
