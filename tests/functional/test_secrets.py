"""Client secrets named in settings, read from SSM and Secrets Manager (moto in-process)."""

import json

import boto3
import pytest

from chalicelib.dal.secrets import SecretReferenceError, resolve_secret


def test_secrets_are_read_from_ssm_and_secrets_manager(aws):
    # Given a SecureString parameter, a plain secret and a JSON secret
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/userdb/dev/google", Value="from-ssm", Type="SecureString"
    )
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name="userdb/dev/plain", SecretString="from-sm")
    secrets.create_secret(Name="userdb/dev/oauth", SecretString=json.dumps({"okta": "from-json"}))
    # Then each reference resolves to its value
    assert resolve_secret("ssm:/userdb/dev/google", "us-east-1") == "from-ssm"
    assert resolve_secret("secretsmanager:userdb/dev/plain", "us-east-1") == "from-sm"
    assert resolve_secret("secretsmanager:userdb/dev/oauth#okta", "us-east-1") == "from-json"


@pytest.mark.parametrize(
    "reference", ["/userdb/dev/google", "vault:x", "secretsmanager:userdb/dev/oauth#nope"]
)
def test_a_reference_that_names_nothing_readable_is_an_error(aws, reference):
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="userdb/dev/oauth", SecretString=json.dumps({"okta": "x"})
    )
    with pytest.raises(SecretReferenceError):
        resolve_secret(reference, "us-east-1")
