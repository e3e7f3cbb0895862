"""Finding Java 17+ and the DynamoDB Local jar, with messages that say what to do."""

from pathlib import Path

import pytest

from infra.local.dynamodb_local import (
    DynamoDBLocalUnavailableError,
    find_install,
    find_java,
    java_major_version,
)


def fake_java(folder: Path, version_line: str) -> Path:
    """A `java` that only answers `-version`, as the JDK does (on stderr)."""
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)
    return java


@pytest.mark.parametrize(
    ("line", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ("something else", None),
    ],
)
def test_java_versions_are_read_like_the_jdk_prints_them(tmp_path, line, major):
    assert java_major_version(str(fake_java(tmp_path, line))) == major


def test_an_old_java_is_refused_with_the_way_out(tmp_path, monkeypatch):
    fake_java(tmp_path, 'openjdk version "11.0.2" 2019-01-15')
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DynamoDBLocalUnavailableError) as refused:
        find_java()
    assert "Java 11" in str(refused.value)
    assert "--backend moto" in str(refused.value)


def test_a_missing_jar_says_how_to_fetch_it(tmp_path):
    with pytest.raises(DynamoDBLocalUnavailableError) as refused:
        find_install(tmp_path)
    assert "make dynamodb-local" in str(refused.value)
