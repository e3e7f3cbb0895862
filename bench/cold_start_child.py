"""One cold start, in a fresh interpreter that has imported nothing but the standard library:
`import app`, then the first request as Lambda would make it, then a second (warm) one.
Run by bench/cold_start.py with the stage's environment; prints one JSON line.

    python -m bench.cold_start_child app TOKEN     # the app
    python -m bench.cold_start_child modules M...  # the floor: import these modules
    python -m bench.cold_start_child dynamodb KEY  # the floor: a new boto3 client's first GetItem
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import uuid
from typing import Any

PROJECT_PACKAGES = ("app", "chalicelib", "bench")


class Context:
    """What Lambda passes as `context`, for a first invocation."""

    function_name = "userdb-local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:userdb-local"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/userdb-local"
    log_stream_name = "cold-start"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def list_notes_event(token: str) -> dict[str, Any]:
    """API Gateway's REST proxy event for `GET /notes` with a bearer token."""
    request_id = str(uuid.uuid4())
    headers = {"authorization": f"Bearer {token}", "host": "127.0.0.1", "user-agent": "bench"}
    return {
        "resource": "/notes",
        "path": "/notes",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/notes",
            "httpMethod": "GET",
            "path": "/local/notes",
            "stage": "local",
            "requestId": request_id,
            "accountId": "000000000000",
            "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestTimeEpoch": int(time.time() * 1000),
        },
    }


def ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def cold_app(token: str) -> dict[str, Any]:
    started = time.perf_counter()
    application = importlib.import_module("app").app
    imported = ms(started)
    third_party = [
        name
        for name in sys.modules
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] not in PROJECT_PACKAGES
    ]
    requests = []
    for _ in range(2):
        began = time.perf_counter()
        reply = application(list_notes_event(token), Context())
        requests.append(ms(began))
        if reply["statusCode"] != 200:
            raise SystemExit(f"GET /notes answered {reply['statusCode']}: {reply['body']}")
    return {
        "import_ms": imported,
        "first_request_ms": requests[0],
        "second_request_ms": requests[1],
        "third_party_modules": third_party,
    }


def import_modules(names: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    failed = 0
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            failed += 1
    return {"import_ms": ms(started), "modules": len(names), "failed": failed}


def first_get_item(key: str) -> dict[str, Any]:
    boto3 = importlib.import_module("boto3")
    started = time.perf_counter()
    client = boto3.client("dynamodb", endpoint_url=os.environ["USERDB_DYNAMODB_ENDPOINT"])
    client.get_item(TableName="userdb-local-sessions", Key={"pk": {"S": key}}, ConsistentRead=True)
    return {"first_request_ms": ms(started)}


def main() -> None:
    kind, *given = sys.argv[1:]
    if kind == "app":
        found = cold_app(given[0])
    elif kind == "modules":
        found = import_modules(given)
    else:
        found = first_get_item(given[0])
    print("RESULT " + json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
