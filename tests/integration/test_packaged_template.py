"""`chalice package` with the generated merge template, checked by cfn-lint, offline.

The dev stage packages as `make package` does it; a copy of the project whose dev
stage is in pool mode shows the stream mapping. Chalice reuses the vendored
dependencies it keeps in .chalice/deployments, so only the first run downloads them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.dal.event_sources import MAPPING_OPTIONS
from infra.policies import FUNCTIONS, function_policies, template_document
from infra.stages import PROJECT_DIR, load_stage
from infra.tables import shared_tables
from infra.template import (
    FANOUT_MAPPING,
    REST_API,
    WEBSOCKET_API,
    WEBSOCKET_STAGE,
    function_logical_id,
    role_logical_id,
)
from tests.support.wildcards import findings

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def package(project: Path, out: Path) -> dict[str, Any]:
    """`python -m infra.template` then `chalice package` for the dev stage of `project`."""
    merge = out / "template.json"
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [sys.executable, "-m", "infra.template", "--stage", "dev", "-o", str(merge)],
        cwd=project,
        env={**environment, "PYTHONPATH": str(project)},
        check=True,
        timeout=60,
    )
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "dev", "--merge-template", str(merge),
         str(out / "package")],
        cwd=project,
        env=environment,
        check=True,
        timeout=600,
        capture_output=True,
    )  # fmt: skip
    template: dict[str, Any] = json.loads((out / "package" / "sam.json").read_text())
    return template


def cfn_lint(template_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "cfn-lint"), str(template_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("package-dev")
    return out, package(PROJECT_DIR, out)


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The project with its dev stage in pool mode (a copy: the real config stays)."""
    project = tmp_path_factory.mktemp("pool-project")
    for name in ("app.py", "requirements.txt"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for name in ("chalicelib", "infra"):
        shutil.copytree(
            PROJECT_DIR / name, project / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copytree(PROJECT_DIR / ".chalice", project / ".chalice")
    config_file = project / ".chalice" / "config.json"
    config = json.loads(config_file.read_text())
    config["stages"]["dev"]["environment_variables"]["USERDB_TENANCY"] = "pool"
    config_file.write_text(json.dumps(config))
    out = tmp_path_factory.mktemp("package-pool")
    return out, package(project, out)


def _types(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def test_packaged_template_passes_cfn_lint_without_errors(dev, pool):
    for out, _ in (dev, pool):
        # cfn-lint's exit code is a bit mask: 2 means errors (4 warnings, 8 informational).
        result = cfn_lint(out / "package" / "sam.json")
        assert not result.returncode & 2, result.stdout + result.stderr


def test_packaged_template_has_every_table_api_and_function(dev):
    _, template = dev
    stage = load_stage("dev")
    tables = {
        t["Properties"]["TableName"]: t["Properties"]
        for t in _types(template, "AWS::DynamoDB::Table").values()
    }
    assert set(tables) == {d.name for d in shared_tables(stage.settings)}
    assert _types(template, "AWS::Serverless::Api")
    assert _types(template, "AWS::ApiGatewayV2::Api")
    functions = _types(template, "AWS::Serverless::Function")
    assert set(functions) == {function_logical_id(f) for f in FUNCTIONS}
    for policy in function_policies(stage):
        properties = functions[function_logical_id(policy.function)]["Properties"]
        assert properties["FunctionName"] == policy.function_name
        variables = properties["Environment"]["Variables"]
        assert variables["USERDB_TABLE_PREFIX"] == "userdb-dev"
        assert "Fn::Sub" in variables["USERDB_WEBSOCKET_ENDPOINT"]
        # Each function has a role of its own, carrying its policy
        role_id = role_logical_id(policy.function)
        assert properties["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
        (role_policy,) = template["Resources"][role_id]["Properties"]["Policies"]
        assert role_policy["PolicyDocument"] == template_document(policy, WEBSOCKET_API)


def test_no_unjustified_wildcard_in_any_policy_of_the_packaged_templates(dev, pool):
    found = []
    for _, template in (dev, pool):
        for logical, role in _types(template, "AWS::IAM::Role").items():
            for policy in role["Properties"].get("Policies", []):
                found += findings(policy["PolicyDocument"], logical)
        for logical, policy in _types(template, "AWS::IAM::Policy").items():
            found += findings(policy["Properties"]["PolicyDocument"], logical)
    assert found == []


def test_pool_template_maps_the_shared_stream_with_the_mapping_options(dev, pool):
    _, template = pool
    mapping = template["Resources"][FANOUT_MAPPING]["Properties"]
    assert {k: mapping[k] for k in MAPPING_OPTIONS} == MAPPING_OPTIONS
    assert template["Resources"]["TenantsTable"]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }
    assert FANOUT_MAPPING not in dev[1]["Resources"]


def test_packaged_stages_are_throttled(dev):
    _, template = dev
    rest = template["Resources"][REST_API]["Properties"]
    paths = {(s["ResourcePath"], s["HttpMethod"]) for s in rest["MethodSettings"]}
    assert {("/*", "*"), ("/~1auth~1login", "POST"), ("/~1auth~1signup", "POST")} <= paths
    assert "DEFAULT_4XX" in rest["GatewayResponses"]
    stage = template["Resources"][WEBSOCKET_STAGE]
    assert stage["Type"] == "AWS::ApiGatewayV2::Stage"
    assert set(stage["Properties"]["RouteSettings"]) == {"$connect"}
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
