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


def derived_id(prefix: str, *parts: str, length: int = 16) -> str:
    """`{prefix}_` and `length` lowercase letters and digits drawn from SHA-256 of `parts`:
    the same parts always name the same id (e.g. a note made by one Idempotency-Key)."""
    digest = int.from_bytes(hashlib.sha256("\x00".join(parts).encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[index])
    return prefix + "_" + "".join(chars)
