"""Which DynamoDB backend the integration suite's runtimes use: the tests' own choice,
unless USERDB_TEST_BACKEND says otherwise (`make test-localstack` sets it to `endpoint`,
with USERDB_TEST_ENDPOINT=http://127.0.0.1:4566)."""

from __future__ import annotations

import os

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
