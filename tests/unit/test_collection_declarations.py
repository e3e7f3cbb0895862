"""The collections file: what a good one declares, and how a bad one stops start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.errors import UnknownCollectionError, ValidationError
from chalicelib.logic.collections import (
    CollectionDeclarationError,
    load_declarations,
    parse_declarations,
)

ROOT = Path(__file__).parent.parent.parent


def test_the_shipped_file_declares_notes_with_a_text():
    declared = load_declarations(ROOT / "chalicelib" / "collections.json")
    assert declared.names() == ["notes"]
    notes = declared.get("notes")
    assert notes.violations({"text": "x"}, "/data") == []
    assert [d["field"] for d in notes.violations({}, "/data")] == ["/data/text"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid JSON"),
        ("[]", 'expected {"collections"'),
        ('{"collections": {}}', "one collection at least"),
        ('{"collections": {"a": {}}, "extra": 1}', 'expected {"collections"'),
        ('{"collections": {"Todos": {"schema": {}}}}', "does not match"),
        ('{"collections": {"9x": {"schema": {}}}}', "does not match"),
        ('{"collections": {"%s": {"schema": {}}}}' % ("a" * 64), "does not match"),
        ('{"collections": {"todos": {"schema": {}, "x": 1}}}', '"todos": expected'),
        ('{"collections": {"todos": {"schema": []}}}', "must be a JSON object"),
        ('{"collections": {"todos": {"schema": {"type": 7}}}}', "not a valid JSON Schema"),
        ('{"collections": {"todos": {"schema": {"minLength": -1}}}}', "not a valid JSON Schema"),
        ('{"collections": {"todos": {"schema": {"type": "array"}}}}', "documents are JSON objects"),
    ],
)
def test_a_malformed_declaration_names_the_file_and_the_problem(text, problem):
    with pytest.raises(CollectionDeclarationError) as refused:
        parse_declarations(text, "app/collections.json")
    assert str(refused.value).startswith("app/collections.json: ")
    assert problem in str(refused.value)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(CollectionDeclarationError, match="cannot read the collections file"):
        load_declarations(tmp_path / "nope.json")


def test_names_a_client_follows_are_checked():
    declared = parse_declarations(
        '{"collections": {"a": {"schema": {}}, "b": {"schema": {}}}}', "f"
    )
    assert declared.chosen(None, "collections") is None
    assert declared.chosen(["b", "a", "b"], "collections") == frozenset({"a", "b"})
    with pytest.raises(ValidationError):
        declared.chosen([], "collections")
    with pytest.raises(ValidationError):
        declared.chosen(["Bad Name"], "collections")
    with pytest.raises(UnknownCollectionError):
        declared.chosen(["a", "c"], "collections")


def test_the_app_does_not_start_with_a_malformed_file(tmp_path):
    # Given a collections file with a broken schema, named by USERDB_COLLECTIONS
    bad = tmp_path / "collections.json"
    bad.write_text(json.dumps({"collections": {"todos": {"schema": {"type": "nope"}}}}))
    # When the app is imported (a Lambda's cold start)
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env={"USERDB_COLLECTIONS": str(bad), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it fails, naming the file and the problem
    assert result.returncode != 0
    assert f'{bad}: collection "todos": not a valid JSON Schema' in result.stderr
