// The storage adapters' contract as the client uses it: JSON values, the latest write
// wins whatever the order async writes finish in, sync and async storages alike.
import assert from "node:assert/strict";
import { test } from "node:test";

import { JsonStore, memoryStorage } from "../src/storage.js";

/** An AsyncStorage-shaped storage whose writes finish in reverse order of arrival. */
function slowAsyncStorage() {
  const items = new Map();
  let delay = 30;
  return {
    items,
    getItem: async (key) => items.get(key) ?? null,
    setItem: (key, value) => new Promise((resolve) => setTimeout(() => resolve(items.set(key, value)), (delay = Math.max(1, delay - 10)))),
    removeItem: async (key) => {
      items.delete(key);
    },
  };
}

test("the memory storage has the localStorage shape", () => {
  const storage = memoryStorage();
  assert.equal(storage.getItem("a"), null);
  storage.setItem("a", 1);
  assert.equal(storage.getItem("a"), "1");
  storage.removeItem("a");
  assert.deepEqual(storage.keys(), []);
});

test("the last write of a key is the one stored, and reads wait for writes", async () => {
  const storage = slowAsyncStorage();
  const store = new JsonStore(storage, "p.");
  store.set("k", { n: 1 });
  store.set("k", { n: 2 });
  store.set("k", { n: 3 });
  assert.deepEqual(await store.get("k"), { n: 3 });
  await store.flush();
  assert.equal(storage.items.get("p.k"), '{"n":3}');
  await store.set("k", null);
  assert.equal(await store.get("k"), null);
});

test("a failing storage is reported, not thrown into the app", async () => {
  const errors = [];
  const store = new JsonStore({ getItem: () => "{bad json", setItem: () => { throw new Error("QuotaExceededError"); }, removeItem: () => {} }, "p.");
  store.onError = (error) => errors.push(error.message);
  await store.set("k", { big: true });
  assert.deepEqual(errors, ["QuotaExceededError"]);
  assert.equal(await store.get("k"), null, "unreadable JSON reads as nothing");
});

test("a storage without the three methods is refused at once", () => {
  assert.throws(() => new JsonStore({ getItem() {} }, "p."), /setItem/);
});
