"""Reading an app's template without I/O: intrinsic functions resolved to local names,
the app's API URLs to the local gateways, tables to CreateTable requests, and the
functions' environment merged (or refused when two functions disagree)."""

import json

import pytest

from infra.local.stack.app_stack import AppStack
from infra.local.stack.intrinsics import (
    FunctionNames,
    LocalReferences,
    Resolver,
    TableNames,
    TemplateError,
)
from infra.local.stack.tables import table_spec
from infra.local.stack.template import StackTemplate, parse_template, read_template
from infra.local.stack.urls import LocalApis

APIS = LocalApis("restid0001", "wsid000001", "127.0.0.1", 8000, 8001)
STREAM = "arn:aws:dynamodb:ddblocal:000000000000:table/chat/stream/2026-01-01T00:00:00.000"


def resolver():
    references = LocalReferences(
        region="us-east-1",
        stack_name="chat-local",
        parameters={"Prefix": "p"},
        tables={"Chat": TableNames("chat", "arn:aws:dynamodb:x:1:table/chat", STREAM)},
        functions={"Relay": FunctionNames("chat-local-relay", "arn:aws:lambda:x:1:function:r")},
        apis={"RestAPI": APIS.rest_api_id, "WebsocketAPI": APIS.websocket_api_id},
    )
    return Resolver(references, APIS.localise)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Chat"}, "chat"),
        ({"Ref": "Relay"}, "chat-local-relay"),
        ({"Ref": "Prefix"}, "p"),
        ({"Ref": "AWS::Region"}, "us-east-1"),
        ({"Fn::GetAtt": ["Chat", "StreamArn"]}, STREAM),
        ({"Fn::GetAtt": "Chat.Arn"}, "arn:aws:dynamodb:x:1:table/chat"),
        ({"Fn::Sub": "${AWS::StackName}-${Chat}"}, "chat-local-chat"),
        ({"Fn::Sub": "${Chat.StreamArn}"}, STREAM),
        ({"Fn::Sub": ["${X}/${!Literal}", {"X": {"Ref": "Prefix"}}]}, "p/${Literal}"),
        ({"Fn::Join": [",", ["a", {"Ref": "Chat"}]]}, "a,chat"),
        ({"A": {"Ref": "AWS::NoValue"}, "B": [{"Ref": "Chat"}]}, {"B": ["chat"]}),
    ],
)
def test_intrinsics_resolve_to_local_names(value, expected):
    assert resolver().resolve(value) == expected


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("https://restid0001.execute-api.us-east-1.amazonaws.com/dev", "http://127.0.0.1:8000/api"),
        (
            "https://restid0001.execute-api.us-east-1.amazonaws.com/dev/auth/x",
            "http://127.0.0.1:8000/api/auth/x",
        ),
        ("https://restid0001.execute-api.us-east-1.amazonaws.com", "http://127.0.0.1:8000"),
        ("https://wsid000001.execute-api.eu-west-1.amazonaws.com/dev", "http://127.0.0.1:8001/dev"),
        ("wss://wsid000001.execute-api.eu-west-1.amazonaws.com/dev", "ws://127.0.0.1:8001/dev"),
        # Someone else's API, or anything else, stays as it is
        ("https://other00001.execute-api.us-east-1.amazonaws.com/dev", None),
        ("https://example.com/", None),
    ],
)
def test_the_apps_own_api_urls_become_the_local_gateways(url, local):
    assert APIS.localise(url) == (local or url)


def test_a_sub_of_the_websocket_apis_url_resolves_to_the_local_connections_endpoint():
    template = "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/local"
    assert resolver().resolve({"Fn::Sub": template}) == "http://127.0.0.1:8001/local"


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Nothing"},
        {"Fn::GetAtt": ["Chat", "Nope"]},
        {"Fn::If": ["C", "a", "b"]},
        {"Fn::ImportValue": "x"},
        {"Ref": "AWS::NotificationARNs"},
    ],
)
def test_what_cannot_be_resolved_locally_is_named(value):
    with pytest.raises(TemplateError):
        resolver().resolve(value)


def test_tables_become_create_table_requests():
    spec = table_spec(
        "Chat",
        {
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "g",
                    "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                    "ContributorInsightsSpecification": {"Enabled": True},
                }
            ],
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "Tags": [{"Key": "a", "Value": "b"}],
        },
        "stack-Chat",
    )
    assert spec.name == "stack-Chat"  # no TableName: a stable name per stack
    assert spec.ttl_attribute == "expires"
    assert spec.request["BillingMode"] == "PAY_PER_REQUEST"
    assert spec.request["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert "ContributorInsightsSpecification" not in spec.request["GlobalSecondaryIndexes"][0]
    assert not {"SSESpecification", "Tags", "TimeToLiveSpecification"} & set(spec.request)
    with pytest.raises(TemplateError, match="KeySchema"):
        table_spec("Bad", {"AttributeDefinitions": []}, "x")


def test_the_template_is_sorted_into_what_the_runtime_acts_on():
    template = parse_template(
        {
            "Parameters": {"Stage": {"Type": "String", "Default": "dev"}, "NoDefault": {}},
            "Resources": {
                "Chat": {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": []}},
                "WebsocketMessage": {
                    "Properties": {"Environment": {"Variables": {"TABLE": {"Ref": "Chat"}}}}
                },
                "ApiHandlerRole": {"Properties": {"Policies": []}},
                "Map": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {"X": 1}},
                "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            },
        }
    )
    assert list(template.tables) == ["Chat"]
    assert template.environments == {"WebsocketMessage": {"TABLE": {"Ref": "Chat"}}}
    assert list(template.mappings) == ["Map"]
    assert template.parameters == {"Stage": "dev"}


def test_yaml_templates_with_short_forms_read_as_their_long_forms(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  WebsocketConnect:\n"
        "    Properties:\n"
        "      Environment:\n"
        "        Variables:\n"
        "          TABLE: !Ref Chat\n"
        "          STREAM: !GetAtt Chat.StreamArn\n"
        "          URL: !Sub 'https://${WebsocketAPI}.x'\n"
    )
    variables = read_template(path).environments["WebsocketConnect"]
    assert variables == {
        "TABLE": {"Ref": "Chat"},
        "STREAM": {"Fn::GetAtt": ["Chat", "StreamArn"]},
        "URL": {"Fn::Sub": "https://${WebsocketAPI}.x"},
    }
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([1]))
    with pytest.raises(TemplateError):
        read_template(broken)


def stack(environments):
    return AppStack(
        StackTemplate(environments=environments), APIS, region="us-east-1", stack_name="s"
    )


def test_functions_share_one_environment_and_a_disagreement_is_refused():
    agreeing = stack({"A": {"X": "1", "ON": True}, "B": {"X": "1", "Y": {"Ref": "AWS::Region"}}})
    assert agreeing.environment() == {"X": "1", "ON": "true", "Y": "us-east-1"}
    with pytest.raises(TemplateError, match="A and B set X to different values"):
        stack({"A": {"X": "1"}, "B": {"X": "2"}}).environment()
