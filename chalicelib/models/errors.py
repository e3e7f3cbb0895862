"""The error reply every REST route shares (chalicelib/errors.py builds it)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from chalicelib.models.base import ResponseModel


class ErrorDetail(ResponseModel):
    """One invalid field of a 400 `validation_error`."""

    field: str = Field(description="Dotted path of the field, `body` for the whole body.")
    message: str
    type: str = Field(description="Pydantic's error type, e.g. `string_too_short`.")


class ErrorBody(ResponseModel):
    # `details` is left out when there are none.
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    code: str = Field(description="Stable, for programs to branch on.")
    message: str = Field(description="For people.")
    details: list[ErrorDetail] = Field(
        default_factory=list,
        description="On `validation_error` only: which fields are invalid.",
    )


class ErrorResponse(ResponseModel):
    """`{"error": {"code", "message", "details?"}}`, with the status of the error."""

    error: ErrorBody
