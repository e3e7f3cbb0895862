"""/health's reply."""

from __future__ import annotations

from typing import Literal

from chalicelib.models.base import ResponseModel


class HealthResponse(ResponseModel):
    status: Literal["ok"] = "ok"
    stage: str
