"""Which bodies a route takes: JSON, and JSON Merge Patch on PATCH (the API's contract)."""

import pytest
from chalice.app import Request

from chalicelib.api.http import check_media_type
from chalicelib.errors import UnsupportedMediaTypeError


def request(method: str, content_type: str | None, body: str | None = '{"a":1}') -> Request:
    headers = {"content-type": content_type} if content_type is not None else {}
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": headers,
            "pathParameters": None,
            "requestContext": {"httpMethod": method, "resourcePath": "/x"},
            "body": body,
            "stageVariables": None,
        }
    )


@pytest.mark.parametrize(
    ("method", "content_type"),
    [
        ("POST", "application/json"),
        ("PUT", "application/json; charset=utf-8"),
        ("PATCH", "application/merge-patch+json"),
        ("PATCH", "Application/JSON"),
    ],
)
def test_json_bodies_pass(method, content_type):
    check_media_type(request(method, content_type))


@pytest.mark.parametrize(
    ("method", "content_type"),
    [
        ("POST", None),  # a body with no type: what a cross-site page can send unasked
        ("POST", ""),
        ("POST", "text/plain"),
        ("POST", "application/merge-patch+json"),  # only PATCH takes a merge patch
        ("PUT", "application/x-www-form-urlencoded"),
        ("PATCH", "application/json-patch+json"),  # RFC 6902 is not RFC 7386
    ],
)
def test_other_bodies_are_415(method, content_type):
    with pytest.raises(UnsupportedMediaTypeError):
        check_media_type(request(method, content_type))


@pytest.mark.parametrize("body", [None, ""])
def test_no_body_needs_no_type(body):
    check_media_type(request("POST", None, body))
