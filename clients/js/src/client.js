// createClient: accounts, collections with a live local replica, optimistic writes kept
// in a durable outbox, and the connection's state. What it keeps in `storage`
// (prefix "userdb." unless told): `session` {token, user}, `clientId`, `replica`
// {userId, collections, cursor, docs} and `outbox.<clientId>` {userId, entries}.

import { ApiError, ForbiddenError, NetworkError, NotFoundError, NotSignedInError, UserdbError } from "./errors.js";
import { Http, docsPath } from "./http.js";
import { DOC_ID, newDocId, uuid } from "./ids.js";
import { LiveConnection, now } from "./live.js";
import { Outbox } from "./outbox.js";
import { Replica } from "./replica.js";
import { JsonStore, memoryStorage } from "./storage.js";
import { State, SyncEngine } from "./sync_engine.js";

const NO_DOCS = new Map();
const WRITE_OPS = new Set(["create", "put", "patch", "delete"]);

/** @param {import("./index.js").ClientOptions} options */
export function createClient(options) {
  return new Client(options);
}

export class Client {
  constructor({
    url,
    wsUrl,
    storage,
    WebSocket,
    clientId,
    collections = null,
    fetch,
    namespace = "userdb",
    timings = {},
  } = {}) {
    if (!url) throw new TypeError("createClient: `url` (the REST API's root) is required");
    if (collections !== null && (!Array.isArray(collections) || !collections.every((c) => typeof c === "string"))) {
      throw new TypeError("createClient: `collections` is a list of collection names, or null for all");
    }
    this.url = url;
    this.wsUrl = wsUrl ?? null;
    this.WebSocket = WebSocket ?? globalThis.WebSocket;
    this.followed = collections ? [...collections] : null;
    this.timings = timings;
    this.store = new JsonStore(storage ?? memoryStorage(), `${namespace}.`);
    this.store.onError = (error) => this.emit("storageError", error);
    this.http = new Http(url, () => this.session?.token ?? null, fetch);
    this.listeners = new Map();
    this.session = null; // {token, user}
    this.engine = null;
    this.live = null;
    this.closed = false;
    this.loaded = false;
    this.ticketsUnsupported = false;
    this.collections = new Map();
    this.replica = new Replica(() => this.engine?.state.docs ?? NO_DOCS);
    this.outbox = new Outbox({
      http: this.http,
      timings,
      persist: (entries) => this.saveOutbox(entries),
      onChange: (entry) => this.outboxChanged(entry),
      onConfirmed: (entry, results) => this.confirmed(entry, results),
      onRefused: (entry, error) => {
        this.outboxChanged(entry);
        this.emit("rejected", { ops: entry.ops, error });
      },
      onUnauthorized: (error) => this.sessionEnded(error.message),
    });
    this.auth = new Auth(this);
    this.requestedClientId = clientId ?? null;
    this.clientId = null;
    this.ready = this.load();
  }

  // ------------------------------------------------------------------ public

  /** A collection's documents: reads from the local replica, optimistic writes. */
  collection(name) {
    if (typeof name !== "string" || !/^[a-z][a-z0-9_]{0,62}$/.test(name)) {
      throw new TypeError(`not a collection name: ${JSON.stringify(name)}`);
    }
    let collection = this.collections.get(name);
    if (!collection) {
      collection = new Collection(this, name);
      this.collections.set(name, collection);
    }
    return collection;
  }

  /**
   * Several writes, all or nothing (POST /batch), applied here at once like any write.
   * @param {Array<{op: string, collection: string, id?: string, data?: object, ifMatch?: number}>} ops
   */
  batch(ops) {
    if (!Array.isArray(ops) || ops.length === 0) return Promise.reject(new TypeError("batch: a non-empty list of ops"));
    let checked;
    try {
      checked = ops.map((op) => {
        if (!WRITE_OPS.has(op?.op)) throw new TypeError(`batch: unknown op ${JSON.stringify(op?.op)}`);
        this.collection(op.collection);
        const id = op.id ?? (op.op === "create" ? newDocId() : undefined);
        checkId(id);
        const ifMatchVersion = op.ifMatch ?? op.if_match;
        return write(op.op, op.collection, id, op.op === "delete" ? undefined : copyData(op.data, op.op), ifMatchVersion);
      });
    } catch (error) {
      return Promise.reject(error);
    }
    return this.write(checked, true);
  }

  /** The live connection's state: {state: connecting|live|reconnecting|offline, reason, retryIn, cursor}. */
  get state() {
    if (this.live) return this.live.status;
    return { state: State.OFFLINE, reason: this.session ? "not started" : "not signed in", retryIn: null, failures: 0, cursor: null };
  }

  /** Writes not yet confirmed by the server. */
  get pendingWrites() {
    return this.outbox.size;
  }

  /**
   * Listen to "state" (the connection), "auth" (signed in or out: the user or null),
   * "unauthorized" (the session ended on the server), "rejected" ({ops, error}: a write the
   * server refused, also one made before a restart), "outbox" ({pending}) or
   * "storageError". Returns the function that stops listening.
   */
  on(event, listener) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(listener);
    return () => this.listeners.get(event)?.delete(listener);
  }

  /**
   * Any route of the API as this session, for what has no method here (e.g. /me):
   * resolves with the JSON answer, rejects with the typed errors of every call.
   */
  async request(method, path, { body, query, headers } = {}) {
    await this.ready;
    const answer = await this.http.request(method, path, { body, query, headers });
    return answer.body;
  }

  /** Reconnect now instead of waiting for the backoff (e.g. the network came back). */
  reconnect() {
    this.live?.retryNow();
    this.outbox.kick();
  }

  /** Resolves once everything this client stored has been written to `storage`. */
  async flush() {
    await this.ready;
    await this.store.flush();
  }

  /** Stop: the connection, timers and retries. The storage keeps the outbox and replica. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    this.stopLive("closed");
    this.outbox.pause();
    await this.store.flush();
  }

  // ------------------------------------------------------------------ events
  emit(event, value) {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(value);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  // ------------------------------------------------------------------ state
  async load() {
    const [session, storedClientId] = await Promise.all([this.store.get("session"), this.store.get("clientId")]);
    this.clientId = this.requestedClientId ?? (typeof storedClientId === "string" ? storedClientId : null);
    if (!this.clientId) {
      this.clientId = uuid();
      this.store.set("clientId", this.clientId);
    }
    if (session && typeof session.token === "string") await this.begin(session, { fresh: false });
    this.loaded = true;
    this.replica.changed(null);
    this.emit("auth", this.session?.user ?? null);
  }

  /** Start the user's session: their replica and outbox from storage, then live. */
  async begin(session, { fresh }) {
    this.stopLive("signed in again");
    this.session = session;
    const userId = session.user?.id ?? null;
    const [kept, keptOutbox] = fresh && !userId ? [null, null] : await Promise.all([this.store.get("replica"), this.store.get(this.outboxKey())]);
    const sameReplica = kept && kept.userId === userId && userId !== null && sameCollections(kept.collections, this.followed);
    const docs = sameReplica && Array.isArray(kept.docs) ? kept.docs : [];
    this.engine = new SyncEngine(
      {
        clientId: this.clientId,
        cursor: sameReplica && Number.isInteger(kept.cursor) ? kept.cursor : null,
        docs: docs.map((doc) => [`${doc.collection}/${doc.id}`, doc]),
      },
      { clock: now, collections: this.followed, timings: this.timings },
    );
    if (!sameReplica) this.saveReplica({ cursor: null, docs: [] });
    this.outbox.restore(keptOutbox && keptOutbox.userId === userId ? keptOutbox.entries : []);
    this.replica.setEntries(this.outbox.entries);
    this.replica.changed(null);
    if (this.closed) return;
    this.startLive();
    this.outbox.resume();
  }

  startLive() {
    if (!this.wsUrl || this.closed || !this.session) return;
    this.live = new LiveConnection({
      engine: this.engine,
      wsUrl: this.wsUrl,
      WebSocket: this.WebSocket,
      clientId: this.clientId,
      credentials: () => this.connectCredentials(),
      sessionStatus: () => this.sessionStatus(),
      onEffect: (effect) => this.onEffect(effect),
    });
    this.live.start();
  }

  stopLive(reason) {
    const live = this.live;
    this.live = null;
    if (live) {
      live.onEffect = (effect) => {
        if (effect.type === "save") this.saveReplicaState(effect.state);
      };
      live.stop(reason);
    }
  }

  onEffect(effect) {
    if (effect.type === "docs") {
      const { changes } = effect;
      if (changes.snapshot) this.replica.changed(null);
      else this.replica.changed(new Set([...changes.upserted, ...changes.deleted].map((doc) => doc.collection)));
    } else if (effect.type === "save") {
      this.saveReplicaState(effect.state);
    } else if (effect.type === "status") {
      const { status } = effect;
      this.emit("state", status);
      if (status.state === State.LIVE) this.outbox.kick(); // the connection returned: send what waits
      if (status.state === State.OFFLINE && status.reason?.startsWith("unauthorized")) this.sessionEnded(status.reason);
    } else if (effect.type === "serverError") {
      this.emit("serverError", { code: effect.code, message: effect.message });
    }
  }

  sessionEnded(reason) {
    this.outbox.pause();
    this.emit("unauthorized", { reason });
  }

  async connectCredentials() {
    const token = this.session?.token;
    if (!token) throw Object.assign(new NotSignedInError("not signed in"), { status: 401 });
    if (!this.ticketsUnsupported) {
      try {
        const { body } = await this.http.request("POST", "/auth/ws-ticket", { waitProvisioning: false });
        if (body?.ticket) return { ticket: body.ticket };
      } catch (error) {
        if (!ticketRouteMissing(error)) throw error; // 401 ends the session; offline retries with backoff
        this.ticketsUnsupported = true; // an older server: the token it is
      }
    }
    return { token };
  }

  async sessionStatus() {
    try {
      await this.http.request("GET", "/auth/session", { waitProvisioning: false });
      return null;
    } catch (error) {
      return error instanceof ApiError ? error.status : null;
    }
  }

  saveReplicaState(state) {
    this.saveReplica({ cursor: state.cursor, docs: state.docs });
  }

  saveReplica({ cursor, docs }) {
    const userId = this.session?.user?.id ?? null;
    if (userId === null) return Promise.resolve();
    return this.store.set("replica", { userId, collections: this.followed, cursor, docs });
  }

  outboxKey() {
    return `outbox.${this.clientId}`;
  }

  saveOutbox(entries) {
    this.emit("outbox", { pending: entries.length });
    const userId = this.session?.user?.id ?? null;
    return this.store.set(this.outboxKey(), entries.length ? { userId, entries } : null);
  }

  outboxChanged(entry) {
    this.replica.setEntries(this.outbox.entries);
    this.replica.changed(new Set(entry.ops.map((op) => op.collection)));
  }

  confirmed(entry, results) {
    const effects = [];
    results.forEach((result, index) => {
      const op = entry.ops[index];
      if (!result || !this.engine) return;
      if (result.deleted) effects.push(...this.engine.forgetLocal(result.collection ?? op.collection, result.id ?? op.id));
      else effects.push(...this.engine.applyLocal(result));
    });
    this.replica.setEntries(this.outbox.entries);
    if (this.live) this.live.run(effects);
    this.replica.changed(new Set(entry.ops.map((op) => op.collection)));
  }

  /** Queue writes (one entry: all or nothing); shown at once, sent in order. */
  write(ops, batch) {
    const run = () => {
      if (!this.session) return Promise.reject(new NotSignedInError("Sign up, log in or use a token before writing."));
      if (this.closed) return Promise.reject(new UserdbError("This client is closed."));
      return this.outbox.enqueue({ key: uuid(), ops, batch, at: Date.now() });
    };
    return this.loaded ? run() : this.ready.then(run);
  }

  /** Reads answered by the replica: it follows the collection and has synced once. */
  replicaAnswers(collection) {
    const follows = this.followed === null || this.followed.includes(collection);
    return follows && this.engine !== null && this.engine.state.cursor !== null;
  }

  /** Signed in: keep the session, start the user's replica and connection. */
  async signedIn(token, user) {
    await this.ready;
    const previous = this.session?.user?.id ?? null;
    if (previous !== null && previous !== user?.id) await this.forgetUser();
    const session = { token, user };
    await this.store.set("session", session);
    await this.begin(session, { fresh: true });
    this.emit("auth", user);
  }

  /** Signed out: nothing of the user stays here (writes not sent are dropped). */
  async forgetUser() {
    this.stopLive("signed out");
    this.outbox.pause();
    this.outbox.clear(new NotSignedInError("Signed out before the write was sent."));
    this.engine = null;
    this.session = null;
    this.replica.setEntries([]);
    this.replica.changed(null);
    await Promise.all([this.store.set("session", null), this.store.set("replica", null), this.store.set(this.outboxKey(), null)]);
  }
}

class Auth {
  constructor(client) {
    this.client = client;
  }

  /** The signed-in user as last known (null when signed out). */
  get user() {
    return this.client.session?.user ?? null;
  }

  /** The session token, for apps that need it (e.g. to pass to a server of their own). */
  get token() {
    return this.client.session?.token ?? null;
  }

  async signUp({ email, password, name }) {
    const { body } = await this.client.http.request("POST", "/auth/signup", { body: { email, password, name } });
    await this.rememberDevice(email, body.device_token);
    await this.client.signedIn(body.token, body.user);
    return body.user;
  }

  /**
   * Sign in. The device token the server gave this device at its last sign-in with this
   * email goes along: a device that signed in before keeps its own failure counter, so
   * wrong passwords sent from elsewhere do not lock it out (docs/security.md).
   */
  async logIn({ email, password }) {
    const devices = (await this.client.store.get("devices")) ?? {};
    const device_token = devices[deviceKey(email)];
    const request = device_token ? { email, password, device_token } : { email, password };
    const { body } = await this.client.http.request("POST", "/auth/login", { body: request });
    await this.rememberDevice(email, body.device_token);
    await this.client.signedIn(body.token, body.user);
    return body.user;
  }

  /** Keep the device token per email (across sign-outs: it is this device's, not the session's). */
  async rememberDevice(email, token) {
    if (typeof token !== "string" || !token) return;
    const devices = (await this.client.store.get("devices")) ?? {};
    devices[deviceKey(email)] = token;
    await this.client.store.set("devices", devices);
  }

  /** Sign in with a session token obtained elsewhere (e.g. an OAuth redirect's fragment). */
  async useToken(token) {
    await this.client.ready;
    const previous = this.client.session;
    this.client.session = { token, user: null };
    try {
      const { body } = await this.client.http.request("GET", "/auth/session");
      this.client.session = previous;
      await this.client.signedIn(token, body.user);
      return body.user;
    } catch (error) {
      this.client.session = previous;
      throw error;
    }
  }

  /** End the session on the server (when reachable) and forget everything of it here. */
  async logOut() {
    await this.client.ready;
    if (this.client.session) {
      try {
        await this.client.http.request("POST", "/auth/logout", { waitProvisioning: false });
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401) && !(error instanceof NetworkError)) throw error;
      }
    }
    await this.client.forgetUser();
    this.client.emit("auth", null);
  }

  /** {user, session} of the current session (refreshes the stored user). */
  async session() {
    await this.client.ready;
    this.requireSession();
    const { body } = await this.client.http.request("GET", "/auth/session");
    if (this.client.session && body?.user) {
      this.client.session = { ...this.client.session, user: body.user };
      this.client.store.set("session", this.client.session);
    }
    return body;
  }

  /** The account's sessions (this device's and others'). */
  async sessions() {
    await this.client.ready;
    this.requireSession();
    const { body } = await this.client.http.request("GET", "/auth/sessions");
    return body?.sessions ?? [];
  }

  /** End one session (e.g. a lost phone's); its sockets close at once. */
  async revoke(id) {
    await this.client.ready;
    this.requireSession();
    await this.client.http.request("DELETE", `/auth/sessions/${encodeURIComponent(id)}`);
  }

  requireSession() {
    if (!this.client.session) throw new NotSignedInError("Not signed in.");
  }
}

class Collection {
  constructor(client, name) {
    this.client = client;
    this.name = name;
  }

  /** The document with this id (null if there is none), from the replica when it has synced. */
  async get(id) {
    checkId(id);
    await this.client.ready;
    if (this.client.replicaAnswers(this.name)) return this.client.replica.get(this.name, id) ?? null;
    try {
      const { body } = await this.client.http.request("GET", docsPath(this.name, id));
      return overlay(this.client, this.name, [body.doc]).find((doc) => doc.id === id) ?? null;
    } catch (error) {
      if (error instanceof NotFoundError && error.code !== "unknown_collection") return overlay(this.client, this.name, []).find((doc) => doc.id === id) ?? null;
      if (error instanceof NetworkError) return this.client.replica.get(this.name, id) ?? null;
      throw error;
    }
  }

  /** The documents (matching `where`: equality on top-level fields), in id order. */
  async list({ where } = {}) {
    checkWhere(where);
    await this.client.ready;
    if (this.client.replicaAnswers(this.name)) return this.client.replica.list(this.name, where);
    try {
      const docs = [];
      let cursor = null;
      do {
        const query = { limit: 100, cursor, where: where ? JSON.stringify(where) : undefined };
        const { body } = await this.client.http.request("GET", docsPath(this.name), { query });
        docs.push(...(body?.docs ?? []));
        cursor = body?.cursor ?? null;
      } while (cursor);
      return overlay(this.client, this.name, docs, where);
    } catch (error) {
      if (error instanceof NetworkError) return this.client.replica.list(this.name, where);
      throw error;
    }
  }

  /** Create a document (its id chosen here unless given); shown at once. */
  create(data, { id } = {}) {
    return this.writeOne("create", id ?? newDocId(), data);
  }

  /** Replace (or create) a document; `ifMatch`: only if it is still at that version (else 412). */
  put(id, data, { ifMatch } = {}) {
    return this.writeOne("put", id, data, ifMatch);
  }

  /** Change some fields (JSON Merge Patch: null removes a field). */
  patch(id, mergePatch, { ifMatch } = {}) {
    return this.writeOne("patch", id, mergePatch, ifMatch);
  }

  delete(id, { ifMatch } = {}) {
    return this.writeOne("delete", id, undefined, ifMatch);
  }

  /**
   * Call `callback` with the matching documents of the local replica now, and again each
   * time they change (a write here, or one from anywhere else arriving live).
   * @returns {() => void} unsubscribe
   */
  subscribe(callback, { where } = {}) {
    if (typeof callback !== "function") throw new TypeError("subscribe(callback, {where?})");
    checkWhere(where);
    const followed = this.client.followed;
    if (followed !== null && !followed.includes(this.name)) {
      throw new TypeError(`This client follows ${followed.join(", ")}, not ${this.name}: add it to createClient({collections})`);
    }
    const replica = this.client.replica;
    const subscription = replica.subscribe(this.name, where ?? null, callback);
    if (this.client.loaded) replica.deliver(subscription); // otherwise once loaded
    return () => replica.unsubscribe(subscription);
  }

  writeOne(op, id, data, ifMatch) {
    try {
      checkId(id);
      return this.client.write([write(op, this.name, id, op === "delete" ? undefined : copyData(data, op), ifMatch)], false);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** One write as the outbox keeps it. */
function write(op, collection, id, data, ifMatch) {
  const entry = { op, collection, id };
  if (data !== undefined) entry.data = data;
  if (ifMatch !== undefined && ifMatch !== null) {
    if (!Number.isInteger(ifMatch)) throw new TypeError("ifMatch is a document's version (an integer)");
    entry.ifMatch = ifMatch;
  }
  return entry;
}

/** The data as JSON (a copy: later changes by the app do not reach the outbox). */
function copyData(data, op) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TypeError(`${op}: data must be a JSON object`);
  }
  return JSON.parse(JSON.stringify(data));
}

function checkId(id) {
  if (typeof id !== "string" || !DOC_ID.test(id)) throw new TypeError(`not a document id: ${JSON.stringify(id)}`);
}

function checkWhere(where) {
  if (where !== undefined && where !== null && (typeof where !== "object" || Array.isArray(where))) {
    throw new TypeError("where: an object of field values");
  }
}

/** An API without the ticket route: 404, or API Gateway's 403 for a route it does not know
 * ("Missing Authentication Token", which carries no userdb error code). */
function ticketRouteMissing(error) {
  if (error instanceof NotFoundError) return true;
  return error instanceof ForbiddenError && error.code.startsWith("http_");
}

function sameCollections(a, b) {
  const normal = (list) => (Array.isArray(list) ? [...list].sort().join(",") : null);
  return normal(a) === normal(b);
}

/** Server documents with this client's pending writes laid over them. */
function overlay(client, collection, docs, where) {
  const base = new Map(docs.map((doc) => [`${doc.collection ?? collection}/${doc.id}`, doc]));
  const view = new Replica(() => base);
  view.setEntries(client.outbox.entries);
  return view.list(collection, where);
}

/** The key a device token is kept under: the email as the server compares it. */
function deviceKey(email) {
  return String(email).normalize("NFKC").trim().toLowerCase();
}
