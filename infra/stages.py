"""A stage of `.chalice/config.json` as the deploy tools see it: its settings and names.

The template generator, the policy generator and `infra.provision` read the
stage the way a deployed function reads it: the stage's environment variables
(global ones, then the stage's), validated by `chalicelib.settings.Settings`,
and nothing from the environment of the shell they run in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from chalicelib.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[1]
APP_NAME = "userdb"


class StageError(ValueError):
    """The stage is not in `.chalice/config.json`, or its settings do not validate."""


@dataclass(frozen=True)
class Stage:
    """One deployable stage: its Chalice name, API Gateway stage name and app settings."""

    name: str
    api_gateway_stage: str
    settings: Settings
    # Chalice's per-stage options (autogen_policy, lambda_functions, ...), as written.
    options: dict[str, Any]
    # The variables its functions start with (global, the stage's, then any overrides).
    environment: Mapping[str, str] = field(default_factory=dict)

    def function_name(self, function: str) -> str:
        """The deployed name of one of the app's functions, as `chalice deploy` names it.

        The REST API's function is `{app}-{stage}`; the others `{app}-{stage}-{name}`.
        """
        base = f"{APP_NAME}-{self.name}"
        return base if function == "api_handler" else f"{base}-{function}"


def read_config(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((project_dir / ".chalice" / "config.json").read_text())
    return config


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    """The variables a function of `stage` starts with (global, then the stage's own)."""
    stages = config.get("stages", {})
    if stage not in stages:
        raise StageError(f"no stage {stage!r} in .chalice/config.json (stages: {sorted(stages)})")
    return {
        **{k: str(v) for k, v in config.get("environment_variables", {}).items()},
        **{k: str(v) for k, v in stages[stage].get("environment_variables", {}).items()},
    }


def settings_from(environment: dict[str, str]) -> Settings:
    """`Settings` from exactly these variables: the caller's shell does not leak in."""
    with mock.patch.dict(os.environ, environment, clear=True):
        try:
            return Settings()
        except ValueError as error:
            raise StageError(f"the stage's settings do not validate: {error}") from None


def load_stage(
    stage: str, project_dir: Path = PROJECT_DIR, overrides: Mapping[str, str] | None = None
) -> Stage:
    """The stage `stage` of the project's `.chalice/config.json`, with `overrides` over its
    variables (what the local runtime's `--env NAME=VALUE` does)."""
    config = read_config(project_dir)
    environment = {**stage_environment(config, stage), **(overrides or {})}
    options = dict(config["stages"][stage])
    return Stage(
        name=stage,
        api_gateway_stage=str(options.get("api_gateway_stage", stage)),
        settings=settings_from(environment),
        options=options,
        environment=environment,
    )


def deployable_stages(project_dir: Path = PROJECT_DIR) -> list[str]:
    """The stages with their own least-privilege policies (`autogen_policy: false`)."""
    config = read_config(project_dir)
    return [
        name
        for name, options in config.get("stages", {}).items()
        if options.get("autogen_policy", config.get("autogen_policy", True)) is False
    ]
