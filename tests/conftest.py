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


# Skips that mean "a tool is missing here", the tests they cost, and how to get the tool.
MISSING_TOOLS = {
    "Debian's chromium is not installed": (
        "browser",
        "sudo apt-get install chromium   (Debian/Ubuntu; Playwright drives /usr/bin/chromium)",
    ),
    "DynamoDB Local unavailable": (
        "DynamoDB Local",
        "Java 17+ (sudo apt-get install openjdk-17-jre-headless), then `make dynamodb-local`",
    ),
    "LocalStack unavailable": (
        "LocalStack",
        "`make localstack-install` (LocalStack 2026.3.0 with a Python 3.13, else 4.9.2 on "
        "3.11; docs/localstack.md), with Java 17+ and `make dynamodb-local`",
    ),
}


def _skip_reason(report: object) -> str:
    longrepr = getattr(report, "longrepr", None)
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""


def pytest_unconfigure(config):
    """Say loudly, after everything else, which tests did not run for want of a tool and
    how to get it (a lone "s" per test is easy to miss). CI=true makes these skips fail."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    reasons = [_skip_reason(report) for report in reporter.stats.get("skipped", [])]
    for marker, (kind, how) in MISSING_TOOLS.items():
        count = sum(marker in reason for reason in reasons)
        if count:
            reporter.write_sep(
                "!", f"{count} {kind} test(s) SKIPPED: {marker}", red=True, bold=True
            )
            reporter.write_line(f"To run them: {how}", red=True, bold=True)
            reporter.write_line("(With CI=true they fail instead of skipping.)")
