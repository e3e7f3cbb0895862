// The outbox against a fake of the REST API (an in-memory Http whose answers the test
// chooses): the order, the idempotency keys and what happens on each kind of answer.
// The same behaviours run against the real runtime in client.integration.test.js.
import assert from "node:assert/strict";
import { test } from "node:test";

import { NetworkError, VersionMismatchError, UnauthorizedError, apiError } from "../src/errors.js";
import { Outbox } from "../src/outbox.js";

class FakeHttp {
  constructor(answers) {
    this.answers = answers; // a function (call) -> {body} or throws
    this.calls = [];
  }
  async request(method, path, options = {}) {
    const call = { method, path, key: options.headers?.["Idempotency-Key"], body: options.body, headers: options.headers ?? {} };
    this.calls.push(call);
    return this.answers(call, this.calls.length);
  }
}

function outbox(http, events = []) {
  const stored = [];
  const box = new Outbox({
    http,
    persist: async (entries) => stored.push(entries.map((e) => e.key)),
    onChange: () => events.push("change"),
    onConfirmed: (entry) => events.push(`confirmed ${entry.key}`),
    onRefused: (entry, error) => events.push(`refused ${entry.key} ${error.code}`),
    onUnauthorized: () => events.push("unauthorized"),
    random: () => 0,
    timings: { backoffInitial: 0.02, backoffMax: 0.05 },
  });
  box.stored = stored;
  return box;
}

const doc = (id, version) => ({ collection: "todos", id, data: {}, version, created: 1, updated: 1 });
const entry = (key, op = "create", extra = {}) => ({ key, batch: false, at: 1, ops: [{ op, collection: "todos", id: key, data: { n: 1 }, ...extra }] });

test("writes are sent one at a time, in order, each with its own Idempotency-Key", async () => {
  const http = new FakeHttp(({ path }) => ({ body: { doc: doc(path.split("/").pop() || "x", 1) } }));
  const box = outbox(http);
  box.resume();
  const results = await Promise.all([box.enqueue(entry("a")), box.enqueue(entry("b", "put")), box.enqueue(entry("c", "patch", { ifMatch: 4 }))]);
  assert.deepEqual(http.calls.map((c) => [c.method, c.key]), [["POST", "a"], ["PUT", "b"], ["PATCH", "c"]]);
  assert.equal(http.calls[2].headers["If-Match"], '"4"');
  assert.equal(results.length, 3);
  assert.deepEqual(box.stored.at(-1), [], "the stored outbox is empty once all are confirmed");
});

test("offline, a write waits and is sent again with the same key until it goes through", async () => {
  const http = new FakeHttp((_call, n) => {
    if (n < 3) throw new NetworkError("offline");
    return { body: { doc: doc("a", 7) } };
  });
  const box = outbox(http);
  box.resume();
  const result = await box.enqueue(entry("a"));
  assert.equal(result.version, 7);
  assert.deepEqual(http.calls.map((c) => c.key), ["a", "a", "a"]);
});

test("a refused write leaves the outbox, rejects with the typed error, and the next goes on", async () => {
  const events = [];
  const http = new FakeHttp(({ key }) => {
    if (key === "a") throw apiError(412, "version_mismatch", "changed meanwhile");
    return { body: { doc: doc("b", 2) } };
  });
  const box = outbox(http, events);
  box.resume();
  const first = box.enqueue(entry("a", "put", { ifMatch: 1 }));
  const second = box.enqueue(entry("b"));
  await assert.rejects(first, (error) => error instanceof VersionMismatchError && error.code === "version_mismatch" && error.status === 412);
  assert.equal((await second).version, 2);
  assert.deepEqual(events.filter((e) => e !== "change"), ["refused a version_mismatch", "confirmed b"]);
});

test("401 pauses the outbox and keeps the writes for the next session", async () => {
  const events = [];
  const http = new FakeHttp(() => {
    throw apiError(401, "unauthorized", "session ended");
  });
  const box = outbox(http, events);
  box.resume();
  box.enqueue(entry("a"));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(events.includes("unauthorized"));
  assert.equal(box.size, 1);
  assert.equal(http.calls.length, 1, "not retried while paused");
  assert.ok(http.calls.every(() => true) && !(box.lastError instanceof NetworkError));
  assert.ok(box.lastError instanceof UnauthorizedError);
});

test("a batch is one request of all its ops, with if_match as the API spells it", async () => {
  const http = new FakeHttp(() => ({ body: { results: [doc("a", 3), { collection: "todos", id: "b", version: 3, deleted: true }], version: 3 } }));
  const box = outbox(http);
  box.resume();
  const results = await box.enqueue({
    key: "k",
    batch: true,
    at: 1,
    ops: [
      { op: "create", collection: "todos", id: "a", data: { n: 1 } },
      { op: "delete", collection: "todos", id: "b", ifMatch: 2 },
    ],
  });
  assert.equal(results.length, 2);
  assert.deepEqual(http.calls[0].body, {
    ops: [
      { op: "create", collection: "todos", id: "a", data: { n: 1 } },
      { op: "delete", collection: "todos", id: "b", if_match: 2 },
    ],
  });
});
