"""Request headers that writes share: If-Match and Idempotency-Key."""

from __future__ import annotations

import re

from chalice.app import Request

from chalicelib.errors import ValidationError
from chalicelib.models.notes import IDEMPOTENCY_KEY_PATTERN, IF_MATCH_PATTERN

_IF_MATCH = re.compile(IF_MATCH_PATTERN)
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def header_error(header: str, message: str) -> ValidationError:
    return ValidationError(details=[{"field": header, "message": message, "type": "header"}])


def if_match_version(request: Request) -> int | None:
    """`If-Match: "7"` (or `7`): the version the client last saw; `*` or absent: any."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _IF_MATCH.match(header)
    if match is None or not (match.group(1) or match.group(2)):
        raise header_error("If-Match", 'expected a version, e.g. "7"')
    return int(match.group(1) or match.group(2))


def idempotency_key(request: Request) -> str | None:
    header = request.headers.get("idempotency-key")
    if header is None:
        return None
    if not _IDEMPOTENCY_KEY.match(header):
        raise header_error("Idempotency-Key", "1 to 255 visible ASCII characters")
    return str(header)


def etag(version: int) -> str:
    """The ETag of a document at `version` (what If-Match sends back)."""
    return f'"{version}"'
