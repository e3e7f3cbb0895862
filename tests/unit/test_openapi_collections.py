"""The declared collections in the OpenAPI document: their schemas and their own paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app import app
from chalicelib.api.openapi_collections import with_collections
from chalicelib.api.openapi_document import openapi_document
from chalicelib.logic.collections import load_declarations

DECLARATIONS = load_declarations(Path(__file__).parent.parent / "fixtures" / "collections.json")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return with_collections(openapi_document(app.routes, "http://api"), DECLARATIONS)


def _validator(document: dict[str, Any], component: str) -> OAS31Validator:
    """A validator of one component, resolving its refs within the document."""
    registry: Registry = Registry().with_resource(
        "urn:doc", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return OAS31Validator({"$ref": f"urn:doc#/components/schemas/{component}"}, registry=registry)


def test_the_document_with_collections_is_valid_openapi_3_1(document):
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["info"]["x-userdb-collections"] == [
        "notes",
        "todos",
        "settings",
        "free",
        "profile",
    ]


def test_each_collection_has_its_schema_and_its_own_paths(document):
    schemas = document["components"]["schemas"]
    assert schemas["Collection.todos"]["required"] == ["title", "done"]
    # The generic routes stay, and each collection gets them with its name filled in
    assert "/collections/{collection}/docs/{doc_id}" in document["paths"]
    create = document["paths"]["/collections/todos/docs"]["post"]
    assert create["operationId"] == "create_doc_todos"
    assert [p["name"] for p in create.get("parameters", [])] == ["Idempotency-Key"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CreateDocRequest.todos"}
    data = schemas["CreateDocRequest.todos"]["properties"]["data"]
    assert data == {"$ref": "#/components/schemas/Collection.todos"}
    reply = document["paths"]["/collections/todos/docs/{doc_id}"]["get"]["responses"]["200"]
    doc_response = reply["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert doc_response == "DocResponse.todos"
    assert schemas["Doc.todos"]["properties"]["data"]["$ref"].endswith("Collection.todos")


def test_a_schema_s_own_definitions_become_components(document):
    schemas = document["components"]["schemas"]
    profile = schemas["Collection.profile"]
    assert "$defs" not in profile
    assert profile["properties"]["first"] == {
        "$ref": "#/components/schemas/Collection.profile.name"
    }
    assert schemas["Collection.profile.name"] == {"type": "string", "minLength": 1}


@pytest.mark.parametrize(
    ("data", "valid"),
    [({"title": "milk", "done": False}, True), ({"title": 1, "done": False}, False), ({}, False)],
)
def test_the_described_body_accepts_what_the_api_accepts(document, data, valid):
    validator = _validator(document, "CreateDocRequest.todos")
    assert validator.is_valid({"data": data}) is valid
