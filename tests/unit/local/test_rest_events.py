"""REST proxy events completed to API Gateway's shape."""

from typing import Any

from chalice.local import LambdaEventConverter, RouteMatcher

from infra.local.rest_events import RestApiInfo, forwarded_headers, proxy_event, source_ip

API = RestApiInfo(api_id="abcde12345", stage="local")


def chalice_event(path: str, headers: dict[str, str]) -> dict[str, Any]:
    converter = LambdaEventConverter(RouteMatcher(["/notes/{id}"]))
    return converter.create_lambda_event("GET", path, headers, None)


def test_forwarded_headers_append_the_caller_and_join_repeats():
    # Given a request that came through a proxy and repeats a header
    raw = [("Host", "h:8000"), ("X-Forwarded-For", "10.0.0.9"), ("Accept", "a"), ("accept", "b")]
    # When the gateway forwards it
    headers = forwarded_headers(raw, "127.0.0.5", 8000, "http")
    # Then names are lower-case, repeats joined, and the caller's address appended
    assert headers["accept"] == "a, b"
    assert headers["x-forwarded-for"] == "10.0.0.9, 127.0.0.5"
    assert (headers["x-forwarded-port"], headers["x-forwarded-proto"]) == ("8000", "http")
    # And the source address is the one the gateway appended, not the client's claim
    assert source_ip(headers) == "127.0.0.5"


def test_proxy_event_has_api_gateways_context_and_maps():
    # Given Chalice's event for a request with a query string
    headers = forwarded_headers(
        [("Host", "h:8000"), ("User-Agent", "ua/2")], "127.0.0.7", 8000, "http"
    )
    event = chalice_event("/notes/n1?limit=2&tag=a&tag=b", headers)
    # When it is completed
    completed = proxy_event(event, API, "req-1", 1_731_324_924_553)
    # Then it carries what API Gateway sends
    context = completed["requestContext"]
    assert (context["requestId"], context["stage"], context["apiId"]) == (
        "req-1",
        "local",
        API.api_id,
    )
    assert context["identity"]["sourceIp"] == "127.0.0.7"
    assert context["identity"]["userAgent"] == "ua/2"
    assert context["requestTimeEpoch"] == 1_731_324_924_553
    assert context["requestTime"] == "11/Nov/2024:11:35:24 +0000"
    assert context["domainName"] == "h:8000"
    assert (completed["resource"], completed["path"], completed["httpMethod"]) == (
        "/notes/{id}",
        "/notes/n1",
        "GET",
    )
    assert completed["pathParameters"] == {"id": "n1"}
    assert completed["queryStringParameters"] == {"limit": "2", "tag": "b"}
    assert completed["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert completed["multiValueHeaders"]["user-agent"] == ["ua/2"]
    assert completed["isBase64Encoded"] is False


def test_proxy_event_without_query_has_null_query_maps():
    event = chalice_event("/notes/n1", forwarded_headers([], "127.0.0.1", 8000, "http"))
    completed = proxy_event(event, API, "r", 0)
    assert completed["queryStringParameters"] is None
    assert completed["multiValueQueryStringParameters"] is None
