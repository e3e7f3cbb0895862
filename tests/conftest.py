"""Defaults for every test: fake credentials, no X-Ray, no metrics output."""

import os

# Set before anything imports boto3 or Powertools; never real AWS from a test.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)

# Fixtures every suite may use (`dynamodb_local`, `localstack_dynamodb`) and the LocalStack
# pass's ordering and summary.
pytest_plugins = ["tests.support.dynamodb_local", "tests.support.localstack"]
