"""The shared sync scenarios on the SDK's engine (the JS engine, clients/js/src/sync_engine.js,
plays them in Node and in Chromium)."""

import pytest

from tests.shared.scenarios import expected_part, load_scenarios, run_in_python

SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_the_sdk_engine_passes_the_shared_scenario(scenario):
    # Given / When: the scenario's steps on the Python engine
    outcome = run_in_python(scenario)
    # Then: what it states holds
    assert expected_part(outcome, scenario["expect"]) == scenario["expect"]
