"""GET /openapi.json through the app: public, the document of the app's own routes."""

from __future__ import annotations

import pytest
from chalice.app import Request

from app import app
from chalicelib.api.openapi import api_url
from chalicelib.api.openapi_collections import with_collections
from chalicelib.api.openapi_document import openapi_document
from chalicelib.settings import get_settings


def test_the_document_is_served_without_credentials(api, services):
    # When anyone asks for the document
    reply = api.call("GET", "/openapi.json")
    # Then it is the document of the app's routes, as JSON
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    document = reply.json
    expected = openapi_document(app.routes, document["servers"][0]["url"])
    assert document == with_collections(expected, services.documents.collections)
    assert "/collections/notes/docs" in document["paths"]


@pytest.mark.parametrize("api_url", ["https://api.example.com/prod", "http://127.0.0.1:8000/api/"])
def test_the_server_is_the_configured_api_url(api, monkeypatch, api_url):
    # Given a stage whose public API URL is set
    monkeypatch.setenv("USERDB_API_URL", api_url)
    get_settings.cache_clear()
    # When the document is fetched; Then its server is that URL
    assert api.call("GET", "/openapi.json").json["servers"] == [{"url": api_url.rstrip("/")}]


def test_without_an_api_url_the_server_is_the_stage_prefix_of_the_request(api, monkeypatch):
    # Given no configured URL
    monkeypatch.delenv("USERDB_API_URL", raising=False)
    get_settings.cache_clear()
    # Then the server is the request path less the route: the stage root on AWS
    assert api.call("GET", "/openapi.json").json["servers"] == [{"url": "/"}]
    assert api_url(request_at("/dev/openapi.json")) == "/dev"
    assert api_url(request_at("/openapi.json")) == "/"


def request_at(path: str) -> Request:
    """A request as API Gateway describes it: the path with its stage, the matched resource."""
    return Request(
        {
            "httpMethod": "GET",
            "headers": {},
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "body": None,
            "isBase64Encoded": False,
            "requestContext": {
                "httpMethod": "GET",
                "path": path,
                "resourcePath": "/openapi.json",
            },
        }
    )
