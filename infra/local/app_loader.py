"""Loading a Chalice project as Lambda would run it: its stage's environment, then `app`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import LocalChalice


@dataclass
class LoadedApp:
    app: Any
    config: Config

    @property
    def api_gateway_stage(self) -> str:
        return str(self.config.api_gateway_stage)


def stage_config(app_dir: Path, stage: str) -> Config:
    """The Chalice configuration of `stage` (API Gateway stage name, memory, timeout...)."""
    return CLIFactory(project_dir=str(app_dir)).create_config_obj(chalice_stage_name=stage)


def load_app(app_dir: Path, stage: str, overrides: dict[str, str]) -> LoadedApp:
    """Import `app.py` of `app_dir` with the stage's environment plus `overrides` in os.environ.

    The app runs in this process, so every function shares one environment
    (on AWS each function could have its own).
    """
    factory = CLIFactory(project_dir=str(app_dir))
    config = factory.create_config_obj(chalice_stage_name=stage)
    environment = {k: str(v) for k, v in config.environment_variables.items()}
    environment.update(overrides)
    os.environ.update(environment)
    app = factory.load_chalice_app(environment_variables=environment)
    # Requests run on several threads here; Chalice keeps `current_request` per thread
    # only in its LocalChalice flavour (the same switch `chalice local` makes).
    app.__class__ = type("LocalApp", (LocalChalice, app.__class__), {})
    return LoadedApp(app=app, config=config)
