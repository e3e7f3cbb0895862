"""Which DynamoDB backend the integration suite's runtimes use: the tests' own choice,
unless USERDB_TEST_BACKEND says otherwise (`make test-localstack` sets it to `endpoint`,
with USERDB_TEST_ENDPOINT=http://localhost:4566).

`python -m tests.support.backend_choice --check URL` exits at once, with a message,
when nothing answers at URL (LocalStack not started; it needs Docker).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from urllib.parse import urlparse

BACKEND_VARIABLE = "USERDB_TEST_BACKEND"
ENDPOINT_VARIABLE = "USERDB_TEST_ENDPOINT"


def backend_args(default: str) -> list[str]:
    """`--backend NAME [--endpoint URL]` for a runtime: the environment's choice, else `default`."""
    backend = os.environ.get(BACKEND_VARIABLE) or default
    if backend != "endpoint":
        return ["--backend", backend]
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if not endpoint:
        raise RuntimeError(f"{BACKEND_VARIABLE}=endpoint needs {ENDPOINT_VARIABLE}=URL")
    return ["--backend", backend, "--endpoint", endpoint]


def listening(url: str, timeout: float = 2.0) -> bool:
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "localhost", port), timeout):
            return True
    except OSError:
        return False


def localstack_services(url: str) -> dict[str, str] | None:
    """LocalStack's own health report (service -> state), or None if it is not LocalStack."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=5) as reply:  # noqa: S310 - the user's endpoint
            services = json.load(reply).get("services", {})
    except (urllib.error.URLError, ValueError, OSError):
        return None
    return {str(k): str(v) for k, v in services.items()}


def check(url: str) -> int:
    if not listening(url):
        print(
            f"Nothing listens on {url}: start LocalStack first\n"
            "  export LOCALSTACK_AUTH_TOKEN=...   # its image needs one since 2026-03-23\n"
            "  docker compose -f localstack-compose.yml up -d --wait\n"
            "(it needs Docker; `make test` runs the same suite on DynamoDB Local and moto)",
            file=sys.stderr,
        )
        return 1
    services = localstack_services(url)
    if services is not None:
        missing = [
            s
            for s in ("dynamodb", "dynamodbstreams")
            if services.get(s) not in ("available", "running")
        ]
        if missing:
            print(
                f"LocalStack at {url} does not serve {', '.join(missing)}: {services}",
                file=sys.stderr,
            )
            return 1
    print(f"testing against the DynamoDB at {url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.backend_choice")
    parser.add_argument(
        "--check", metavar="URL", required=True, help="fail fast unless URL answers"
    )
    return check(parser.parse_args(argv).check)


if __name__ == "__main__":
    raise SystemExit(main())
