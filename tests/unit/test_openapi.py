"""The OpenAPI document: valid OpenAPI 3.1, every route of the app in it, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Blueprint, Chalice
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from app import app
from chalicelib import errors
from chalicelib.api.http import ApiBlueprint
from chalicelib.api.openapi_document import UndeclaredRouteError, openapi_document
from chalicelib.api.operations import Operation, Reply
from chalicelib.models.accounts import SignupRequest

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(app.routes, "http://127.0.0.1:8000/api")


def test_the_document_is_valid_openapi_3_1(document):
    # When the document is checked against the OpenAPI 3.1 schema; Then it passes
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"].startswith("3.1.")
    assert document["servers"] == [{"url": "http://127.0.0.1:8000/api"}]


def test_every_route_of_the_app_is_documented_and_nothing_else(document):
    # Given the routes Chalice serves
    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    # Then the document describes exactly those
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    assert documented == served
    assert ("/openapi.json", "get") in documented


def test_operations_carry_auth_parameters_and_error_replies(document):
    paths = document["paths"]
    # Then public routes need no credentials, the others a bearer token or the session cookie
    assert paths["/auth/signup"]["post"]["security"] == []
    assert paths["/notes"]["get"]["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == (
        "cookie",
        "userdb_session",
    )
    # And the headers, query and path parameters are spelled out
    create = paths["/notes"]["post"]
    assert [(p["name"], p["in"]) for p in create["parameters"]] == [("Idempotency-Key", "header")]
    update = paths["/notes/{note_id}"]["put"]
    assert [(p["name"], p["in"]) for p in update["parameters"]] == [
        ("note_id", "path"),
        ("If-Match", "header"),
    ]
    assert update["parameters"][0]["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,128}$"
    assert [p["name"] for p in paths["/sync"]["get"]["parameters"]] == [
        "since",
        "limit",
        "cursor",
        "collections",
    ]
    # And each error status lists its codes, with the error model
    assert "`version_mismatch`" in update["responses"]["412"]["description"]
    assert update["responses"]["412"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert "403" not in paths["/notes"]["get"]["responses"]  # Origin is checked on writes only
    assert "403" in create["responses"]


def all_errors() -> list[errors.UserdbError]:
    found, queue = [], [errors.UserdbError]
    while queue:
        kind = queue.pop()
        queue.extend(kind.__subclasses__())
        found.append(kind())
    found.append(
        errors.ValidationError(details=[{"field": "text", "message": "m", "type": "missing"}])
    )
    return found


@pytest.mark.parametrize("error", all_errors(), ids=lambda e: e.code)
def test_every_error_reply_matches_the_documented_error_model(document, error):
    # Given the error model as the document states it
    schema = {"$ref": "#/components/schemas/ErrorResponse", "components": document["components"]}
    model = OAS31Validator(schema)
    # When a domain error becomes a reply; Then its body validates
    body = errors.error_body(error)
    assert model.is_valid(body), [e.message for e in model.iter_errors(body)]
    # And the model is strict enough to refuse a body without a code
    assert not model.is_valid({"error": {"message": error.message}})


def test_a_route_without_a_declaration_is_refused():
    # Given an ApiBlueprint route without its declaration; Then it cannot be registered
    routes = ApiBlueprint(__name__)
    with pytest.raises(TypeError, match="operation="):
        routes.route("/x", methods=["GET"])
    # And a route registered some other way stops the document from being built
    plain = Blueprint(__name__)

    @plain.route("/undeclared", methods=["GET"])
    def undeclared() -> dict[str, str]:
        return {}

    other = Chalice(app_name="other")
    other.register_blueprint(plain)
    with pytest.raises(UndeclaredRouteError, match="GET /undeclared"):
        openapi_document(other.routes, "/")


def test_a_declared_path_parameter_must_exist():
    routes = ApiBlueprint(__name__)

    @routes.route(
        "/items/{item_id}",
        methods=["GET"],
        operation=Operation(summary="s", replies={204: Reply()}, path={"itemId": str}),
    )
    def item(item_id: str) -> None:
        return None

    other = Chalice(app_name="other")
    other.register_blueprint(routes)
    with pytest.raises(UndeclaredRouteError, match="itemId"):
        openapi_document(other.routes, "/")


# Stripped to nothing, or not: \x1d and \ufeff are not Unicode White_Space, so they stay.
BLANK_OR_NOT = ["\u000b", " \t", "\u3000", "\u0085\u00a0", "A", " Ann ", "\ufeff", "\u001d"]


@pytest.mark.parametrize("name", BLANK_OR_NOT)
def test_the_schema_and_the_model_agree_on_blank_names(document, name):
    # A name is stripped then must not be empty; the fuzzers found "\v" and "\x1d" disputed
    schema = document["components"]["schemas"]["SignupRequest"]
    validator = OAS31Validator(schema, resolver=None)
    body = {"email": "a@example.com", "password": "correct horse", "name": name}
    try:
        SignupRequest.model_validate(body)
        accepted = True
    except ValueError:
        accepted = False
    assert validator.is_valid(body) == accepted
