"""The files placed under LocalStack's FILESYSTEM_ROOT instead of its run-time downloads, and
the do-nothing Java agent (run in a real JVM where Java is installed)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from infra.local.dynamodb_local import (
    DynamoDBLocalInstall,
    DynamoDBLocalUnavailableError,
    find_java,
)
from infra.localstack.filesystem import AGENT_JAR, DYNAMODB_LOCAL_DIR, JAVA_HOME_LINK, place
from infra.localstack.noop_agent import AGENT_CLASS, agent_class, write_agent_jar


def fake_dynamodb_local(folder: Path) -> DynamoDBLocalInstall:
    folder.mkdir(parents=True)
    (folder / "DynamoDBLocal.jar").write_bytes(b"jar")
    (folder / "DynamoDBLocal_lib").mkdir()
    return DynamoDBLocalInstall(folder / "DynamoDBLocal.jar", folder / "DynamoDBLocal_lib")


def test_dynamodb_local_java_and_the_agent_are_where_localstack_looks(tmp_path):
    # Given the jar from .cache/dynamodb-local and a Java home
    install = fake_dynamodb_local(tmp_path / "ddb")
    java_home = tmp_path / "jdk"
    java_home.mkdir()
    # When the files are placed
    root = tmp_path / "root"
    place(root, install, java_home)
    # Then LocalStack's DynamoDB Local "version 2" is that jar, with its libraries beside it
    folder = root / DYNAMODB_LOCAL_DIR
    assert folder == root / "usr/lib/localstack/dynamodb-local/2"
    assert (folder / "DynamoDBLocal.jar").resolve() == install.jar
    assert (folder / "DynamoDBLocal_lib").resolve() == install.native_libs
    assert '<Root level="WARN">' in (folder / "log4j2.xml").read_text()
    # And its Java "21" is this machine's Java, and the agent jar is there
    assert (root / JAVA_HOME_LINK).resolve() == java_home
    assert (folder / AGENT_JAR).name == "ddb-local-loader-0.1.jar"
    assert zipfile.is_zipfile(folder / AGENT_JAR)


def test_placing_again_follows_a_new_jar(tmp_path):
    # Given files placed for one DynamoDB Local release
    root, java_home = tmp_path / "root", tmp_path / "jdk"
    java_home.mkdir()
    place(root, fake_dynamodb_local(tmp_path / "old"), java_home)
    # When a newer release is placed
    newer = fake_dynamodb_local(tmp_path / "new")
    place(root, newer, java_home)
    # Then the links point at it
    assert (root / DYNAMODB_LOCAL_DIR / "DynamoDBLocal.jar").resolve() == newer.jar


def _java() -> str:
    try:
        return find_java()
    except DynamoDBLocalUnavailableError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Java must be installed in CI: {error}")
        pytest.skip(str(error))


def _run_with_agent(java: str, jar: Path) -> subprocess.CompletedProcess[str]:
    command = [java, f"-javaagent:{jar}", "-version"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_agent_is_a_valid_agent_that_does_nothing(tmp_path):
    # Given the agent jar, and a copy whose method is not named premain
    java = _java()
    jar = tmp_path / "agent.jar"
    write_agent_jar(jar)
    with zipfile.ZipFile(jar) as contents:
        manifest = contents.read("META-INF/MANIFEST.MF").decode()
        assert f"Premain-Class: {AGENT_CLASS.replace('/', '.')}" in manifest
        assert contents.read(f"{AGENT_CLASS}.class") == agent_class()
    broken = tmp_path / "broken.jar"
    with zipfile.ZipFile(broken, "w") as contents:
        contents.writestr("META-INF/MANIFEST.MF", manifest)
        contents.writestr(f"{AGENT_CLASS}.class", agent_class().replace(b"premain", b"premaiX"))
    # When a JVM starts with each
    # Then it runs ours (found, verified, called) and refuses the broken one
    assert _run_with_agent(java, jar).returncode == 0
    refused = _run_with_agent(java, broken)
    assert refused.returncode != 0
    assert "NoSuchMethodException" in refused.stderr
