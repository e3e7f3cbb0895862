"""schemathesis against the REST API of `python -m infra.local up` (moto backend), over HTTP.

schemathesis reads /api/openapi.json and, for every operation, sends the
schema's examples, its boundary cases (coverage phase) and generated requests
(fuzzing phase), valid and invalid, as a signed-in user. Every reply must be
documented: no 5xx, a documented status, content type and headers, a body that
matches the schema; invalid requests refused with a 4xx, valid ones accepted.
The seed is fixed, so a run is repeatable; docs/api.md says how to vary it.
"""

from __future__ import annotations

import os
import tomllib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis

from app import app
from chalicelib.api.openapi_collections import with_collections
from chalicelib.api.openapi_document import openapi_document
from chalicelib.services import declared_collections
from chalicelib.settings import Settings
from tests.support.runtime_process import PROJECT_DIR, RuntimeProcess, start_runtime

# Cases per operation in the fuzzing phase (the coverage phase adds its own boundary cases).
MAX_EXAMPLES = int(os.environ.get("USERDB_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("USERDB_FUZZ_SEED", "20261127"))
PASSWORD = "correct horse battery"

# The API's own relaxations of schemathesis' checks, shared with the command line.
RELAXATIONS = tomllib.loads((PROJECT_DIR / "schemathesis.toml").read_text())["operations"]

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "request-timeout": 30,
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
    },
    "operations": [
        {
            # Each case hashes a password (argon2id at OWASP's cost) or creates an account.
            "include-operation-id": ["sign_up", "log_in", "log_out", "delete_me"],
            "generation": {"max-examples": max(1, MAX_EXAMPLES // 2)},
        },
        *RELAXATIONS,
    ],
}


class FuzzUser:
    """The user schemathesis acts as; a new session (or account) when the fuzzer ended it.

    Logging out, revoking a session and deleting the account are operations under
    test, so the session may end at any case: a 401 is replayed once with a new one.
    """

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.email = ""
        self.token = ""
        self.renew()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def session_lost(self) -> bool:
        reply = requests.get(f"{self.api_url}/auth/session", headers=self.headers, timeout=30)
        return reply.status_code == 401

    def renew(self) -> None:
        reply = requests.post(
            f"{self.api_url}/auth/login",
            json={"email": self.email, "password": PASSWORD},
            timeout=30,
        )
        if reply.status_code != 200:
            # No account yet, or deleted by the fuzzer, or its sign-in locked by generated
            # wrong passwords for its email: a new account.
            self.email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
            reply = requests.post(
                f"{self.api_url}/auth/signup",
                json={"email": self.email, "password": PASSWORD, "name": "Fuzz"},
                timeout=30,
            )
        reply.raise_for_status()
        self.token = str(reply.json()["token"])


def served_document(api_url: str) -> dict[str, Any]:
    """What /openapi.json serves: the app's routes and the collections it declares."""
    return with_collections(openapi_document(app.routes, api_url), declared_collections(Settings()))


# The document /openapi.json serves (test_openapi_is_served_by_the_runtime checks that it
# is this one), loaded at collection so each operation is a test of its own.
schema = schemathesis.openapi.from_dict(
    served_document("/api"), config=schemathesis.Config.from_dict(CONFIG)
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    process = start_runtime(PROJECT_DIR)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def user(runtime: RuntimeProcess) -> FuzzUser:
    return FuzzUser(runtime.api_url)


def test_openapi_is_served_by_the_runtime(runtime: RuntimeProcess) -> None:
    # When a client fetches the document through the gateway
    status, served = runtime.get_json("/openapi.json")
    # Then it is the document of the app's routes, with the runtime's API URL as server
    assert status == 200
    assert served == served_document(runtime.api_url)
    assert served["servers"] == [{"url": runtime.api_url}]


@schema.parametrize()
def test_every_operation_answers_as_documented(
    case: Any, runtime: RuntimeProcess, user: FuzzUser
) -> None:
    # Given a signed-in user; When schemathesis sends a generated request
    response = case.call(base_url=runtime.api_url, headers=user.headers)
    if response.status_code == 401 and user.session_lost():
        user.renew()
        response = case.call(base_url=runtime.api_url, headers=user.headers)
    # Then every check passes
    case.validate_response(
        response, headers=user.headers, transport_kwargs={"base_url": runtime.api_url}
    )
