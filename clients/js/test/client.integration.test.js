// @userdb/client against the real local runtime (python -m infra.local up, DynamoDB Local),
// started by these tests: live clients, offline writes across app and runtime restarts,
// rollback, reconnects and partial sync. Node 20 has no global WebSocket: `ws` is passed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import WebSocket from "ws";

import { BadRequestError, RateLimitedError, VersionMismatchError, createClient, memoryStorage } from "../src/index.js";
import { Runtime, runtimeMissing } from "./support/runtime.js";

const WAIT_MS = 20_000;
const missing = runtimeMissing();
if (missing && process.env.CI === "true") throw new Error(`the local runtime must run in CI: ${missing}`);

/** Poll until `probe()` is truthy; its value. */
async function waitFor(probe, what, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeout / 1000} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A subscription that records every result it is called with. */
function follow(collection, options) {
  const seen = [];
  const unsubscribe = collection.subscribe((docs) => seen.push(docs), options);
  return { seen, unsubscribe, latest: () => seen.at(-1) ?? [] };
}

describe("@userdb/client on the local runtime", { skip: missing ?? false }, () => {
  let runtime;
  let skipReason = null;
  const clients = [];

  /** A client of this runtime (closed after the test file). */
  function client(options = {}) {
    const made = createClient({ url: runtime.apiUrl, wsUrl: runtime.wsUrl, WebSocket, storage: memoryStorage(), ...options });
    clients.push(made);
    return made;
  }

  async function signedIn(account, options) {
    const made = client(options);
    await made.auth.logIn({ email: account.email, password: account.password });
    return made;
  }

  const live = (made) => waitFor(() => made.state.state === "live", "the client to be live");

  before(async () => {
    runtime = await new Runtime().start();
    if (!(await runtime.servesCollections())) {
      skipReason = "the runtime does not serve /api/collections yet (the collections backend is not merged)";
    }
  });

  after(async () => {
    await Promise.all(clients.map((made) => made.close()));
    await runtime?.stop();
  });

  const it = (name, body) =>
    test(name, async (t) => {
      if (skipReason) {
        t.skip(skipReason);
        return;
      }
      await body(t);
    });

  it("two clients of one user: a write shows here at once and there live", async () => {
    // Given two clients of one user, both live, the second following open todos
    const account = await runtime.signup("Two");
    const first = await signedIn(account);
    const second = await signedIn(account);
    await Promise.all([live(first), live(second)]);
    const mine = follow(first.collection("todos"));
    const theirs = follow(second.collection("todos"), { where: { done: false } });
    // When the first creates a todo
    const confirmed = first.collection("todos").create({ title: "milk", done: false });
    // Then its own subscriber has it at once, pending, before the server answers
    assert.equal(mine.latest().length, 1);
    assert.equal(mine.latest()[0].pending, true);
    const doc = await confirmed;
    assert.ok(doc.version > 0);
    assert.deepEqual(doc.data, { title: "milk", done: false });
    // And the other client's subscriber gets the server's document live
    await waitFor(() => theirs.latest().some((d) => d.id === doc.id && d.version === doc.version && !d.pending), "the todo on the second client");
    // And a patch there that takes it out of the `where` shows here and removes it there
    await second.collection("todos").patch(doc.id, { done: true });
    assert.deepEqual(theirs.latest(), []);
    await waitFor(() => mine.latest()[0]?.data.done === true && !mine.latest()[0].pending, "the patch on the first client");
    // And list/get answer from the replica, as the server would
    assert.deepEqual((await first.collection("todos").list({ where: { done: true } })).map((d) => d.id), [doc.id]);
    assert.equal((await second.collection("todos").get(doc.id)).data.done, true);
  });

  it("a write made offline survives a restart of the app and of the runtime, and reaches the server once", async () => {
    // Given a signed-in app, live, whose storage outlives it
    const account = await runtime.signup("Offline");
    const storage = memoryStorage();
    const app = await signedIn(account, { storage });
    await live(app);
    // When the runtime stops, the app writes, and the app is closed before it could send
    await runtime.end();
    await waitFor(() => app.state.state !== "live", "the app to see the server gone");
    const todos = follow(app.collection("todos"));
    const write = app.collection("todos").create({ title: "written offline", done: false });
    write.catch(() => {}); // this run of the app never learns the answer
    assert.equal(todos.latest()[0]?.pending, true, "shown at once");
    assert.equal(app.pendingWrites, 1);
    await app.close();
    // And the runtime and the app start again, with the same storage
    await runtime.start();
    const restarted = client({ storage });
    const seen = follow(restarted.collection("todos"));
    assert.equal((await restarted.collection("todos").list()).length, 1, "the replica reads at once");
    // Then the write is sent and confirmed, exactly once on the server
    await waitFor(() => restarted.pendingWrites === 0, "the outbox to empty");
    await waitFor(() => seen.latest().length === 1 && !seen.latest()[0].pending, "the confirmed todo");
    const { body } = await runtime.call("GET", "/collections/todos/docs", undefined, account.token);
    assert.deepEqual(body.docs.map((d) => d.data.title), ["written offline"]);
  });

  it("a write whose answer was lost is sent again after a restart and applied once (Idempotency-Key)", async () => {
    // Given an app whose network drops every answer, once the request has reached the server
    const account = await runtime.signup("Lost");
    const storage = memoryStorage();
    let dropAnswers = true;
    const flakyFetch = async (url, init) => {
      const response = await fetch(url, init);
      if (dropAnswers && init?.method === "PATCH") throw new TypeError("network connection lost");
      return response;
    };
    const app = await signedIn(account, { storage, fetch: flakyFetch });
    const doc = await app.collection("todos").create({ title: "count", done: false });
    const before = (await runtime.call("GET", "/collections/todos/docs", undefined, account.token)).body.version;
    // When it patches (the server applies it, the answer is lost) and the app is restarted
    app.collection("todos").patch(doc.id, { done: true }).catch(() => {});
    await waitFor(async () => (await runtime.call("GET", `/collections/todos/docs/${doc.id}`, undefined, account.token)).body.doc.data.done, "the patch applied on the server");
    await app.close();
    dropAnswers = false;
    const restarted = client({ storage });
    await restarted.ready;
    await waitFor(() => restarted.pendingWrites === 0, "the resent patch to be confirmed");
    // Then the server applied it once: one version more than before, not two
    const after = (await runtime.call("GET", "/collections/todos/docs", undefined, account.token)).body.version;
    assert.equal(after, before + 1);
  });

  it("a write refused with 412 rolls back and rejects with VersionMismatchError", async () => {
    // Given a todo changed by another client since this one read it
    const account = await runtime.signup("Conflict");
    const mine = await signedIn(account);
    const other = await signedIn(account);
    await live(mine);
    const doc = await mine.collection("todos").create({ title: "v1", done: false });
    const changed = await other.collection("todos").put(doc.id, { title: "theirs", done: false });
    await waitFor(async () => (await mine.collection("todos").get(doc.id))?.version === changed.version, "their change here");
    const seen = follow(mine.collection("todos"));
    // When this client replaces it, still at the version it first read
    const write = mine.collection("todos").put(doc.id, { title: "mine", done: true }, { ifMatch: doc.version });
    assert.equal(seen.latest()[0].data.title, "mine", "shown at once");
    // Then the server refuses it: the promise rejects, typed, and the replica rolls back
    await assert.rejects(write, (error) => error instanceof VersionMismatchError && error.status === 412 && error.code === "version_mismatch");
    assert.deepEqual(seen.latest()[0].data, { title: "theirs", done: false });
    assert.equal(seen.latest()[0].pending, undefined);
  });

  it("a write the schema refuses rolls back and rejects with the fields' details", async () => {
    const account = await runtime.signup("Schema");
    const app = await signedIn(account);
    await live(app);
    const seen = follow(app.collection("todos"));
    const rejected = [];
    app.on("rejected", (event) => rejected.push(event.error.code));
    // When a todo breaking the collection's schema is created
    const write = app.collection("todos").create({ title: 42, done: "no" });
    assert.equal(seen.latest().length, 1, "shown at once");
    // Then it is refused (400 validation_error, with JSON pointers), and gone from the replica
    await assert.rejects(write, (error) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.code, "validation_error");
      assert.ok(error.details.some((detail) => String(detail.field).includes("title")), JSON.stringify(error.details));
      return true;
    });
    assert.deepEqual(seen.latest(), []);
    assert.deepEqual(rejected, ["validation_error"]);
  });

  it("a client reconnects after the runtime restarts and gets what was written meanwhile", async () => {
    // Given a live client and its state events
    const account = await runtime.signup("Restart");
    const app = await signedIn(account);
    await live(app);
    const states = [];
    app.on("state", (state) => states.push(state.state));
    const seen = follow(app.collection("notes"));
    // When the runtime restarts and another client writes right after
    await runtime.restart();
    const { status } = await runtime.call("POST", "/collections/notes/docs", { data: { text: "after the restart" } }, account.token);
    assert.equal(status, 201);
    // Then the client comes back live by itself and has the note
    await waitFor(() => seen.latest().some((d) => d.data.text === "after the restart"), "the note written during the restart", 60_000);
    assert.equal(app.state.state, "live");
    assert.ok(states.some((state) => state === "reconnecting" || state === "offline"), states.join());
    assert.equal(states.at(-1), "live");
  });

  it("a client following some collections receives only theirs", async () => {
    // Given a client following todos only, and a note and a todo written elsewhere
    const account = await runtime.signup("Partial");
    const storage = memoryStorage();
    await runtime.call("POST", "/collections/notes/docs", { data: { text: "before" } }, account.token);
    await runtime.call("POST", "/collections/todos/docs", { data: { title: "before", done: false } }, account.token);
    const partial = await signedIn(account, { storage, collections: ["todos"] });
    await live(partial);
    const seen = follow(partial.collection("todos"));
    await runtime.call("POST", "/collections/notes/docs", { data: { text: "after" } }, account.token);
    await runtime.call("POST", "/collections/todos/docs", { data: { title: "after", done: false } }, account.token);
    // Then it holds both todos and no note, from the snapshot and live
    await waitFor(() => seen.latest().length === 2, "both todos");
    await partial.flush();
    await waitFor(() => JSON.parse(storage.getItem("userdb.replica") ?? "{}").docs?.length === 2, "the replica saved");
    const kept = JSON.parse(storage.getItem("userdb.replica"));
    assert.deepEqual(new Set(kept.docs.map((d) => d.collection)), new Set(["todos"]));
    assert.throws(() => partial.collection("notes").subscribe(() => {}), /follows todos/);
  });

  it("a device that signed in before is not locked out by wrong passwords sent elsewhere", async () => {
    // Given an account signed in once on this device (its storage keeps the device token)
    const account = await runtime.signup("Owner");
    const storage = memoryStorage();
    const device = client({ storage });
    await device.auth.logIn({ email: account.email, password: account.password });
    assert.equal(typeof JSON.parse(storage.getItem("userdb.devices"))[account.email], "string");
    await device.auth.logOut();
    // When five wrong passwords for that email come from somewhere else
    const stranger = client();
    for (let n = 0; n < 5; n += 1) {
      await assert.rejects(stranger.auth.logIn({ email: account.email, password: `wrong ${n}` }));
    }
    // Then the email is locked for strangers, but this device signs in with its password
    await assert.rejects(client().auth.logIn(account), RateLimitedError);
    const user = await device.auth.logIn({ email: account.email, password: account.password });
    assert.equal(user.email, account.email);
  });
});
