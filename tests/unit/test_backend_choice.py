"""USERDB_TEST_BACKEND, which `make test-localstack` sets for the integration suite."""

from __future__ import annotations

import pytest

from tests.support.backend_choice import backend_args


def test_the_tests_choice_stands_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("USERDB_TEST_BACKEND", raising=False)
    assert backend_args("moto") == ["--backend", "moto"]
    monkeypatch.setenv("USERDB_TEST_BACKEND", "dynamodb-local")
    assert backend_args("moto") == ["--backend", "dynamodb-local"]
    monkeypatch.setenv("USERDB_TEST_BACKEND", "endpoint")
    monkeypatch.setenv("USERDB_TEST_ENDPOINT", "http://localhost:4566")
    assert backend_args("moto") == ["--backend", "endpoint", "--endpoint", "http://localhost:4566"]


def test_the_endpoint_backend_without_a_url_is_an_error(monkeypatch):
    monkeypatch.setenv("USERDB_TEST_BACKEND", "endpoint")
    monkeypatch.delenv("USERDB_TEST_ENDPOINT", raising=False)
    with pytest.raises(RuntimeError, match="USERDB_TEST_ENDPOINT"):
        backend_args("moto")
