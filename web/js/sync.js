// The client side of DESIGN §5 as a state machine without I/O: the browser's
// twin of the Python SDK's userdb/sync.py, with the same rules and names
// (camelCase). The driver (live.js) feeds it events — opened, message, closed,
// time passed — and carries out the effects it returns, in order:
//   {type: "connect"} {type: "send", message} {type: "disconnect", reason}
//   {type: "save", state} {type: "status", status} {type: "notes", changes}
//   {type: "serverError", code, message}
// Time comes from an injected clock (seconds) and jitter from an injected
// random source, so every rule is testable without sockets or waiting.

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
});

/** Delay before the next attempt after `failures` failures: base doubles from 0.5 s to 30 s,
 *  the delay is uniform in [base/2, base] ("equal jitter"). */
/** Delay until the next ping: 90-100% of pingInterval, drawn each time, so tabs that
 * connected together (after a server restart) do not ping in step. */
export function pingDelay(timings = DEFAULT_TIMINGS, random = Math.random) {
  return timings.pingInterval * (0.9 + 0.1 * random());
}

export function backoffDelay(failures, timings = DEFAULT_TIMINGS, random = Math.random) {
  const base = Math.min(timings.backoffMax, timings.backoffInitial * 2 ** Math.min(failures, 32));
  return base / 2 + (random() * base) / 2;
}

/** A `changes` message as {from, to, snapshot, notes, deletions, more}; throws if malformed. */
export function parseChanges(message) {
  const from = Number(message.from);
  const to = Number(message.to);
  if (!Number.isInteger(from) || !Number.isInteger(to) || !Array.isArray(message.items)) {
    throw new TypeError("malformed changes");
  }
  const notes = [];
  const deletions = [];
  for (const item of message.items) {
    if (typeof item?.id !== "string" || !Number.isInteger(item.version)) {
      throw new TypeError("malformed item");
    }
    if (item.deleted) deletions.push({ id: item.id, version: item.version });
    else notes.push(item);
  }
  return { from, to, snapshot: Boolean(message.snapshot), notes, deletions, more: Boolean(message.more) };
}

export class SyncEngine {
  /**
   * @param {{clientId: string, cursor: number|null, notes: Map<string, object>}} state
   * @param {{clock: () => number, random?: () => number, timings?: object}} options
   */
  constructor(state, { clock, random = Math.random, timings = {} }) {
    this.state = { clientId: state.clientId, cursor: state.cursor ?? null, notes: new Map(state.notes ?? []) };
    this.now = clock;
    this.random = random;
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
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
    if (this.live) times.push(this.nextPingAt, this.ackDueAt, this.outstanding?.deadline ?? null);
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
    return [{ type: "send", message: { action: "hello", since: this.state.cursor } }];
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

  /** Connect now instead of waiting for the backoff (e.g. the browser came back online). */
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

  /** A note this client wrote over REST: show it now if newer than what is held. */
  applyLocal(note) {
    const held = this.state.notes.get(note.id);
    if (held && held.version >= note.version) return [];
    this.state.notes.set(note.id, note);
    this.dirty = true;
    return [{ type: "notes", changes: { snapshot: false, upserted: [note], deleted: [], cursor: this.state.cursor, local: true } }];
  }

  /** A note this client deleted over REST (its tombstone follows from the server). */
  forgetLocal(noteId) {
    if (!this.state.notes.delete(noteId)) return [];
    this.dirty = true;
    return [{ type: "notes", changes: { snapshot: false, upserted: [], deleted: [noteId], cursor: this.state.cursor, local: true } }];
  }

  // ---------------------------------------------------------------- messages
  onWelcome(message, effects) {
    const now = this.now();
    this.live = true;
    this.welcomeDeadline = null;
    this.failures = 0;
    this.nextPingAt = now + pingDelay(this.timings, this.random);
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
        effects.push({ type: "send", message: { action: "sync", since: null } });
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
    const fresh = new Map(changes.notes.map((note) => [note.id, note]));
    const removed = [...this.state.notes.keys()].filter((id) => !fresh.has(id));
    this.state.notes = fresh;
    this.state.cursor = changes.to;
    this.resetRequested = false;
    this.dirty = true;
    effects.push({ type: "notes", changes: { snapshot: true, upserted: changes.notes, deleted: removed, cursor: changes.to, local: false } });
  }

  applyRange(changes, position, effects) {
    const upserted = [];
    const deleted = [];
    for (const note of changes.notes) {
      const held = this.state.notes.get(note.id);
      if (note.version > position && (!held || held.version < note.version)) {
        this.state.notes.set(note.id, note);
        upserted.push(note);
      }
    }
    for (const deletion of changes.deletions) {
      const held = this.state.notes.get(deletion.id);
      if (deletion.version > position && held && held.version < deletion.version) {
        this.state.notes.delete(deletion.id);
        deleted.push(deletion.id);
      }
    }
    this.state.cursor = changes.to;
    this.dirty = true;
    effects.push({ type: "notes", changes: { snapshot: false, upserted, deleted, cursor: changes.to, local: false } });
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
  requestSyncInto(effects) {
    if (!this.live) return;
    const now = this.now();
    if (this.outstanding !== null && now < this.outstanding.deadline) return;
    effects.push({ type: "send", message: { action: "sync", since: this.state.cursor } });
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
        state: { clientId: this.state.clientId, cursor: this.state.cursor, notes: [...this.state.notes.values()] },
      });
      this.dirty = false;
    }
  }

  drop(effects, reason) {
    effects.push({ type: "disconnect", reason });
    effects.push(...this.onClose(reason));
  }

  linkDown() {
    this.connectionId = null;
    this.link = "down";
    this.live = false;
    this.welcomeDeadline = null;
    this.nextPingAt = null;
    this.pongDeadline = null;
    this.ackDueAt = null;
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
