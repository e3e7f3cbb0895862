"""Device tokens: a browser or client that signed in to an account before is trusted with it.

After OWASP's "device cookies": a successful sign-in gives the device a random token
bound to the account's email (only its SHA-256 is stored). A later sign-in that shows
a valid token for the same email is throttled on its own counter, so failures from
elsewhere, which lock the email for everyone else, do not lock its owner out.
"""

from __future__ import annotations

from chalicelib.dal.accounts import TrustedDeviceStore
from chalicelib.logic.clock import Clock, epoch_s
from chalicelib.logic.tokens import hash_token, new_session_token

# Our tokens are 43 characters; anything far longer is not ours and is not hashed.
MAX_DEVICE_TOKEN_LENGTH = 256


class TrustedDevices:
    """Issues device tokens and tells which email a token signed in to."""

    def __init__(self, store: TrustedDeviceStore, clock: Clock, lifetime_seconds: int) -> None:
        self._store = store
        self._clock = clock
        self.lifetime_seconds = lifetime_seconds

    def issue(self, email: str) -> str:
        """A new token for a device that just signed in to `email` (shown once)."""
        token = new_session_token()
        self._store.add(hash_token(token), email, epoch_s(self._clock) + self.lifetime_seconds)
        return token

    def trusted_id(self, token: str | None, email: str) -> str | None:
        """The device's id (its token's hash) if `token` signed in to `email`, else None."""
        if not token or len(token) > MAX_DEVICE_TOKEN_LENGTH:
            return None
        token_hash = hash_token(token)
        if not self._store.signed_in(token_hash, email, epoch_s(self._clock)):
            return None
        return token_hash
