// What the app reads: the server's documents as of the cursor (held by the sync engine),
// with the client's own writes still in the outbox laid over them, in order. A write
// shows at once; when the server refuses it, taking it out of the outbox rolls it back.

import { docKey } from "./sync_engine.js";

/** RFC 7386 JSON Merge Patch: `patch` applied to `target` (neither is changed). */
export function mergePatch(target, patch) {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return structuredCloneJson(patch);
  const result = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = mergePatch(result[name], value);
  }
  return result;
}

function structuredCloneJson(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Deep equality of JSON values (object key order does not matter). */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && jsonEqual(a[key], b[key]));
}

/** The server's `where`: equality on top-level fields of `data`. */
export function matchesWhere(doc, where) {
  if (!where) return true;
  return Object.entries(where).every(([field, value]) => jsonEqual(doc.data?.[field], value));
}

/** Documents in id order, as the server lists them. */
export function byId(a, b) {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One write applied on top of `doc` (undefined: absent), as the server would if it accepts. */
export function applyOp(doc, op, at) {
  if (op.op === "delete") return undefined;
  if (op.op === "patch") {
    if (!doc) return undefined; // the server answers 404: nothing to show meanwhile
    return { ...doc, data: mergePatch(doc.data, op.data), updated: at, pending: true };
  }
  // create or put: the data as given
  return {
    collection: op.collection,
    id: op.id,
    data: op.data,
    version: doc?.version ?? 0,
    created: doc?.created ?? at,
    updated: at,
    pending: true,
  };
}

export class Replica {
  /** @param {() => Map<string, object>} base the server's documents by docKey */
  constructor(base) {
    this.base = base;
    this.entries = []; // the outbox's entries, in order: {ops: [...], at}
    this.subscriptions = new Set();
  }

  /** The document as the app sees it (with pending writes), or undefined. */
  get(collection, id) {
    const key = docKey(collection, id);
    let doc = this.base().get(key);
    for (const entry of this.entries) {
      for (const op of entry.ops) {
        if (op.collection === collection && op.id === id) doc = applyOp(doc, op, entry.at);
      }
    }
    return doc;
  }

  /** Every document of `collection` that matches `where`, in id order. */
  list(collection, where) {
    const ids = new Set();
    for (const doc of this.base().values()) if (doc.collection === collection) ids.add(doc.id);
    for (const entry of this.entries) for (const op of entry.ops) if (op.collection === collection) ids.add(op.id);
    const docs = [];
    for (const id of ids) {
      const doc = this.get(collection, id);
      if (doc && matchesWhere(doc, where)) docs.push(doc);
    }
    return docs.sort(byId);
  }

  setEntries(entries) {
    this.entries = entries;
  }

  /** Tell the subscribers of the collections touched (all of them when `collections` is null). */
  changed(collections) {
    for (const subscription of [...this.subscriptions]) {
      if (collections === null || collections.has(subscription.collection)) this.deliver(subscription);
    }
  }

  /** A query followed until `unsubscribe(subscription)`; `deliver` calls it with the current result. */
  subscribe(collection, where, callback) {
    const subscription = { collection, where, callback, last: null, active: true };
    this.subscriptions.add(subscription);
    return subscription;
  }

  unsubscribe(subscription) {
    subscription.active = false;
    this.subscriptions.delete(subscription);
  }

  deliver(subscription) {
    if (!subscription.active) return;
    const docs = this.list(subscription.collection, subscription.where);
    // Only when what this query returns changed: a write elsewhere does not call it.
    if (subscription.last !== null && sameDocs(subscription.last, docs)) return;
    subscription.last = docs;
    try {
      subscription.callback(docs);
    } catch (error) {
      queueMicrotask(() => {
        throw error; // the app's bug, reported as uncaught, without breaking the others
      });
    }
  }
}

function sameDocs(a, b) {
  // Pending documents are rebuilt on each read: compare them by value.
  return a.length === b.length && a.every((doc, index) => doc === b[index] || (doc.pending && jsonEqual(doc, b[index])));
}
