"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from functools import cached_property

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class PasswordHasher:
    """argon2id with the stage's cost; hashes made with older costs are upgraded on login."""

    def __init__(self, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            memory_cost=memory_kib,
            time_cost=time_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        """A new argon2id hash (salted) of `password`."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True if `password` matches; False on mismatch or an unreadable hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    @cached_property
    def _decoy_hash(self) -> str:
        # Made on first use, not at cold start: it costs as much as a real hash.
        return self._hasher.hash("decoy password for unknown accounts")

    def verify_decoy(self, password: str) -> None:
        """Spend the time of a real verification, for an account that does not exist."""
        self.verify(self._decoy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
