// The live connection: drives the SyncEngine (sync_engine.js) over a WebSocket and timers,
// and hands its effects to the client. Platform-neutral: the WebSocket class is given
// (browsers and React Native have one; on Node 20 pass the `ws` package's), and the
// browser's online/offline events are used where they exist.

import { queryString } from "./http.js";
import { State } from "./sync_engine.js";

const CONNECTING = 0;
const OPEN = 1;

export class LiveConnection {
  /**
   * @param {object} options
   * @param {import("./sync_engine.js").SyncEngine} options.engine
   * @param {string} options.wsUrl
   * @param {any} options.WebSocket a WebSocket class (WHATWG API)
   * @param {string} options.clientId
   * @param {() => Promise<{ticket?: string, token?: string}>} options.credentials how to connect
   * @param {() => Promise<number|null>} options.sessionStatus HTTP status of a session check
   * @param {(effect: object) => void} options.onEffect every effect but connect/send/disconnect
   */
  constructor({ engine, wsUrl, WebSocket, clientId, credentials, sessionStatus, onEffect }) {
    if (typeof WebSocket !== "function") {
      throw new TypeError("No WebSocket class: pass one to createClient({WebSocket}) (on Node 20: the `ws` package's)");
    }
    this.engine = engine;
    this.wsUrl = wsUrl;
    this.WebSocket = WebSocket;
    this.clientId = clientId;
    this.credentials = credentials;
    this.sessionStatus = sessionStatus;
    this.onEffect = onEffect;
    this.socket = null;
    this.attempt = 0; // which connect() is current: a late answer of an older one is ignored
    this.timer = null;
    this.stopped = false;
    this.browser = typeof globalThis.addEventListener === "function" && typeof globalThis.navigator?.onLine === "boolean";
    this.listeners = [
      ["online", () => this.retryNow()],
      ["offline", () => this.wentOffline()],
    ];
  }

  get status() {
    const status = this.engine.status;
    if (this.browser && !globalThis.navigator.onLine && status.state !== State.LIVE) {
      return { ...status, state: State.OFFLINE, reason: "this device is offline" };
    }
    return status;
  }

  start() {
    this.stopped = false;
    if (this.browser) for (const [name, listener] of this.listeners) globalThis.addEventListener(name, listener);
    this.run(this.engine.start());
  }

  stop(reason = "stopped") {
    if (this.browser) for (const [name, listener] of this.listeners) globalThis.removeEventListener(name, listener);
    this.run(this.engine.stop(reason));
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Connect now rather than at the end of the backoff (the network came back). */
  retryNow() {
    this.run(this.engine.retryNow());
  }

  /** The device lost its network: drop the socket now rather than wait for the heartbeat. */
  wentOffline() {
    if (this.socket) {
      this.closeSocket("this device went offline");
      this.run(this.engine.onClose("this device went offline"));
    }
    this.onEffect({ type: "status", status: this.status });
  }

  run(effects) {
    for (const effect of effects) {
      if (effect.type === "connect") this.connect();
      else if (effect.type === "send") this.send(effect.message);
      else if (effect.type === "disconnect") this.closeSocket(effect.reason);
      else if (effect.type === "status") this.onEffect({ type: "status", status: this.status });
      else this.onEffect(effect);
    }
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const next = this.engine.nextTimer();
    if (next === null) return;
    const delay = Math.max(0, (next - now()) * 1000);
    this.timer = setTimeout(() => this.run(this.engine.tick()), delay + 5);
  }

  async connect() {
    const attempt = ++this.attempt;
    let url;
    try {
      const found = await this.credentials();
      // (by hand: React Native's URL cannot set search parameters)
      const credential = found.ticket ? { ticket: found.ticket } : { token: found.token ?? "" };
      url = `${this.wsUrl}${this.wsUrl.includes("?") ? "&" : "?"}${queryString({ ...credential, clientId: this.clientId })}`;
    } catch (error) {
      if (attempt === this.attempt) this.run(this.engine.onConnectFailed(String(error?.message ?? error), error?.status ?? null));
      return;
    }
    if (attempt !== this.attempt || this.stopped) return;
    let socket;
    try {
      socket = new this.WebSocket(url);
    } catch (error) {
      this.run(this.engine.onConnectFailed(String(error?.message ?? error)));
      return;
    }
    this.socket = socket;
    let opened = false;
    let refusedWith = null;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.run(this.engine.onOpen());
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.run(this.engine.onMessage(typeof event.data === "string" ? event.data : String(event.data)));
    };
    socket.onerror = (event) => {
      // `ws` says why an upgrade failed ("Unexpected server response: 401"); browsers do not.
      const text = String(event?.message ?? event?.error?.message ?? "");
      const status = /Unexpected server response: (\d{3})/.exec(text);
      if (status) refusedWith = Number(status[1]);
    };
    socket.onclose = async (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (opened) {
        this.run(this.engine.onClose(`connection closed (${event?.code ?? "?"})`));
        return;
      }
      let status = refusedWith;
      if (status === null && (!this.browser || globalThis.navigator.onLine)) status = await this.sessionStatus();
      if (attempt === this.attempt) this.run(this.engine.onConnectFailed("cannot connect", status));
    };
  }

  send(message) {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  closeSocket(reason) {
    const socket = this.socket;
    this.socket = null;
    this.attempt += 1; // an upgrade still under way is abandoned
    if (socket && socket.readyState <= OPEN) {
      try {
        if (socket.readyState === CONNECTING && typeof socket.terminate === "function") socket.terminate();
        else socket.close(1000, String(reason).slice(0, 100));
      } catch {
        // closing a socket that is still connecting throws in some implementations
      }
    }
  }
}

/** The clock of the engine: monotonic seconds. */
export function now() {
  return globalThis.performance.now() / 1000;
}
