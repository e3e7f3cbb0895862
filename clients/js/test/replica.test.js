// The local replica's pure rules: merge patch, where, and pending writes laid over the
// server's documents (no I/O).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Replica, applyOp, matchesWhere, mergePatch } from "../src/replica.js";

test("merge patch follows RFC 7386's examples", () => {
  // Given/When/Then: the RFC's appendix A, a selection
  assert.deepEqual(mergePatch({ a: "b" }, { a: "c" }), { a: "c" });
  assert.deepEqual(mergePatch({ a: "b" }, { b: "c" }), { a: "b", b: "c" });
  assert.deepEqual(mergePatch({ a: "b" }, { a: null }), {});
  assert.deepEqual(mergePatch({ a: [{ b: "c" }] }, { a: [1] }), { a: [1] });
  assert.deepEqual(mergePatch({ a: { b: "c" } }, { a: { b: "d", c: null } }), { a: { b: "d" } });
  assert.deepEqual(mergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
  assert.deepEqual(mergePatch(["a"], { a: "b" }), { a: "b" });
  const target = { keep: { me: 1 } };
  mergePatch(target, { keep: { me: 2 } });
  assert.deepEqual(target, { keep: { me: 1 } }, "the target is not changed");
});

test("where is equality on top-level fields, by value", () => {
  const doc = { data: { done: false, tags: ["a"], owner: { id: 1 } } };
  assert.ok(matchesWhere(doc, { done: false }));
  assert.ok(matchesWhere(doc, { tags: ["a"], owner: { id: 1 } }));
  assert.ok(!matchesWhere(doc, { done: true }));
  assert.ok(!matchesWhere(doc, { missing: null }), "an absent field is not null");
  assert.ok(matchesWhere(doc, {}));
});

const serverDoc = (id, data, version) => ({ collection: "todos", id, data, version, created: 1, updated: version });

test("pending writes lay over the server's documents in order, and fall away when removed", () => {
  // Given the server's documents and three writes waiting
  const base = new Map([["todos/a", serverDoc("a", { title: "a", done: false }, 3)], ["todos/b", serverDoc("b", { title: "b", done: false }, 4)]]);
  const replica = new Replica(() => base);
  const entries = [
    { at: 10, ops: [{ op: "patch", collection: "todos", id: "a", data: { done: true } }] },
    { at: 11, ops: [{ op: "create", collection: "todos", id: "c", data: { title: "c", done: false } }] },
    { at: 12, ops: [{ op: "delete", collection: "todos", id: "b" }] },
  ];
  replica.setEntries(entries);
  // When it is read
  const docs = replica.list("todos");
  // Then every write shows, marked pending, in id order
  assert.deepEqual(docs.map((d) => [d.id, d.data, Boolean(d.pending)]), [
    ["a", { title: "a", done: true }, true],
    ["c", { title: "c", done: false }, true],
  ]);
  assert.deepEqual(replica.list("todos", { done: false }).map((d) => d.id), ["c"]);
  // And without the writes (refused), the server's documents are back as they were
  replica.setEntries([]);
  assert.deepEqual(replica.list("todos"), [...base.values()]);
});

test("a patch of an absent document shows nothing (the server will answer 404)", () => {
  assert.equal(applyOp(undefined, { op: "patch", collection: "t", id: "x", data: { a: 1 } }, 1), undefined);
});

test("subscribers are called with the current result, then only when it changes", () => {
  const base = new Map([["todos/a", serverDoc("a", { done: false }, 1)]]);
  const replica = new Replica(() => base);
  const calls = [];
  const subscription = replica.subscribe("todos", { done: false }, (docs) => calls.push(docs.map((d) => d.id)));
  replica.deliver(subscription);
  replica.changed(new Set(["notes"])); // another collection: not called
  replica.changed(new Set(["todos"])); // same result: not called
  base.set("todos/b", serverDoc("b", { done: false }, 2));
  replica.changed(new Set(["todos"]));
  replica.setEntries([{ at: 3, ops: [{ op: "patch", collection: "todos", id: "a", data: { done: true } }] }]);
  replica.changed(new Set(["todos"]));
  replica.changed(new Set(["todos"])); // the same pending result again: not called
  replica.unsubscribe(subscription);
  replica.setEntries([]);
  replica.changed(null);
  assert.deepEqual(calls, [["a"], ["a", "b"], ["b"]]);
});
