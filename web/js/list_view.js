// The notes: the composer, the list (live, from the package's replica), the filter,
// deleting, the connection's state and the offline banner with the writes waiting.

import { State, newDocId } from "../client/index.js";
import { NoteEditor, attachRoomCounter } from "./editor.js";
import { roomLabel } from "./room.js";
import { $, ago, describe, fullFormat, toast } from "./ui.js";

const STATE_LABELS = {
  [State.LIVE]: "Live",
  [State.CONNECTING]: "Connecting…",
  [State.RECONNECTING]: "Reconnecting…",
  [State.OFFLINE]: "Offline",
};

export class ListView {
  /** @param {{client: any}} options */
  constructor({ client }) {
    this.client = client;
    this.notes = client.collection("notes");
    this.shown = new Map(); // id -> doc, as rendered
    this.items = new Map(); // id -> <li>
    this.unsubscribe = null;
    this.ownWrites = new Set(); // ids this page wrote recently: not flashed as live changes
    this.editor = new NoteEditor({
      notes: this.notes,
      items: this.items,
      current: (id) => this.shown.get(id),
      onClose: (id) => {
        const note = this.shown.get(id);
        const element = this.items.get(id);
        if (note && element) this.updateItem(element, note);
      },
    });
  }

  wire() {
    $("composer").addEventListener("submit", (event) => this.add(event));
    $("new-note").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("composer").requestSubmit();
    });
    this.refreshComposerRoom = attachRoomCounter($("new-note"), $("composer-room"), {
      alwaysShow: false,
      onLevel: (level) => ($("add-note").disabled = level === "over"),
    });
    $("filter").addEventListener("input", () => this.render());
    this.client.on("state", (status) => this.renderConnection(status));
    this.client.on("outbox", ({ pending }) => this.renderPending(pending));
    setInterval(() => {
      for (const [id, element] of this.items) {
        const note = this.shown.get(id);
        if (note) this.updateItem(element, note);
      }
    }, 30_000);
  }

  show() {
    $("notes-view").hidden = false;
    $("connection").hidden = false;
    this.renderConnection(this.client.state);
    this.renderPending(this.client.pendingWrites);
    this.unsubscribe?.();
    this.unsubscribe = this.notes.subscribe((docs) => this.receive(docs));
  }

  hide() {
    this.unsubscribe?.();
    this.unsubscribe = null;
    $("notes-view").hidden = true;
    $("connection").hidden = true;
    $("offline-banner").hidden = true;
    for (const id of [...this.editor.open.keys()]) this.editor.stop(id, { focus: false });
    for (const element of this.items.values()) element.remove();
    this.items.clear();
    this.shown = new Map();
  }

  receive(docs) {
    const before = this.shown;
    this.shown = new Map(docs.map((doc) => [doc.id, doc]));
    const flash = new Set();
    for (const doc of docs) {
      const earlier = before.get(doc.id);
      const changed = !earlier || earlier.version !== doc.version || earlier.data !== doc.data;
      if (changed && !doc.pending && !this.ownWrites.has(doc.id) && before.size) flash.add(doc.id);
    }
    for (const id of before.keys()) {
      if (!this.shown.has(id) && this.editor.isEditing(id) && !this.ownWrites.has(id)) {
        toast("A note you were editing was deleted on another device.", { kind: "error" });
        this.editor.open.delete(id);
      }
    }
    this.render(flash);
  }

  sorted() {
    return [...this.shown.values()].sort((a, b) => b.updated - a.updated || b.version - a.version || (a.id < b.id ? -1 : 1));
  }

  render(flash = new Set()) {
    const list = $("notes");
    const filter = $("filter").value.trim().toLowerCase();
    const all = this.sorted();
    const shown = filter ? all.filter((note) => note.data.text.toLowerCase().includes(filter)) : all;
    for (const [id, element] of this.items) {
      if (!this.shown.has(id)) {
        element.remove();
        this.items.delete(id);
        this.editor.open.delete(id);
      }
    }
    const focused = document.activeElement;
    let previous = null;
    for (const note of shown) {
      const element = this.items.get(note.id) ?? this.createItem(note);
      this.updateItem(element, note);
      const expected = previous ? previous.nextElementSibling : list.firstElementChild;
      if (expected !== element) {
        if (previous) previous.after(element);
        else list.prepend(element);
      }
      if (flash.has(note.id)) {
        element.classList.remove("note-flash");
        void element.offsetWidth; // restart the animation
        element.classList.add("note-flash");
      }
      previous = element;
    }
    const visible = new Set(shown.map((note) => note.id));
    for (const [id, element] of this.items) element.hidden = !visible.has(id);
    if (focused instanceof HTMLElement && focused.isConnected && document.activeElement !== focused) focused.focus();
    $("note-count").textContent = all.length ? String(all.length) : "";
    $("empty").hidden = all.length > 0;
    $("no-match").hidden = !(all.length > 0 && shown.length === 0);
  }

  createItem(note) {
    const element = $("note-template").content.firstElementChild.cloneNode(true);
    element.dataset.id = note.id;
    element.querySelector(".note-edit").addEventListener("click", () => this.editor.start(note.id));
    element.querySelector(".note-delete").addEventListener("click", (event) => this.remove(note.id, event.currentTarget));
    this.items.set(note.id, element);
    return element;
  }

  updateItem(element, note) {
    element.dataset.version = String(note.version);
    element.classList.toggle("note-pending", Boolean(note.pending));
    element.querySelector(".note-status").hidden = !note.pending;
    const text = note.data.text;
    if (!this.editor.isEditing(note.id)) element.querySelector(".note-text").textContent = text;
    const time = element.querySelector(".note-time");
    time.dateTime = new Date(note.updated).toISOString();
    time.textContent = note.updated !== note.created ? `Edited ${ago(note.updated)}` : ago(note.created);
    time.title = fullFormat.format(new Date(note.updated));
    const preview = text.split("\n")[0].slice(0, 40);
    element.querySelector(".note-edit .visually-hidden").textContent = `Edit note: ${preview}`;
    element.querySelector(".note-delete .visually-hidden").textContent = `Delete note: ${preview}`;
  }

  /** A write of this page: not flashed when it comes back, reported if refused. */
  track(id, written, what) {
    this.ownWrites.add(id);
    written
      .catch((error) => toast(`${what} was not saved: ${describe(error)}`, { kind: "error", timeout: 8000 }))
      .finally(() => setTimeout(() => this.ownWrites.delete(id), 2000));
  }

  add(event) {
    event.preventDefault();
    const input = $("new-note");
    const text = input.value;
    if (!text.trim()) {
      input.focus();
      return;
    }
    if (roomLabel(text).level === "over") return;
    // Shown at once and kept in the outbox: offline too, it is queued, not refused.
    const id = newDocId();
    this.track(id, this.notes.create({ text }, { id }), "Your note");
    input.value = "";
    this.refreshComposerRoom();
    input.focus();
  }

  remove(id, button) {
    if (button.dataset.confirm !== "yes") {
      // First press arms the button; a second press within 4 s deletes.
      button.dataset.confirm = "yes";
      button.classList.add("confirming");
      const label = button.querySelector(".visually-hidden");
      const before = label.textContent;
      label.textContent = "Press again to delete this note";
      const confirm = document.createElement("span");
      confirm.className = "confirm-text";
      confirm.setAttribute("aria-hidden", "true");
      confirm.textContent = "Delete?";
      button.append(confirm);
      setTimeout(() => {
        button.dataset.confirm = "";
        button.classList.remove("confirming");
        confirm.remove();
        label.textContent = before;
      }, 4000);
      return;
    }
    const note = this.shown.get(id);
    const element = this.items.get(id);
    const next = element?.nextElementSibling ?? element?.previousElementSibling;
    const options = note && !note.pending ? { ifMatch: note.version } : {};
    this.track(id, this.notes.delete(id, options), "Deleting the note");
    (next?.querySelector(".note-delete") ?? $("new-note")).focus();
  }

  renderConnection(status) {
    const element = $("connection");
    element.dataset.state = status.state;
    element.querySelector(".connection-label").textContent = STATE_LABELS[status.state] ?? status.state;
    const parts = [];
    if (status.reason) parts.push(status.reason);
    if (status.retryIn !== null && status.state !== State.LIVE) parts.push(`retrying in ${Math.ceil(status.retryIn)} s`);
    if (status.cursor !== null) parts.push(`version ${status.cursor}`);
    element.title = parts.join(" · ");
    const offline = status.state === State.OFFLINE && !$("notes-view").hidden;
    $("offline-banner").hidden = !offline;
    document.body.classList.toggle("is-offline", offline);
  }

  renderPending(pending) {
    $("pending-count").textContent = pending
      ? `${pending} change${pending === 1 ? "" : "s"} waiting to be sent.`
      : "Everything you wrote has been sent.";
  }
}
