// The durable outbox: the client's writes, in order, kept in storage until the server
// answers. Each entry is sent with its own Idempotency-Key, so sending it again (after a
// lost answer, a reconnect or an app restart) has the server's first result and never
// a second write. Entries leave the outbox when the server confirms them (the promise
// resolves with its documents) or refuses them (the promise rejects, the replica rolls
// back); a network failure, 429 or 5xx keeps them and retries with backoff.

import { UnauthorizedError, isRefusal } from "./errors.js";
import { docsPath } from "./http.js";
import { backoffDelay, DEFAULT_TIMINGS } from "./sync_engine.js";

const MERGE_PATCH = "application/merge-patch+json";

/** The If-Match header of a version, if one is given. */
function ifMatch(version) {
  return version === undefined || version === null ? {} : { "If-Match": `"${version}"` };
}

/** Send one outbox entry; resolves with the server's results, one per op. */
export async function sendEntry(http, entry) {
  const headers = { "Idempotency-Key": entry.key };
  if (entry.batch) {
    const ops = entry.ops.map(({ op, collection, id, data, ifMatch: version }) => {
      const sent = { op, collection, id };
      if (data !== undefined) sent.data = data;
      if (version !== undefined && version !== null) sent.if_match = version;
      return sent;
    });
    const { body } = await http.request("POST", "/batch", { body: { ops }, headers });
    return body.results;
  }
  const [{ op, collection, id, data, ifMatch: version }] = entry.ops;
  if (op === "create") {
    const { body } = await http.request("POST", docsPath(collection), { body: { data, id }, headers });
    return [body.doc];
  }
  if (op === "put") {
    const { body } = await http.request("PUT", docsPath(collection, id), { body: { data }, headers: { ...headers, ...ifMatch(version) } });
    return [body.doc];
  }
  if (op === "patch") {
    const { body } = await http.request("PATCH", docsPath(collection, id), {
      body: data,
      contentType: MERGE_PATCH,
      headers: { ...headers, ...ifMatch(version) },
    });
    return [body.doc];
  }
  if (op === "delete") {
    await http.request("DELETE", docsPath(collection, id), { headers: { ...headers, ...ifMatch(version) } });
    return [{ collection, id, deleted: true }];
  }
  throw new TypeError(`unknown write ${op}`);
}

export class Outbox {
  /**
   * @param {object} options
   * @param {import("./http.js").Http} options.http
   * @param {(entries: object[]) => Promise<void>} options.persist store the entries
   * @param {(entry: object) => void} options.onChange the entries changed (replica overlay)
   * @param {(entry: object, results: object[]) => void} options.onConfirmed
   * @param {(entry: object, error: Error) => void} options.onRefused
   * @param {(error: Error) => void} options.onUnauthorized
   * @param {() => number} [options.random]
   */
  constructor({ http, persist, onChange, onConfirmed, onRefused, onUnauthorized, random = Math.random, timings = {} }) {
    this.http = http;
    this.persist = persist;
    this.onChange = onChange;
    this.onConfirmed = onConfirmed;
    this.onRefused = onRefused;
    this.onUnauthorized = onUnauthorized;
    this.random = random;
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
    this.entries = [];
    this.waiting = new Map(); // entry key -> {resolve, reject}: writes made in this run
    this.sending = false;
    this.paused = true; // until signed in
    this.failures = 0;
    this.timer = null;
    this.lastError = null;
  }

  get size() {
    return this.entries.length;
  }

  /** Entries kept from an earlier run (their promises are gone; events tell the outcome). */
  restore(entries) {
    this.entries = Array.isArray(entries) ? entries.filter((entry) => entry?.key && Array.isArray(entry.ops)) : [];
  }

  /** Add a write: shown at once (onChange), stored, then sent in turn. */
  enqueue(entry) {
    const confirmed = new Promise((resolve, reject) => this.waiting.set(entry.key, { resolve, reject }));
    this.entries.push(entry);
    this.onChange(entry);
    this.persist(this.entries).then(() => this.kick());
    return confirmed;
  }

  /** Send now (the connection came back, or signed in). */
  kick() {
    if (this.paused) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.pump();
  }

  pause() {
    this.paused = true;
    clearTimeout(this.timer);
    this.timer = null;
  }

  resume() {
    this.paused = false;
    this.kick();
  }

  /** Forget every entry (sign-out): their promises reject with `error`. */
  clear(error) {
    const dropped = this.entries;
    this.entries = [];
    for (const entry of dropped) this.settle(entry, null, error);
    this.persist(this.entries);
    return dropped;
  }

  async pump() {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.entries.length && !this.paused) {
        const entry = this.entries[0];
        let results;
        try {
          results = await sendEntry(this.http, entry);
        } catch (error) {
          if (this.entries[0] !== entry) continue; // cleared meanwhile
          if (error instanceof UnauthorizedError) {
            this.pause();
            this.lastError = error;
            this.onUnauthorized(error);
            return;
          }
          if (isRefusal(error)) {
            this.remove(entry);
            this.onRefused(entry, error);
            this.settle(entry, null, error);
            continue;
          }
          this.lastError = error; // offline, 429, 5xx: the same request again, later
          this.retryLater(error);
          return;
        }
        if (this.entries[0] !== entry) continue;
        this.failures = 0;
        this.lastError = null;
        this.remove(entry);
        this.onConfirmed(entry, results);
        this.settle(entry, entry.batch ? results : results[0], null);
      }
    } finally {
      this.sending = false;
    }
  }

  remove(entry) {
    this.entries = this.entries.filter((held) => held !== entry);
    this.persist(this.entries);
  }

  settle(entry, value, error) {
    const waiting = this.waiting.get(entry.key);
    if (!waiting) return;
    this.waiting.delete(entry.key);
    if (error) waiting.reject(error);
    else waiting.resolve(value);
  }

  retryLater(error) {
    let delay = backoffDelay(this.failures, this.timings, this.random);
    if (error?.retryAfter) delay = Math.max(delay, Math.min(error.retryAfter, this.timings.backoffMax));
    this.failures += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, delay * 1000);
  }
}
