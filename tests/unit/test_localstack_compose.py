"""localstack-compose.yml: what `make test-localstack` relies on (Docker cannot run here)."""

from __future__ import annotations

import re

import yaml

from infra.stages import PROJECT_DIR


def test_localstack_is_pinned_takes_the_token_and_serves_dynamodb_on_loopback():
    compose = yaml.safe_load((PROJECT_DIR / "localstack-compose.yml").read_text())
    service = compose["services"]["localstack"]
    # A pinned release, never a moving tag
    assert re.fullmatch(r"localstack/localstack:\d+\.\d+\.\d+", service["image"])
    environment = service["environment"]
    # The token comes from the user's environment, and compose refuses to start without it
    assert environment["LOCALSTACK_AUTH_TOKEN"].startswith("${LOCALSTACK_AUTH_TOKEN:?")
    assert {"dynamodb", "dynamodbstreams"} <= set(environment["SERVICES"].split(","))
    assert service["ports"] == ["127.0.0.1:4566:4566"]
