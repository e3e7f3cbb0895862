"""The web client in Chromium under its Content-Security-Policy, learning its endpoints from
`GET /config.json`: it signs up, syncs live and reports no violation; the policy is real
(a connection elsewhere is refused and reported)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from typing import Any

import pytest

from tests.support.clients_runtime import LocalStack

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
PASSWORD = "correct horse battery"
# Runs before the page's own scripts (Playwright injects it past the CSP).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_the_page_works_under_its_csp_with_no_violation(browser: Any, local_stack: LocalStack):
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # Given the page as the runtime serves it, with nothing injected
        response = page.goto(local_stack.base_url + "/")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert f"ws://127.0.0.1:{local_stack.ws_port}" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        # When a user signs up, goes live and writes a note
        page.get_by_role("tab", name="Create account").click()
        page.get_by_label("Name").fill("Csp")
        page.get_by_label("Email").fill(f"csp-{time.time_ns()}@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_selector("#notes-view:not([hidden])", timeout=WAIT_MS)
        # (the browser keeps the device token the sign-up gave it, out of the page's reach)
        (device,) = [c for c in context.cookies() if c["name"] == "userdb_device"]
        assert device["httpOnly"] and device["sameSite"] == "Strict"
        page.wait_for_selector('#connection[data-state="live"]', timeout=WAIT_MS)
        page.get_by_label("New note").fill("under the policy")
        page.get_by_role("button", name="Add note").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.note-text')]"
            ".some(e => e.textContent === 'under the policy')",
            timeout=WAIT_MS,
        )
        # Then the page did it all without one violation, error or CSP complaint
        assert page.evaluate("window.__violations") == []
        assert [text for text in console if "Content Security Policy" in text] == []
        assert errors == []
        # And the policy is enforced: a connection anywhere else is refused and reported
        page.evaluate("() => { try { new WebSocket('ws://198.51.100.1:9/'); } catch (e) {} }")
        page.wait_for_function("() => window.__violations.length > 0", timeout=WAIT_MS)
        assert page.evaluate("window.__violations")[0].startswith("connect-src")
    finally:
        context.close()


def test_config_json_is_the_runtimes_not_the_requests(local_stack: LocalStack):
    port = local_stack.runtime.port
    expected = {"apiUrl": "/api", "wsUrl": f"ws://127.0.0.1:{local_stack.ws_port}/local"}
    with urllib.request.urlopen(local_stack.base_url + "/config.json", timeout=10) as reply:  # noqa: S310 - loopback
        assert json.loads(reply.read()) == expected
    # Whatever Host a request names, nothing it answers names that host: another name is
    # sent to the runtime's own origin
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/config.json", headers={"Host": "evil.example:8001"})
    reply = connection.getresponse()
    assert (reply.status, reply.getheader("Location")) == (
        307,
        f"http://127.0.0.1:{port}/config.json",
    )
    connection.close()
