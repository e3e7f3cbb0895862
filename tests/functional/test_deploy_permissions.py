"""Least privilege, checked against the calls the functions really make (moto in-process).

Each function runs with its own services (as each Lambda has its own process and
caches); every AWS call it makes is recorded and turned into the IAM requests AWS
would authorize, which that function's policy (infra/policies.py) must allow — in
both renderings: the policy file `chalice deploy` attaches and the packaged
template's role. Silo provisioning and account deletion are checked call by call,
and requests just outside the stage's scope must be denied.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.dal.event_sources import MAPPING_OPTIONS
from chalicelib.dal.items import TTL_ATTRIBUTE, TenantItem
from chalicelib.dal.schema import create_tables, table_definition
from chalicelib.dal.tables import POOL_TENANTS_SUFFIX
from chalicelib.services import Services, build_services, use_services
from chalicelib.settings import Settings, Tenancy, get_settings
from infra.local.lambda_runtime import LambdaContext, LambdaFunction
from infra.local.websocket_gateway.events import (
    ApiInfo,
    ConnectionInfo,
    UpgradeRequest,
    connect_event,
    disconnect_event,
    message_event,
)
from infra.policies import (
    FUNCTIONS,
    TENANT_TABLE_ADMIN,
    FunctionPolicy,
    chalice_document,
    function_policies,
    template_document,
)
from infra.stages import Stage
from infra.tables import shared_tables
from infra.template import WEBSOCKET_API
from tests.functional.conftest import Api
from tests.support.fakes import FakeClock
from tests.support.iam import (
    ACCOUNT,
    REGION,
    CallRecorder,
    Request,
    allows,
    iam_requests,
    mappings_by_uuid,
    resolve_sub,
)

API_ID = "a1b2c3d4e5"
STAGE = "local"
PASSWORD = "correct horse battery"


@dataclass
class Deployment:
    """The app's functions on moto, each with its own services, and their calls."""

    settings: Settings
    policies: dict[str, FunctionPolicy]
    services: dict[str, Services]
    recorder: CallRecorder
    api: Api

    def run(self, function: str) -> Any:
        """Enter `function`: its services in place, its calls labelled with its name."""
        use_services(self.services[function])
        return self.recorder.running(function)

    def documents(self, function: str) -> list[dict[str, Any]]:
        """The function's policy as the policy file and as the template's role carry it."""
        policy = self.policies[function]
        references = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            WEBSOCKET_API: API_ID,
        }
        return [
            chalice_document(policy),
            resolve_sub(template_document(policy, WEBSOCKET_API), references),
        ]

    def requests(self, function: str) -> list[Request]:
        mapped = mappings_by_uuid(self.recorder.calls)
        return [r for call in self.recorder.of(function) for r in iam_requests(call, mapped)]


def _fan_out_function(settings: Settings) -> None:
    """The fan-out function as moto knows it (mappings must name an existing function)."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fan-out", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def fan_out(event, context):\n    return {}\n")
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=settings.fanout_function_name,
        Runtime="python3.11",
        Role=role,
        Handler="app.fan_out",
        Code={"ZipFile": code.getvalue()},
    )


@pytest.fixture
def tenancy() -> str:
    return "silo"


@pytest.fixture
def deployment(monkeypatch: pytest.MonkeyPatch, tenancy: str) -> Iterator[Deployment]:
    monkeypatch.setenv("USERDB_STAGE", STAGE)
    monkeypatch.setenv("USERDB_TENANCY", tenancy)
    monkeypatch.setenv("USERDB_TABLE_PREFIX", f"perm-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv(
        "USERDB_WEBSOCKET_ENDPOINT", f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"
    )
    monkeypatch.delenv("USERDB_DYNAMODB_ENDPOINT", raising=False)
    monkeypatch.delenv("USERDB_LAMBDA_ENDPOINT", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    stage = Stage(name=STAGE, api_gateway_stage=STAGE, settings=settings, options={})
    # moto runs mapped functions through Docker, which is not here: it logs that and goes on.
    with mock_aws(config={"lambda": {"use_docker": False}}):
        create_tables(boto3.client("dynamodb", region_name=REGION), shared_tables(settings))
        _fan_out_function(settings)
        clock = FakeClock()
        services = {function: build_services(settings, clock) for function in FUNCTIONS}
        recorder = CallRecorder()
        from app import app

        with recorder.recording(), Client(app) as client:
            yield Deployment(
                settings,
                {p.function: p for p in function_policies(stage)},
                services,
                recorder,
                Api(client),
            )
    use_services(None)
    get_settings.cache_clear()


def _websocket(connection_id: str) -> ConnectionInfo:
    api = ApiInfo(API_ID, STAGE, f"{API_ID}.execute-api.{REGION}.amazonaws.com")
    return ConnectionInfo(connection_id, 0, "203.0.113.9", "pytest", api)


def _context(function: str) -> LambdaContext:
    return LambdaContext(LambdaFunction(f"userdb-{STAGE}-{function}", lambda e, c: None))


def _handler(name: str) -> Any:
    from app import app

    return app.handler_map[name]


def _connect(d: Deployment, connection_id: str, token: str, client_id: str) -> dict[str, Any]:
    upgrade = UpgradeRequest((("Host", "example"),), f"token={token}&clientId={client_id}", 443)
    event = connect_event(_websocket(connection_id), upgrade, 0, "r-1")
    with d.run("websocket_connect"):
        return dict(_handler("connect")(event, _context("websocket_connect")))


def _message(d: Deployment, connection_id: str, body: dict[str, Any]) -> None:
    event = message_event(
        _websocket(connection_id), "$default", json.dumps(body), 0, request_id="r", message_id="m"
    )
    with d.run("websocket_message"):
        _handler("message")(event, _context("websocket_message"))


def _disconnect(d: Deployment, connection_id: str) -> None:
    event = disconnect_event(_websocket(connection_id), 1000, "bye", 0, "r-3")
    with d.run("websocket_disconnect"):
        _handler("disconnect")(event, _context("websocket_disconnect"))


def _fan_out(d: Deployment, table_name: str, tenant_id: str, before: int, after: int) -> Any:
    """The fan-out on the `meta` record of a commit, as Lambda delivers it from the stream.

    Built here: moto's in-process Streams API does not serve DescribeStream.
    """
    ddb = boto3.client("dynamodb", region_name=REGION)
    stream_arn = ddb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    keys = {"pk": {"S": tenant_id}, "sk": {"S": "meta"}}
    record = {
        "eventID": "1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": 0,
            "Keys": keys,
            "OldImage": {**keys, "version": {"N": str(before)}},
            "NewImage": {**keys, "version": {"N": str(after)}},
            "SequenceNumber": "100",
            "SizeBytes": 60,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    with d.run("fan_out"):
        return _handler("fan_out")({"Records": [record]}, _context("fan_out"))


def _signup(d: Deployment, email: str) -> tuple[str, str]:
    with d.run("api_handler"):
        reply = d.api.call(
            "POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": "A"}
        )
        assert reply.status == 201, reply.body
        return str(reply.json["token"]), str(reply.json["user"]["id"])


def _lifetime(d: Deployment) -> str:
    """A user's whole life: sign-up, notes, two devices live, a revoked session, deletion."""
    token, user_id = _signup(d, "life@example.com")
    with d.run("api_handler"):
        assert d.api.call("POST", "/notes", {"text": "one"}, token=token).status == 201
        d.api.call("GET", "/notes", token=token)
    client_id = str(uuid.uuid4())
    assert _connect(d, "conn-1", token, client_id)["statusCode"] == 200
    _message(d, "conn-1", {"action": "hello", "since": None})
    _message(d, "conn-1", {"action": "ping", "version": 0})
    _message(d, "conn-1", {"action": "ack", "version": 1})
    # The same device reconnects: its older connection is closed.
    assert _connect(d, "conn-2", token, client_id)["statusCode"] == 200
    _message(d, "conn-2", {"action": "hello", "since": 1})
    with d.run("api_handler"):
        assert d.api.call("POST", "/notes", {"text": "two"}, token=token).status == 201
    silo = d.settings.tenancy is Tenancy.SILO
    table_name = d.settings.table_name(f"tenant-{user_id}" if silo else POOL_TENANTS_SUFFIX)
    assert _fan_out(d, table_name, user_id, 1, 2) == {"batchItemFailures": []}
    _disconnect(d, "conn-1")
    # Logging out closes the session's sockets; another session deletes the account.
    assert _connect(d, "conn-3", token, str(uuid.uuid4()))["statusCode"] == 200
    with d.run("api_handler"):
        assert d.api.call("POST", "/auth/logout", token=token).status == 204
        login = {"email": "life@example.com", "password": PASSWORD}
        second = d.api.call("POST", "/auth/login", login).json["token"]
        assert d.api.call("DELETE", "/me", token=second).status == 204
    return table_name


@pytest.mark.parametrize("tenancy", ["silo", "pool"])
def test_every_call_of_every_function_is_allowed_by_its_own_policy(deployment):
    # Given a user's whole life through every function of the app
    _lifetime(deployment)

    # Then each function made calls, and its policy allows every one of them, in both forms
    for function in FUNCTIONS:
        requests = deployment.requests(function)
        assert requests, f"{function} made no AWS call"
        for document in deployment.documents(function):
            denied = [r for r in requests if not allows(document, r)]
            assert denied == [], f"{function} would be denied: {denied}"


def _api_calls(d: Deployment, service: str, operation: str) -> list[dict[str, Any]]:
    return [
        c.params
        for c in d.recorder.of("api_handler")
        if c.service == service and c.operation == operation
    ]


def test_silo_provisioning_and_deletion_make_exactly_the_expected_calls(deployment):
    # Given a user's whole life
    table_name = _lifetime(deployment)
    fan_out = deployment.settings.fanout_function_name

    # Then sign-up created the tenant table from TenantItem's definition (keys, LSI, stream)
    expected = table_definition(TenantItem, table_name, TTL_ATTRIBUTE).request
    assert _api_calls(deployment, "dynamodb", "CreateTable") == [expected]
    assert expected["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    # ... turned TTL on, and mapped its stream to the fan-out with the mapping options
    assert _api_calls(deployment, "dynamodb", "UpdateTimeToLive") == [
        {
            "TableName": table_name,
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        }
    ]
    (created,) = _api_calls(deployment, "lambda", "CreateEventSourceMapping")
    assert created["FunctionName"] == fan_out
    assert created["EventSourceArn"].split("/stream/")[0].endswith(f"table/{table_name}")
    assert {k: created[k] for k in MAPPING_OPTIONS} == MAPPING_OPTIONS
    # And deletion removed that mapping, then the table
    mapped = mappings_by_uuid(deployment.recorder.calls)
    (deleted,) = _api_calls(deployment, "lambda", "DeleteEventSourceMapping")
    assert mapped[deleted["UUID"]].endswith(f":function:{fan_out}")
    assert _api_calls(deployment, "dynamodb", "DeleteTable") == [{"TableName": table_name}]
    # And the REST function uses every table-admin and Lambda action its policy grants
    used = {r.action for r in deployment.requests("api_handler")}
    assert set(TENANT_TABLE_ADMIN) <= used
    granted_lambda = {
        action
        for statement in chalice_document(deployment.policies["api_handler"])["Statement"]
        for action in statement["Action"]
        if action.startswith("lambda:")
    }
    assert granted_lambda == {a for a in used if a.startswith("lambda:")}


def _denied_everywhere(d: Deployment, function: str, request: Request) -> bool:
    return not any(allows(document, request) for document in d.documents(function))


def test_requests_just_outside_the_stage_are_denied(deployment):
    # Given the REST function's policy (the broadest) and the stage's names
    prefix = deployment.settings.table_prefix
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
    fan_out = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{deployment.settings.fanout_function_name}"
    )
    other_function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:userdb-{STAGE}-api"
    mapping = f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:1234"
    outside = [
        # tables of another stage, or shared tables it must never create or delete
        Request("dynamodb:CreateTable", f"{table}/other-{prefix}-tenant-usr_x"),
        Request("dynamodb:CreateTable", f"{table}/{prefix}-accounts"),
        Request("dynamodb:DeleteTable", f"{table}/{prefix}-accounts"),
        Request("dynamodb:DeleteTable", f"{table}/{prefix}-tenants"),
        Request("dynamodb:PutItem", f"{table}/userdb-prod-accounts"),
        Request("dynamodb:Scan", f"{table}/{prefix}-accounts"),
        Request("dynamodb:UpdateTable", f"{table}/{prefix}-tenant-usr_0123456789abcdef"),
        # mappings to any function but the fan-out
        Request("lambda:CreateEventSourceMapping", "*", {"lambda:FunctionArn": other_function}),
        Request("lambda:DeleteEventSourceMapping", mapping, {"lambda:FunctionArn": other_function}),
        Request("lambda:UpdateEventSourceMapping", mapping, {"lambda:FunctionArn": fan_out}),
        Request("lambda:InvokeFunction", fan_out),
        # another WebSocket API or stage
        Request(
            "execute-api:ManageConnections",
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/prod/DELETE/@connections/c",
        ),
    ]
    # Then none of them is allowed
    allowed = [r for r in outside if not _denied_everywhere(deployment, "api_handler", r)]
    assert allowed == []
    # And the functions that only read tenant data cannot write it or manage tables
    tenant = f"{table}/{prefix}-tenant-usr_0123456789abcdef"
    for function in ("websocket_message", "fan_out"):
        for action in ("dynamodb:PutItem", "dynamodb:CreateTable", "dynamodb:DeleteTable"):
            assert _denied_everywhere(deployment, function, Request(action, tenant)), (
                function,
                action,
            )
    # And only the REST function may create mappings
    create = Request("lambda:CreateEventSourceMapping", "*", {"lambda:FunctionArn": fan_out})
    assert not _denied_everywhere(deployment, "api_handler", create)
    for function in set(FUNCTIONS) - {"api_handler"}:
        assert _denied_everywhere(deployment, function, create), function
