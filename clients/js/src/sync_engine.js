// The client side of DESIGN §5 as a state machine without I/O: the JavaScript twin of
// the Python SDK's userdb/sync.py, with the same rules and names (camelCase), and the
// one JavaScript implementation of them (the web client uses this package).
// The driver (live.js) feeds it events — opened, message, closed, time passed — and
// carries out the effects it returns, in order:
//   {type: "connect"} {type: "send", message} {type: "disconnect", reason}
//   {type: "save", state} {type: "status", status} {type: "docs", changes}
//   {type: "serverError", code, message}
// Time comes from an injected clock (seconds) and jitter from an injected random
// source, so every rule is testable without sockets or waiting.
//
// The replica it keeps is the server's view: documents keyed by collection and id
// (docKey), as of the cursor. The client's own unconfirmed writes are not in it (the
// outbox overlays them, replica.js).

export const State = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  OFFLINE: "offline",
});

export const DEFAULT_TIMINGS = Object.freeze({
  ackInterval: 0.25,
  pingInterval: 30,
  pongTimeout: 10,
  welcomeTimeout: 10,
  syncTimeout: 10,
  backoffInitial: 0.5,
  backoffMax: 30,
  offlineAfterFailures: 3,
  maxPendingMessages: 256,
  // API Gateway ends every connection after 2 hours: renew it a few minutes before,
  // at a time drawn in the last tenth of this, so clients do not renew in step.
  renewAfter: 6900,
});

/** The replica's key of a document: collection names never contain "/". */
export function docKey(collection, id) {
  return `${collection ?? ""}/${id}`;
}

/** Delay until the next ping: 90-100% of pingInterval, drawn each time, so clients that
 * connected together (after a server restart) do not ping in step. */
export function pingDelay(timings = DEFAULT_TIMINGS, random = Math.random) {
  return timings.pingInterval * (0.9 + 0.1 * random());
}

/** Delay before the next attempt after `failures` failures: the base doubles from 0.5 s to
 * 30 s, the delay is uniform in [base/2, base] ("equal jitter"); it never gives up. */
export function backoffDelay(failures, timings = DEFAULT_TIMINGS, random = Math.random) {
  const base = Math.min(timings.backoffMax, timings.backoffInitial * 2 ** Math.min(failures, 32));
  return base / 2 + (random() * base) / 2;
}

/** The collections a client follows, as said to the server: sorted, once each (null: all). */
export function followed(collections) {
  return collections ? [...new Set(collections)].sort() : null;
}

/** An item of `changes` (or a document from REST) as a document. An item without
 * `collection` comes from a server from before collections: it is a note. */
export function asDoc(item) {
  if (item.collection !== undefined) return item;
  if (item.deleted) return { collection: "notes", id: item.id, version: item.version, deleted: true };
  return { collection: "notes", id: item.id, data: { text: String(item.text ?? "") }, version: item.version, created: item.created, updated: item.updated };
}

/** A `changes` message as {from, to, snapshot, docs, deletions, more}; throws if malformed. */
export function parseChanges(message) {
  const from = Number(message.from);
  const to = Number(message.to);
  if (!Number.isInteger(from) || !Number.isInteger(to) || !Array.isArray(message.items)) {
    throw new TypeError("malformed changes");
  }
  const docs = [];
  const deletions = [];
  for (const item of message.items) {
    if (typeof item?.id !== "string" || !Number.isInteger(item.version)) {
      throw new TypeError("malformed item");
    }
    const doc = asDoc(item);
    if (doc.deleted) deletions.push({ collection: doc.collection, id: doc.id, version: doc.version });
    else docs.push(doc);
  }
  return { from, to, snapshot: Boolean(message.snapshot), docs, deletions, more: Boolean(message.more) };
}

export class SyncEngine {
  /**
   * @param {{clientId: string, cursor: number|null, docs?: Iterable<[string, object]>}} state
   * @param {{clock: () => number, random?: () => number, timings?: object,
   *          collections?: string[]|null}} options `collections`: follow only these (null: all)
   */
  constructor(state, { clock, random = Math.random, timings = {}, collections = null }) {
    this.state = { clientId: state.clientId, cursor: state.cursor ?? null, docs: new Map(state.docs ?? []) };
    this.now = clock;
    this.random = random;
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
    this.collections = followed(collections);
    this.running = false;
    this.phase = State.OFFLINE;
    this.reason = "not started";
    this.link = "down"; // down | opening | open; `live` once welcomed
    this.live = false;
    this.failures = 0;
    this.reconnectAt = null;
    this.welcomeDeadline = null;
    this.nextPingAt = null;
    this.pongDeadline = null;
    this.renewAt = null;
    this.acked = null;
    this.lastAckAt = -Infinity;
    this.ackDueAt = null;
    this.outstanding = null; // {since, deadline}: a hello/sync whose answer has not arrived
    this.pending = [];
    this.resetRequested = false;
    this.helloSince = null;
    this.dirty = false;
    this.serverVersion = null;
    this.connectionId = null; // the server's id of the live connection
  }

  // ---------------------------------------------------------------- queries
  get status() {
    let retryIn = null;
    if (this.reconnectAt !== null && this.link === "down" && this.running) {
      retryIn = Math.max(0, this.reconnectAt - this.now());
    }
    return { state: this.phase, reason: this.reason, retryIn, failures: this.failures, cursor: this.state.cursor };
  }

  /** When `tick` has something to do next (clock time), or null. */
  nextTimer() {
    const times = [this.welcomeDeadline, this.pongDeadline];
    if (this.running && this.link === "down") times.push(this.reconnectAt);
    if (this.live) times.push(this.nextPingAt, this.ackDueAt, this.outstanding?.deadline ?? null, this.renewAt);
    const found = times.filter((t) => t !== null && t !== undefined);
    return found.length ? Math.min(...found) : null;
  }

  // ---------------------------------------------------------------- inputs
  start() {
    if (this.running) return [];
    this.running = true;
    this.failures = 0;
    this.link = "opening";
    const effects = [];
    this.setPhase(effects, State.CONNECTING, null);
    effects.push({ type: "connect", attempt: 0 });
    return effects;
  }

  stop(reason = "stopped") {
    const effects = [];
    const wasOpen = this.link !== "down";
    this.running = false;
    this.linkDown();
    this.reconnectAt = null;
    if (wasOpen) effects.push({ type: "disconnect", reason });
    this.save(effects, false);
    this.setPhase(effects, State.OFFLINE, reason);
    return effects;
  }

  onOpen() {
    if (!this.running || this.link !== "opening") return [];
    const now = this.now();
    this.link = "open";
    this.welcomeDeadline = now + this.timings.welcomeTimeout;
    this.helloSince = this.state.cursor;
    this.outstanding = { since: this.state.cursor, deadline: now + this.timings.syncTimeout };
    return [{ type: "send", message: this.withCollections({ action: "hello", since: this.state.cursor }) }];
  }

  onConnectFailed(reason, status = null) {
    if (this.link !== "opening") return [];
    this.link = "down";
    const effects = [];
    if (status === 401 || status === 403) {
      this.running = false;
      this.reconnectAt = null;
      this.setPhase(effects, State.OFFLINE, `unauthorized: ${reason}`);
      return effects;
    }
    this.retryLater(effects, reason);
    return effects;
  }

  onClose(reason) {
    if (this.link === "down") return [];
    const effects = [];
    this.linkDown();
    this.save(effects, false);
    if (this.running) this.retryLater(effects, reason);
    return effects;
  }

  onMessage(text) {
    if (this.link !== "open") return [];
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return [{ type: "serverError", code: "malformed_message", message: "The server sent invalid JSON." }];
    }
    if (message === null || typeof message !== "object" || Array.isArray(message)) {
      return [{ type: "serverError", code: "malformed_message", message: "The server sent a non-object." }];
    }
    const effects = [];
    if (this.pongDeadline !== null) {
      // Any traffic shows the connection is alive; the pong may queue behind it.
      this.pongDeadline = Math.max(this.pongDeadline, this.now() + this.timings.pongTimeout);
    }
    if (message.type === "welcome") this.onWelcome(message, effects);
    else if (message.type === "changes") {
      let changes;
      try {
        changes = parseChanges(message);
      } catch {
        return [{ type: "serverError", code: "malformed_message", message: "Unreadable `changes` message." }];
      }
      this.onChanges(changes, effects);
    } else if (message.type === "pong") this.onPong(message);
    else if (message.type === "error") this.onError(message, effects);
    return effects;
  }

  tick() {
    const now = this.now();
    const effects = [];
    if (this.running && this.link === "down" && this.reconnectAt !== null) {
      if (now >= this.reconnectAt) {
        this.reconnectAt = null;
        this.link = "opening";
        effects.push({ type: "connect", attempt: this.failures });
      }
      return effects;
    }
    if (this.welcomeDeadline !== null && now >= this.welcomeDeadline) {
      this.drop(effects, "no welcome from the server");
      return effects;
    }
    if (!this.live) return effects;
    if (this.pongDeadline !== null && now >= this.pongDeadline) {
      this.drop(effects, "no pong from the server");
      return effects;
    }
    if (this.renewAt !== null && now >= this.renewAt) {
      this.renew(effects);
      return effects;
    }
    if (this.nextPingAt !== null && now >= this.nextPingAt) {
      effects.push({ type: "send", message: { action: "ping", version: this.state.cursor } });
      this.nextPingAt = now + pingDelay(this.timings, this.random);
      if (this.pongDeadline === null) this.pongDeadline = now + this.timings.pongTimeout;
    }
    if (this.ackDueAt !== null && now >= this.ackDueAt) this.ack(effects);
    if (this.outstanding !== null && now >= this.outstanding.deadline) {
      this.outstanding = null; // the answer never came: ask again
      this.requestSyncInto(effects);
    }
    return effects;
  }

  /** Connect now instead of waiting for the backoff (e.g. the device came back online). */
  retryNow() {
    if (!this.running || this.link !== "down") return [];
    this.reconnectAt = this.now();
    return this.tick();
  }

  requestSync() {
    const effects = [];
    if (this.live) {
      this.outstanding = null;
      this.requestSyncInto(effects);
    }
    return effects;
  }

  /** A document this client wrote over REST, as the server answered: held now if newer. */
  applyLocal(item) {
    const doc = asDoc(item);
    if (!this.follows(doc.collection)) return [];
    const key = docKey(doc.collection, doc.id);
    const held = this.state.docs.get(key);
    if (held && held.version >= doc.version) return [];
    this.state.docs.set(key, doc);
    this.dirty = true;
    return [{ type: "docs", changes: { snapshot: false, upserted: [doc], deleted: [], cursor: this.state.cursor, local: true } }];
  }

  /** A document this client deleted over REST (its tombstone follows from the server). */
  forgetLocal(collection, id) {
    const key = docKey(collection, id);
    if (!this.state.docs.delete(key)) return [];
    this.dirty = true;
    return [{ type: "docs", changes: { snapshot: false, upserted: [], deleted: [{ collection, id }], cursor: this.state.cursor, local: true } }];
  }

  // ---------------------------------------------------------------- messages
  onWelcome(message, effects) {
    const now = this.now();
    this.live = true;
    this.welcomeDeadline = null;
    this.failures = 0;
    this.nextPingAt = now + pingDelay(this.timings, this.random);
    this.renewAt = now + this.timings.renewAfter * (0.9 + 0.1 * this.random());
    const since = this.helloSince;
    this.acked = since; // hello told the server our cursor
    this.connectionId = message.connectionId ? String(message.connectionId) : null;
    const version = Number(message.version);
    this.serverVersion = Number.isInteger(version) ? version : null;
    if (since !== null && this.serverVersion !== null) {
      if (this.serverVersion < since) {
        // The server holds less than we do: its store was reset. Start over.
        this.resetRequested = true;
        this.acked = null;
        this.pending = [];
        effects.push({ type: "send", message: this.withCollections({ action: "sync", since: null }) });
        this.outstanding = { since: null, deadline: now + this.timings.syncTimeout };
      } else if (this.serverVersion === since && this.state.cursor === since) {
        this.outstanding = null; // nothing to catch up
      }
    }
    this.setPhase(effects, State.LIVE, null);
    this.ack(effects); // changes may have arrived before the welcome
  }

  onPong(message) {
    this.pongDeadline = null;
    const version = Number(message.version);
    if (!Number.isInteger(version)) return;
    if (version > (this.state.cursor ?? 0) && this.outstanding === null) {
      // The server sends the missing range after a behind ping; expect it.
      this.outstanding = { since: this.state.cursor, deadline: this.now() + this.timings.syncTimeout };
    }
  }

  onError(message, effects) {
    const code = String(message.code || "error");
    effects.push({ type: "serverError", code, message: String(message.message || "") });
    if (code === "unauthorized") effects.push(...this.stop("unauthorized: the session ended"));
  }

  onChanges(changes, effects) {
    if (!this.apply(changes, effects)) {
      if (!this.fitsLater(changes)) return; // a duplicate: already applied
      this.pending.push(changes);
      this.pending = this.pending.slice(-this.timings.maxPendingMessages);
      this.requestSyncInto(effects);
      return;
    }
    this.drainPending(effects);
    if (this.pending.length && this.outstanding === null) this.requestSyncInto(effects);
    this.ack(effects);
  }

  fitsLater(changes) {
    const cursor = this.state.cursor;
    return cursor === null || changes.from > cursor;
  }

  apply(changes, effects) {
    const cursor = this.state.cursor;
    if (changes.snapshot) {
      const stale = cursor !== null && changes.to < cursor;
      if (stale && !this.resetRequested) return false;
      this.applySnapshot(changes, effects);
    } else {
      const position = cursor ?? 0;
      if (cursor !== null && changes.to <= cursor) return false;
      if (changes.from > position) return false;
      this.applyRange(changes, position, effects);
    }
    const outstanding = this.outstanding;
    if (outstanding && (changes.snapshot || changes.from <= (outstanding.since ?? 0))) {
      this.outstanding = null; // the answer to our hello / sync
    }
    if (changes.more) this.requestSyncInto(effects);
    return true;
  }

  applySnapshot(changes, effects) {
    const docs = changes.docs.filter((doc) => this.follows(doc.collection));
    const fresh = new Map(docs.map((doc) => [docKey(doc.collection, doc.id), doc]));
    const removed = [];
    for (const [key, doc] of this.state.docs) {
      if (!fresh.has(key)) removed.push({ collection: doc.collection, id: doc.id });
    }
    this.state.docs = fresh;
    this.state.cursor = changes.to;
    this.resetRequested = false;
    this.dirty = true;
    effects.push({ type: "docs", changes: { snapshot: true, upserted: docs, deleted: removed, cursor: changes.to, local: false } });
  }

  applyRange(changes, position, effects) {
    const upserted = [];
    const deleted = [];
    for (const doc of changes.docs) {
      const key = docKey(doc.collection, doc.id);
      const held = this.state.docs.get(key);
      if (doc.version > position && (!held || held.version < doc.version) && this.follows(doc.collection)) {
        this.state.docs.set(key, doc);
        upserted.push(doc);
      }
    }
    for (const deletion of changes.deletions) {
      const key = docKey(deletion.collection, deletion.id);
      const held = this.state.docs.get(key);
      if (deletion.version > position && held && held.version < deletion.version) {
        this.state.docs.delete(key);
        deleted.push({ collection: deletion.collection, id: deletion.id });
      }
    }
    this.state.cursor = changes.to;
    this.dirty = true;
    effects.push({ type: "docs", changes: { snapshot: false, upserted, deleted, cursor: changes.to, local: false } });
  }

  drainPending(effects) {
    let progressed = true;
    while (progressed && this.pending.length) {
      progressed = false;
      this.pending.sort((a, b) => a.from - b.from || b.to - a.to);
      for (const changes of [...this.pending]) {
        if (this.apply(changes, effects)) {
          this.pending.splice(this.pending.indexOf(changes), 1);
          progressed = true;
        } else if (!this.fitsLater(changes)) {
          this.pending.splice(this.pending.indexOf(changes), 1); // now a duplicate
        }
      }
    }
  }

  // ---------------------------------------------------------------- helpers
  follows(collection) {
    return this.collections === null || this.collections.includes(collection);
  }

  /** `collections` is said only when following some: absent means all (older servers). */
  withCollections(message) {
    return this.collections ? { ...message, collections: this.collections } : message;
  }

  requestSyncInto(effects) {
    if (!this.live) return;
    const now = this.now();
    if (this.outstanding !== null && now < this.outstanding.deadline) return;
    effects.push({ type: "send", message: this.withCollections({ action: "sync", since: this.state.cursor }) });
    this.outstanding = { since: this.state.cursor, deadline: now + this.timings.syncTimeout };
  }

  /** Ack the cursor now, or schedule it: at most one ack per `ackInterval`. */
  ack(effects) {
    const cursor = this.state.cursor;
    const nothingNew = cursor === null || (this.acked !== null && cursor <= this.acked);
    if (!this.live || nothingNew || this.resetRequested) {
      this.ackDueAt = null;
      return;
    }
    const now = this.now();
    const due = this.lastAckAt + this.timings.ackInterval;
    if (now < due) {
      this.ackDueAt = due;
      return;
    }
    this.save(effects, true);
    effects.push({ type: "send", message: { action: "ack", version: cursor } });
    this.acked = cursor;
    this.lastAckAt = now;
    this.ackDueAt = null;
  }

  save(effects, force) {
    if (this.dirty || force) {
      effects.push({
        type: "save",
        state: { clientId: this.state.clientId, cursor: this.state.cursor, docs: [...this.state.docs.values()] },
      });
      this.dirty = false;
    }
  }

  drop(effects, reason) {
    effects.push({ type: "disconnect", reason });
    effects.push(...this.onClose(reason));
  }

  /** Close a connection near API Gateway's 2-hour limit and open a new one at once. */
  renew(effects) {
    const reason = "renewing the connection before the 2-hour limit";
    effects.push({ type: "disconnect", reason });
    this.linkDown();
    this.save(effects, false);
    this.reconnectAt = null;
    this.link = "opening";
    this.setPhase(effects, State.RECONNECTING, reason);
    effects.push({ type: "connect", attempt: 0 });
  }

  linkDown() {
    this.connectionId = null;
    this.link = "down";
    this.live = false;
    this.welcomeDeadline = null;
    this.nextPingAt = null;
    this.pongDeadline = null;
    this.ackDueAt = null;
    this.renewAt = null;
    this.outstanding = null;
  }

  retryLater(effects, reason) {
    const delay = backoffDelay(this.failures, this.timings, this.random);
    this.reconnectAt = this.now() + delay;
    this.failures += 1;
    let phase = State.RECONNECTING;
    if (this.failures >= this.timings.offlineAfterFailures) phase = State.OFFLINE;
    else if (this.phase === State.CONNECTING) phase = State.CONNECTING;
    this.setPhase(effects, phase, reason, true);
  }

  setPhase(effects, phase, reason, force = false) {
    if (phase === this.phase && reason === this.reason && !force) return;
    this.phase = phase;
    this.reason = reason;
    effects.push({ type: "status", status: this.status });
  }
}
