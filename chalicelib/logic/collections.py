"""The collections an app declares, and the validation of documents against their schemas.

The app declares them in a JSON file (`USERDB_COLLECTIONS`, default
`chalicelib/collections.json`): `{"collections": {"NAME": {"schema": <JSON Schema>}}}`.
Schemas are JSON Schema draft 2020-12, checked and applied by the `jsonschema`
library. A malformed file stops start-up with a message naming the file and the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaViolation
from jsonschema.exceptions import SchemaError

from chalicelib.errors import UnknownCollectionError, ValidationError
from chalicelib.models.protocol import COLLECTION_NAME_PATTERN

_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)
# Violations reported per refused document: enough to fix it, bounded for huge documents.
MAX_REPORTED_VIOLATIONS = 20
_MESSAGE_CHARS = 200
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


class CollectionDeclarationError(ValueError):
    """The collections file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Collection:
    """One declared collection: its name, its schema and the schema's validator."""

    name: str
    schema: Mapping[str, Any]
    validator: Draft202012Validator

    def violations(self, data: Any, at: str) -> list[dict[str, Any]]:
        """Where `data` breaks the schema, as `{field, message, type}` with `field` a JSON
        pointer prefixed by `at` (where `data` sits in the request body); [] if valid."""
        found = sorted(self.validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        details = [detail for error in found for detail in _details(error, at)]
        return details[:MAX_REPORTED_VIOLATIONS]

    def check(self, data: Any, at: str) -> None:
        """ValidationError (400, with each offending field) unless `data` fits the schema."""
        details = self.violations(data, at)
        if details:
            raise ValidationError(
                f"The document does not match the schema of `{self.name}`.", details=details
            )


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _unexpected(error: SchemaViolation) -> list[str]:
    """The members an `additionalProperties: false` object has that its schema does not allow."""
    if not isinstance(error.instance, dict) or not isinstance(error.schema, dict):
        return []
    named = error.schema.get("properties") or {}
    patterns = list((error.schema.get("patternProperties") or {}).keys())
    return [
        name
        for name in error.instance
        if name not in named and not any(re.search(pattern, name) for pattern in patterns)
    ]


def _details(error: SchemaViolation, at: str) -> list[dict[str, Any]]:
    """The violation as details, each pointing at the offending field itself."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = _REQUIRED.match(error.message)
        if missing:
            return [_detail(error, at, [*path, missing.group(1)])]
    if error.validator == "additionalProperties" and error.validator_value is False:
        extras = _unexpected(error)
        if extras:
            return [
                _detail(error, at, [*path, name], "this field is not allowed") for name in extras
            ]
    return [_detail(error, at, path)]


def _detail(
    error: SchemaViolation, at: str, path: list[Any], message: str | None = None
) -> dict[str, Any]:
    message = message or error.message
    instance = repr(error.instance)
    if len(instance) > 40 and message.startswith(instance):
        # Do not echo a large value back: name where it is instead.
        message = "the value" + message[len(instance) :]
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    return {"field": at + _pointer(path), "message": message, "type": str(error.validator)}


def is_collection_name(name: object) -> bool:
    return isinstance(name, str) and _COLLECTION_NAME.fullmatch(name) is not None


class Collections:
    """The declared collections, by name."""

    def __init__(self, declared: Iterable[Collection]) -> None:
        self._by_name = {collection.name: collection for collection in declared}

    def __iter__(self) -> Iterator[Collection]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> Collection:
        """The collection; UnknownCollectionError (404) if the app does not declare it."""
        collection = self._by_name.get(name)
        if collection is None:
            raise UnknownCollectionError(f"No collection `{name}` is declared.")
        return collection

    def chosen(self, names: Iterable[str] | None, field: str) -> frozenset[str] | None:
        """Collections a client asks to follow: None (all) or a non-empty set of declared
        names. A malformed name is a ValidationError on `field`; an undeclared one, 404."""
        if names is None:
            return None
        chosen = list(names)
        if not chosen:
            raise ValidationError(
                details=[
                    {"field": field, "message": "name one collection at least", "type": "empty"}
                ]
            )
        for name in chosen:
            if not is_collection_name(name):
                raise ValidationError(
                    details=[
                        {"field": field, "message": "not a collection name", "type": "pattern"}
                    ]
                )
            self.get(name)
        return frozenset(chosen)


def parse_declarations(text: str, source: str) -> Collections:
    """The collections a declaration file declares; CollectionDeclarationError naming `source`."""

    def refuse(problem: str) -> CollectionDeclarationError:
        return CollectionDeclarationError(f"{source}: {problem}")

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise refuse(f"not valid JSON ({error})") from None
    if not isinstance(document, dict) or set(document) != {"collections"}:
        raise refuse('expected {"collections": {"NAME": {"schema": {...}}}}')
    declared = document["collections"]
    if not isinstance(declared, dict) or not declared:
        raise refuse('"collections" must be an object declaring one collection at least')
    collections = []
    for name, declaration in declared.items():
        if not is_collection_name(name):
            raise refuse(f"collection name {name!r} does not match {COLLECTION_NAME_PATTERN}")
        if not isinstance(declaration, dict) or set(declaration) != {"schema"}:
            raise refuse(f'collection "{name}": expected {{"schema": {{...}}}}')
        schema = declaration["schema"]
        if not isinstance(schema, dict):
            raise refuse(f'collection "{name}": the schema must be a JSON object')
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            raise refuse(
                f'collection "{name}": not a valid JSON Schema (draft 2020-12): {error.message}'
            ) from None
        if schema.get("type", "object") != "object":
            raise refuse(
                f'collection "{name}": documents are JSON objects; the schema says '
                f'"type": {json.dumps(schema["type"])}'
            )
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        collections.append(Collection(name=name, schema=schema, validator=validator))
    return Collections(collections)


def load_declarations(path: Path) -> Collections:
    """Read and check the declaration file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CollectionDeclarationError(
            f"{path}: cannot read the collections file ({error.strerror or error})"
        ) from None
    return parse_declarations(text, str(path))
