"""The declared collections in the OpenAPI document: each one's schema, and its own paths.

The generic routes (`/collections/{collection}/docs...`) describe `data` as any
object. For each declared collection the document also gets those paths with the
collection's name filled in, where `data` is the collection's schema (a component
`Collection.NAME`), so that clients and fuzzers see what each collection accepts.
A schema's own `$defs` become components too, since `#/$defs/...` inside a
component would resolve against the document's root.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.logic.collections import Collection

COLLECTION_PARAMETER = "{collection}"
PREFIX = f"/collections/{COLLECTION_PARAMETER}/"
SCHEMAS = "#/components/schemas/"
# Where a document's `data` sits in each body and reply model of the collection routes.
_DATA_AT: dict[str, tuple[str, ...]] = {
    "CreateDocRequest": ("properties", "data"),
    "PutDocRequest": ("properties", "data"),
}
_DOC_AT: dict[str, tuple[str, ...]] = {
    "DocResponse": ("properties", "doc"),
    "DocsPage": ("properties", "docs", "items"),
}


def component_name(collection: str) -> str:
    return f"Collection.{collection}"


def _rewrite_refs(node: Any, defs_prefix: str) -> Any:
    """`#/$defs/x` (and `#/definitions/x`) as refs to the components they become."""
    if isinstance(node, dict):
        rewritten = {key: _rewrite_refs(value, defs_prefix) for key, value in node.items()}
        ref = rewritten.get("$ref")
        if isinstance(ref, str):
            for local in ("#/$defs/", "#/definitions/"):
                if ref.startswith(local):
                    rewritten["$ref"] = SCHEMAS + defs_prefix + ref.removeprefix(local)
        return rewritten
    if isinstance(node, list):
        return [_rewrite_refs(item, defs_prefix) for item in node]
    return node


def collection_components(collection: Collection) -> dict[str, Any]:
    """The collection's schema as components: `Collection.NAME` and its `$defs`."""
    name = component_name(collection.name)
    schema = dict(collection.schema)
    defs = {**schema.pop("$defs", {}), **schema.pop("definitions", {})}
    schema.pop("$schema", None)
    components = {name: _rewrite_refs(schema, f"{name}.")}
    for def_name, definition in defs.items():
        components[f"{name}.{def_name}"] = _rewrite_refs(definition, f"{name}.")
    return components


def _with_data(schema: dict[str, Any], at: tuple[str, ...], data_ref: str) -> dict[str, Any]:
    specialised = copy.deepcopy(schema)
    node = specialised
    for step in at[:-1]:
        node = node[step]
    node[at[-1]] = {"$ref": data_ref}
    return specialised


def _specialised_components(
    components: Mapping[str, Any], collection: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Copies of the body and reply models whose `data` is the collection's schema, and
    which generic component each replaces."""
    data_ref = SCHEMAS + component_name(collection)
    made: dict[str, Any] = {}
    renamed: dict[str, str] = {}
    if "Doc" in components:
        doc_name = f"Doc.{collection}"
        made[doc_name] = _with_data(components["Doc"], ("properties", "data"), data_ref)
        renamed["Doc"] = doc_name
        for model, at in _DOC_AT.items():
            if model in components:
                made[f"{model}.{collection}"] = _with_data(
                    components[model], at, SCHEMAS + doc_name
                )
                renamed[model] = f"{model}.{collection}"
    for model, at in _DATA_AT.items():
        if model in components:
            made[f"{model}.{collection}"] = _with_data(components[model], at, data_ref)
            renamed[model] = f"{model}.{collection}"
    return made, renamed


def _retarget(node: Any, renamed: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMAS):
            target = renamed.get(ref.removeprefix(SCHEMAS))
            if target is not None:
                return {**node, "$ref": SCHEMAS + target}
        return {key: _retarget(value, renamed) for key, value in node.items()}
    if isinstance(node, list):
        return [_retarget(item, renamed) for item in node]
    return node


def _concrete_operation(
    operation: dict[str, Any], collection: str, renamed: Mapping[str, str]
) -> dict[str, Any]:
    concrete: dict[str, Any] = _retarget(copy.deepcopy(operation), renamed)
    concrete["operationId"] = f"{operation['operationId']}_{collection}"
    concrete["parameters"] = [
        parameter
        for parameter in concrete.get("parameters", [])
        if not (parameter.get("in") == "path" and parameter.get("name") == "collection")
    ]
    if not concrete["parameters"]:
        del concrete["parameters"]
    concrete["tags"] = [f"collection {collection}"]
    return concrete


def with_collections(document: dict[str, Any], collections: Iterable[Collection]) -> dict[str, Any]:
    """`document` with every declared collection's schema and paths added."""
    document = copy.deepcopy(document)
    components: dict[str, Any] = document["components"]["schemas"]
    generic = {path: ops for path, ops in document["paths"].items() if path.startswith(PREFIX)}
    declared = list(collections)
    for collection in declared:
        components.update(collection_components(collection))
        made, renamed = _specialised_components(components, collection.name)
        components.update(made)
        for path, operations in generic.items():
            concrete_path = path.replace(COLLECTION_PARAMETER, collection.name, 1)
            document["paths"][concrete_path] = {
                method: _concrete_operation(operation, collection.name, renamed)
                for method, operation in operations.items()
            }
    document.setdefault("info", {})["x-userdb-collections"] = [c.name for c in declared]
    return document
