"""@userdb/client's sync engine, as the web page loads it (/client/), passes in Chromium the
same scenarios as the SDK's engine."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from tests.shared.scenarios import expected_part, load_scenarios, run_in_python
from userdb.sync import SyncTimings, backoff_delay

SHARED = Path(__file__).resolve().parents[1] / "shared"
RUNNER = (SHARED / "scenario_runner.js").read_text()
# Scenarios of collections: the JS engine's (here and in clients/js/test); the Python
# runner (tests/shared/scenarios.py) plays sync_scenarios.json.
COLLECTION_SCENARIOS = SHARED / "sync_scenarios_collections.json"

pytestmark = pytest.mark.browser


def test_the_web_engine_and_the_sdk_engine_agree_on_every_scenario(browser, static_web):
    # Given the shared scenarios
    scenarios = load_scenarios()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{static_web}/favicon.svg")
    # When each is played on the browser's engine
    outcomes = page.evaluate(
        f"""async (scenarios) => {{
            const {{ SyncEngine }} = await import("/client/sync_engine.js");
            return ({RUNNER})(SyncEngine, scenarios);
        }}""",
        scenarios,
    )
    page.close()
    # Then it does what the scenario states, exactly as the Python engine does
    assert errors == []
    for scenario, outcome in zip(scenarios, outcomes, strict=True):
        expect = scenario["expect"]
        assert expected_part(outcome, expect) == expect, scenario["name"]
        in_python = run_in_python(scenario)
        assert expected_part(outcome, in_python) == in_python, scenario["name"]


def test_backoff_matches_the_sdk(browser, static_web):
    page = browser.new_page()
    page.goto(f"{static_web}/favicon.svg")
    delays = page.evaluate(
        """async () => {
            const { backoffDelay } = await import("/client/sync_engine.js");
            const delay = (j) => (n) => backoffDelay(n, undefined, () => j);
            const row = (j) => [...Array(10).keys()].map(delay(j));
            return [0, 0.25, 1].map(row);
        }"""
    )
    page.close()
    for jitter, row in zip((0, 0.25, 1), delays, strict=True):
        expected = [
            backoff_delay(n, SyncTimings(), functools.partial(float, jitter)) for n in range(10)
        ]
        assert row == pytest.approx(expected)


def test_the_web_engine_passes_the_collection_scenarios(browser, static_web):
    scenarios = json.loads(COLLECTION_SCENARIOS.read_text())
    page = browser.new_page()
    page.goto(f"{static_web}/favicon.svg")
    outcomes = page.evaluate(
        f"""async (scenarios) => {{
            const {{ SyncEngine }} = await import("/client/sync_engine.js");
            return ({RUNNER})(SyncEngine, scenarios);
        }}""",
        scenarios,
    )
    page.close()
    for scenario, outcome in zip(scenarios, outcomes, strict=True):
        assert expected_part(outcome, scenario["expect"]) == scenario["expect"], scenario["name"]
