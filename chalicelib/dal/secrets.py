"""Secrets named in settings, read from SSM Parameter Store or Secrets Manager at cold start."""

from __future__ import annotations

import json

import boto3

SSM_PREFIX = "ssm:"
SECRETS_MANAGER_PREFIX = "secretsmanager:"


class SecretReferenceError(ValueError):
    """A secret name that says neither where nor what to read."""


def resolve_secret(reference: str, region: str) -> str:
    """The value `reference` names: `ssm:/param/name` (decrypted) or `secretsmanager:id[#key]`.

    `#key` reads one field of a JSON secret. Errors from AWS propagate: a secret
    that cannot be read should stop the cold start, not fail sign-ins later.
    """
    if reference.startswith(SSM_PREFIX):
        name = reference[len(SSM_PREFIX) :]
        ssm = boto3.client("ssm", region_name=region)
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    if reference.startswith(SECRETS_MANAGER_PREFIX):
        secret_id, _, key = reference[len(SECRETS_MANAGER_PREFIX) :].partition("#")
        secrets = boto3.client("secretsmanager", region_name=region)
        value = str(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
        if not key:
            return value
        field = json.loads(value).get(key)
        if not isinstance(field, str):
            raise SecretReferenceError(f"secret {secret_id!r} has no string field {key!r}")
        return field
    raise SecretReferenceError(
        f"secret name {reference!r} must start with {SSM_PREFIX!r} or {SECRETS_MANAGER_PREFIX!r}"
    )
