"""Shared model settings."""

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A client's input: unknown fields are rejected, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ResponseModel(BaseModel):
    """Something the server returns (every field present, defaults included)."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)
