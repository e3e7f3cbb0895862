// The live connection: drives the SyncEngine (sync.js) over a browser WebSocket
// and timers, and carries out its effects.

import { SyncEngine, State } from "./sync.js";

export class LiveSync {
  /**
   * @param {object} options
   * @param {string} options.url ws(s) URL with token and clientId
   * @param {{clientId: string, cursor: number|null, notes: object[]}} options.state
   * @param {(changes: object) => void} options.onChange
   * @param {(status: object) => void} options.onStatus
   * @param {(state: object) => void} options.onSave
   * @param {(code: string, message: string) => void} options.onServerError
   * @param {() => Promise<number|null>} options.sessionStatus HTTP status of a session check
   * @param {object} [options.timings]
   */
  constructor({ url, state, onChange, onStatus, onSave, onServerError, sessionStatus, timings }) {
    this.url = url;
    this.engine = new SyncEngine(
      { clientId: state.clientId, cursor: state.cursor, notes: state.notes.map((n) => [n.id, n]) },
      { clock: () => performance.now() / 1000, timings },
    );
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.onSave = onSave;
    this.onServerError = onServerError;
    this.sessionStatus = sessionStatus;
    this.socket = null;
    this.timer = null;
    this.listeners = [
      ["online", () => this.run(this.engine.retryNow())],
      ["offline", () => this.wentOffline()],
      ["visibilitychange", () => this.run(this.engine.tick())],
    ];
  }

  get status() {
    const status = this.engine.status;
    if (!navigator.onLine && status.state !== State.LIVE) {
      return { ...status, state: State.OFFLINE, reason: "this device is offline" };
    }
    return status;
  }

  get notes() {
    return [...this.engine.state.notes.values()];
  }

  start() {
    for (const [name, listener] of this.listeners) {
      (name === "visibilitychange" ? document : window).addEventListener(name, listener);
    }
    this.run(this.engine.start());
  }

  stop() {
    for (const [name, listener] of this.listeners) {
      (name === "visibilitychange" ? document : window).removeEventListener(name, listener);
    }
    this.run(this.engine.stop());
    clearTimeout(this.timer);
  }

  /** The device lost its network: drop the socket now rather than wait for the heartbeat. */
  wentOffline() {
    if (this.socket) {
      this.closeSocket("this device went offline");
      this.run(this.engine.onClose("this device went offline"));
    }
    this.onStatus(this.status);
  }

  applyLocal(note) {
    this.run(this.engine.applyLocal(note));
  }

  forgetLocal(id) {
    this.run(this.engine.forgetLocal(id));
  }

  run(effects) {
    for (const effect of effects) {
      if (effect.type === "connect") this.connect();
      else if (effect.type === "send") this.send(effect.message);
      else if (effect.type === "disconnect") this.closeSocket(effect.reason);
      else if (effect.type === "save") this.onSave(effect.state);
      else if (effect.type === "status") this.onStatus(this.status);
      else if (effect.type === "notes") this.onChange(effect.changes);
      else if (effect.type === "serverError") this.onServerError(effect.code, effect.message);
    }
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const next = this.engine.nextTimer();
    if (next === null) return;
    const delay = Math.max(0, (next - performance.now() / 1000) * 1000);
    this.timer = setTimeout(() => this.run(this.engine.tick()), delay + 5);
  }

  connect() {
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      queueMicrotask(() => this.run(this.engine.onConnectFailed(String(error))));
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.run(this.engine.onOpen());
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.run(this.engine.onMessage(event.data));
    };
    socket.onclose = async (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (opened) {
        this.run(this.engine.onClose(`connection closed (${event.code})`));
        return;
      }
      // A browser does not say why an upgrade failed: ask whether the session still holds.
      const status = navigator.onLine ? await this.sessionStatus() : null;
      this.run(this.engine.onConnectFailed("cannot connect", status));
    };
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  closeSocket(reason) {
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, reason.slice(0, 100));
  }
}
