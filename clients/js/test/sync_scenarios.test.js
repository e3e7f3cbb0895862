// The shared sync scenarios (tests/shared) played on this package's engine: the same
// files the Python SDK's engine plays, so the two implementations keep one set of rules.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

import { SyncEngine, State, backoffDelay, pingDelay } from "../src/sync_engine.js";

const shared = new URL("../../../tests/shared/", import.meta.url);
const runner = vm.runInThisContext(readFileSync(new URL("scenario_runner.js", shared), "utf8"));
const load = (name) => JSON.parse(readFileSync(new URL(name, shared), "utf8"));

for (const file of ["sync_scenarios.json", "sync_scenarios_collections.json"]) {
  const scenarios = load(file);
  const outcomes = runner(SyncEngine, scenarios);
  scenarios.forEach((scenario, index) => {
    test(`${file}: ${scenario.name}`, () => {
      const outcome = outcomes[index];
      const stated = Object.fromEntries(Object.keys(scenario.expect).map((key) => [key, outcome[key]]));
      assert.deepEqual(stated, scenario.expect);
    });
  });
}

test("backoff doubles from 0.5 s to 30 s with equal jitter, and never stops", () => {
  const delays = (jitter) => [...Array(12).keys()].map((n) => backoffDelay(n, undefined, () => jitter));
  assert.deepEqual(delays(1), [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30]);
  assert.deepEqual(delays(0), [0.25, 0.5, 1, 2, 4, 8, 15, 15, 15, 15, 15, 15]);
  assert.equal(backoffDelay(10_000, undefined, () => 1), 30);
});

test("pings are spread over 27-30 s", () => {
  assert.equal(pingDelay(undefined, () => 0), 27);
  assert.equal(pingDelay(undefined, () => 1), 30);
});

test("a live connection is renewed before API Gateway's 2-hour limit, at once", () => {
  // Given a live connection, welcomed at t=0, with the lowest jitter
  let time = 0;
  const engine = new SyncEngine({ clientId: "c", cursor: 0 }, { clock: () => time, random: () => 0 });
  engine.start();
  engine.onOpen();
  engine.onMessage(JSON.stringify({ type: "welcome", version: 0, connectionId: "k" }));
  const renewAt = 6900 * 0.9;
  assert.ok(renewAt < 7200 - 300, "well before the limit");
  // When time passes (answering every ping), up to the renewal
  let effects = [];
  while (time < renewAt) {
    time = Math.min(renewAt, engine.nextTimer());
    effects = engine.tick();
    if (effects.some((e) => e.type === "send" && e.message.action === "ping")) {
      engine.onMessage(JSON.stringify({ type: "pong", version: 0 }));
    }
  }
  // Then it disconnects and connects again in the same step, without backoff
  const types = effects.map((e) => e.type);
  assert.deepEqual(types.filter((t) => t !== "status" && t !== "save"), ["disconnect", "connect"]);
  assert.equal(engine.status.state, State.RECONNECTING);
  assert.deepEqual(engine.onOpen(), [{ type: "send", message: { action: "hello", since: 0 } }]);
});
