"""The ways the provider misbehaves on request (`fault=` on /authorize), to test that the
app refuses what a broken or hostile provider sends; no I/O here."""

from __future__ import annotations

import time

from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.jwk import RSAKey

FAULTS = (
    "expired_id_token",
    "wrong_nonce",
    "bad_signature",
    "wrong_audience",
    "token_error",
    "slow_token",
)
# Faults of the ID token itself (the others change the token endpoint's answer).
ID_TOKEN_FAULTS = ("expired_id_token", "wrong_nonce", "bad_signature", "wrong_audience")


def faulty_id_token(id_token: str, fault: str, key: RSAKey, client_id: str) -> str:
    """`id_token`, re-issued wrong in the way `fault` names."""
    decoded = jwt.decode(id_token, key)
    claims, header = dict(decoded.claims), dict(decoded.header)
    now = int(time.time())
    if fault == "expired_id_token":
        claims.update(iat=now - 7200, exp=now - 3600)
    elif fault == "wrong_nonce":
        claims["nonce"] = generate_token(20)
    elif fault == "wrong_audience":
        # Issued to another client but naming ours as authorized party: aud must still fail.
        claims.update(aud=["someone-else"], azp=client_id)
    elif fault == "bad_signature":
        # Another key under the provider's key id: the signature cannot verify.
        claims["email"] = "mallory@example.com"
        key = RSAKey.generate_key(2048, parameters={"kid": str(key.kid)})
    return jwt.encode(header, claims, key)
