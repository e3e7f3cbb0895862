// Editing a note in place, and the room-left counters of the editor and the composer.
// A save applies at once (the package's optimistic write) and closes the editor; if the
// server refuses it, the draft comes back with the reason, so no text is ever lost.

import { NotFoundError, VersionMismatchError } from "../client/index.js";
import { roomLabel } from "./room.js";
import { describe, toast } from "./ui.js";

/** Keep `counter` telling the room left in `area`; returns the function that refreshes it. */
export function attachRoomCounter(area, counter, { alwaysShow = true, onLevel = () => {} } = {}) {
  const refresh = () => {
    const { text, level } = roomLabel(area.value);
    counter.textContent = text;
    counter.dataset.level = level;
    counter.hidden = !alwaysShow && level === "ok";
    area.setAttribute("aria-invalid", String(level === "over"));
    onLevel(level);
  };
  area.addEventListener("input", refresh);
  refresh();
  return refresh;
}

export class NoteEditor {
  /** @param {{notes: any, items: Map<string, HTMLElement>, current: (id: string) => any, onClose: (id: string) => void}} options */
  constructor({ notes, items, current, onClose }) {
    this.notes = notes; // client.collection("notes")
    this.items = items;
    this.current = current;
    this.onClose = onClose;
    this.open = new Map(); // id -> {baseVersion, basePending}
  }

  isEditing(id) {
    return this.open.has(id);
  }

  start(id, draft = null) {
    const note = this.current(id);
    const element = this.items.get(id);
    if (!note || !element || this.open.has(id)) return;
    this.open.set(id, { baseVersion: note.version, basePending: Boolean(note.pending) });
    element.classList.add("note-editing");
    const body = element.querySelector(".note-body");
    const label = document.createElement("label");
    label.className = "visually-hidden";
    label.htmlFor = `edit-${id}`;
    label.textContent = "Note text";
    const area = document.createElement("textarea");
    area.id = `edit-${id}`;
    area.className = "note-editor";
    area.value = draft ?? note.data.text;
    area.rows = Math.min(12, Math.max(3, area.value.split("\n").length + 1));
    const bar = document.getElementById("editor-template").content.firstElementChild.cloneNode(true);
    const save = bar.querySelector(".editor-save");
    area.setAttribute("aria-describedby", `room-${id}`);
    const counter = bar.querySelector(".room");
    counter.id = `room-${id}`;
    body.querySelector(".note-text").hidden = true;
    body.append(label, area, bar);
    attachRoomCounter(area, counter, { onLevel: (level) => (save.disabled = level === "over") });
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.save(id);
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.stop(id);
      }
    });
    bar.querySelector(".editor-cancel").addEventListener("click", () => this.stop(id));
    save.addEventListener("click", () => this.save(id));
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  stop(id, { focus = true } = {}) {
    const element = this.items.get(id);
    this.open.delete(id);
    if (!element) return;
    element.classList.remove("note-editing");
    element.querySelector(".note-editor")?.remove();
    element.querySelector(".editor-bar")?.remove();
    element.querySelector(".note-body label")?.remove();
    element.querySelector(".note-text").hidden = false;
    this.onClose(id);
    if (focus) element.querySelector(".note-edit")?.focus();
  }

  save(id) {
    const element = this.items.get(id);
    const editor = this.open.get(id);
    if (!element || !editor) return;
    const text = element.querySelector(".note-editor").value;
    if (roomLabel(text).level === "over") return;
    if (text === this.current(id)?.data.text) {
      this.stop(id);
      return;
    }
    // Only a version the server confirmed can be matched: a note with a write of ours still
    // waiting gets its version from that write, so this one follows it as is.
    const options = editor.basePending ? {} : { ifMatch: editor.baseVersion };
    const written = this.notes.put(id, { text }, options);
    this.stop(id);
    written.catch((error) => this.refused(id, text, error));
  }

  refused(id, draft, error) {
    if (error instanceof VersionMismatchError) {
      // Keep the draft; saving again replaces the newer version on purpose.
      this.start(id, draft);
      toast("This note changed on another device. Your text is kept: save again to replace it.", { kind: "error", timeout: 8000 });
    } else if (error instanceof NotFoundError) {
      toast("This note was deleted on another device.", { kind: "error" });
    } else {
      toast(`Your change was not saved: ${describe(error)}`, { kind: "error", timeout: 8000 });
    }
  }
}
