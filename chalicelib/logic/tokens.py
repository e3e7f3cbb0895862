"""Secrets and identifiers."""

from __future__ import annotations

import hashlib
import secrets
import string

_ID_ALPHABET = string.ascii_lowercase + string.digits
SESSION_TOKEN_BYTES = 32


def new_session_token() -> str:
    """32 random bytes, URL-safe: what the client keeps and sends back."""
    return secrets.token_urlsafe(SESSION_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 of a token, hex: the only form in which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_id(prefix: str, length: int = 16) -> str:
    """`{prefix}_` followed by `length` random lowercase letters and digits."""
    return prefix + "_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
