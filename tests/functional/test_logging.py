"""Log lines carry request and user ids; secrets never reach them."""

import io
import json
import logging

from chalicelib.observability import logger

PASSWORD = "Sup3r secret pass phrase"


def test_signup_and_login_logs_carry_ids_and_never_secrets(api):
    # Given the service's log output captured with its own JSON formatter
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    try:
        # When a user signs up, fails a login, logs in and reads their session
        signup = api.call(
            "POST",
            "/auth/signup",
            {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"},
        )
        api.call("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD + "x"})
        login = api.call("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD})
        api.call("GET", "/auth/session", token=login.json["token"])
    finally:
        logger._logger.removeHandler(handler)
    output = captured.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    # Then there are log lines, each with a request id, and the signed-in ones with the user id
    assert lines
    assert all(line.get("request_id") for line in lines)
    user_id = signup.json["user"]["id"]
    assert any(line.get("user_id") == user_id and line["message"] == "signed in" for line in lines)
    # And no password, token or token hash appears anywhere
    for secret in (PASSWORD, signup.json["token"], login.json["token"]):
        assert secret not in output
