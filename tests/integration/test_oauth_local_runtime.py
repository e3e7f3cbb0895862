"""`python -m infra.local up --oidc-test-provider`: signing in through the local runtime.

The runtime runs as a user starts it (a subprocess, moto backend, free ports);
a requests.Session plays the browser and follows every redirect over real HTTP:
the app's start, the provider's login page and form, the app's callback.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from infra.local.ports import free_port
from tests.support.local_runtime import userdb_args

STARTUP_TIMEOUT = 60


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    directory = tmp_path_factory.mktemp("runtime")
    log = directory / "runtime.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local",
                "up",
                "--backend",
                "moto",
                "--port",
                str(port),
                "--ws-port",
                str(free_port()),
                "--ddb-port",
                str(free_port()),
                "--data-dir",
                str(directory),
                "--oidc-test-provider",
                *userdb_args([], directory),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def hidden_fields(page: str) -> dict[str, str]:
    pairs = re.findall(r"<input type='hidden' name='([^']*)' value='([^']*)'>", page)
    return {unescape(name): unescape(value) for name, value in pairs}


def test_the_test_provider_signs_a_user_in_through_the_runtime(runtime):
    browser = requests.Session()
    # Given the web client's "Sign in with" button, from the providers the API lists
    providers = browser.get(f"{runtime}/api/auth/providers", timeout=10).json()["providers"]
    assert [(p["id"], p["name"]) for p in providers] == [("oidc", "Local test provider")]
    # When the user clicks it: the browser follows the redirects to the provider's login page
    login_page = browser.get(
        providers[0]["start_url"], params={"redirect": f"{runtime}/"}, timeout=10
    )
    assert login_page.status_code == 200
    assert "Local test provider" in login_page.text
    # And submits the form as a user with a verified email
    form = {
        **hidden_fields(login_page.text),
        "sub": "zoe",
        "name": "Zoe",
        "email": "zoe@example.com",
        "email_verified": "true",
        "login": "allow",
    }
    action = urljoin(login_page.url, "/authorize")
    landed = browser.post(action, data=form, timeout=10)
    # Then the redirects went provider -> callback -> web client, token in the fragment
    locations = [r.headers["Location"] for r in landed.history]
    assert "/api/auth/oauth/oidc/callback?code=" in locations[0]
    landing = urlsplit(locations[1])
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == f"{runtime}/"
    fields = {k: v[0] for k, v in parse_qs(landing.fragment).items()}
    assert fields["result"] == "created"
    # And the token and the session cookie both sign the user in
    by_token = requests.get(
        f"{runtime}/api/me", headers={"Authorization": f"Bearer {fields['token']}"}, timeout=10
    ).json()
    assert by_token["user"]["email"] == "zoe@example.com"
    assert by_token["identities"][0]["subject"] == "zoe"
    assert browser.get(f"{runtime}/api/me", timeout=10).json() == by_token


def test_a_replayed_callback_through_the_runtime_is_refused(runtime):
    browser = requests.Session()
    login_page = browser.get(f"{runtime}/api/auth/oauth/oidc/start", timeout=10)
    form = {**hidden_fields(login_page.text), "sub": "yan", "login": "allow"}
    first = browser.post(urljoin(login_page.url, "/authorize"), data=form, timeout=10)
    callback = first.history[0].headers["Location"]
    assert "token=" in first.history[1].headers["Location"]
    # When the callback is requested again, with the browser's state cookie put back
    state = parse_qs(urlsplit(callback).query)["state"][0]
    replay = browser.get(
        callback, allow_redirects=False, timeout=10, cookies={"userdb_oauth_state": state}
    )
    # Then it redirects to the web client with invalid_state, never an error page
    assert replay.status_code == 302
    assert parse_qs(urlsplit(replay.headers["Location"]).fragment)["error"] == ["invalid_state"]
