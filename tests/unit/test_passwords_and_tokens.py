"""Password hashing and token rules, without I/O."""

import argon2
import pytest

from chalicelib.logic.passwords import PasswordHasher
from chalicelib.logic.tokens import hash_token, new_id, new_session_token


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(memory_kib=19_456, time_cost=2, parallelism=1)


def test_hash_is_argon2id_with_at_least_owasp_parameters(hasher):
    # When a password is hashed
    encoded = hasher.hash("correct horse battery")
    # Then the hash names argon2id with m >= 19 MiB, t >= 2, p = 1
    parameters = argon2.extract_parameters(encoded)
    assert encoded.startswith("$argon2id$")
    assert parameters.memory_cost >= 19_456
    assert parameters.time_cost >= 2
    assert parameters.parallelism == 1


def test_verify_accepts_the_password_and_rejects_others(hasher):
    encoded = hasher.hash("correct horse battery")
    assert hasher.verify(encoded, "correct horse battery")
    assert not hasher.verify(encoded, "correct horse batterz")
    assert not hasher.verify("not a hash", "correct horse battery")


def test_hashes_are_salted(hasher):
    assert hasher.hash("same password") != hasher.hash("same password")


def test_rehash_is_needed_when_parameters_grow(hasher):
    # Given a hash made with a cheaper cost than the current one
    old = argon2.PasswordHasher(memory_cost=19_456, time_cost=2, parallelism=1).hash("pw")
    stronger = PasswordHasher(memory_kib=19_456, time_cost=3, parallelism=1)
    # Then the stronger hasher asks for a rehash, and not for its own hashes
    assert stronger.needs_rehash(old)
    assert not stronger.needs_rehash(stronger.hash("pw"))
    assert stronger.needs_rehash("garbage")


def test_decoy_verification_never_raises(hasher):
    hasher.verify_decoy("anything at all")


def test_session_tokens_are_32_random_bytes():
    tokens = {new_session_token() for _ in range(200)}
    assert len(tokens) == 200
    # 32 bytes in URL-safe base64 without padding is 43 characters
    assert all(len(token) == 43 for token in tokens)


def test_only_the_sha256_of_a_token_is_kept():
    token = new_session_token()
    digest = hash_token(token)
    assert len(digest) == 64
    assert token not in digest
    assert digest == hash_token(token)


def test_ids_have_prefix_and_16_lowercase_alphanumerics():
    identifier = new_id("note")
    assert identifier.startswith("note_")
    suffix = identifier.removeprefix("note_")
    assert len(suffix) == 16
    assert suffix.isalnum()
    assert suffix == suffix.lower()
