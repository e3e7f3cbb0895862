// The notes app: sign in / sign up, the notes list with create, edit and
// delete, live updates and the connection's state. Cached notes render at once
// from localStorage; the live connection (live.js) then brings them up to date.

import { Api, ApiError, NetworkError } from "./api.js";
import { config } from "./config.js";
import { LiveSync } from "./live.js";
import * as store from "./store.js";
import { State } from "./sync.js";

const $ = (id) => document.getElementById(id);

const api = new Api(config.apiBase, () => session?.token ?? null);
let session = store.loadSession(); // {token, user}
let live = null;
let mode = "signin";
let notes = new Map(); // id -> note, what is shown
const items = new Map(); // id -> <li>
const editors = new Map(); // id -> {baseVersion}
let storageWarned = false;
const providerNames = new Map(); // OAuth provider id -> name, for messages

// What a failed OAuth sign-in says, by the stable code in the landing fragment (docs/oauth.md).
const OAUTH_ERRORS = {
  unknown_provider: "This sign-in method is not available.",
  invalid_redirect: "Sign-in could not start.",
  invalid_state: "This sign-in link has expired; try again.",
  provider_error: "The provider refused the sign-in.",
  invalid_callback: "Sign-in failed; try again.",
  token_exchange_failed: "Sign-in failed; try again.",
  provider_unavailable: "The provider is not reachable; try again in a moment.",
  id_token_invalid: "Sign-in failed.",
  id_token_expired: "Sign-in failed; check your device's clock and try again.",
  id_token_signature_invalid: "Sign-in failed.",
  nonce_mismatch: "Sign-in failed; try again.",
  account_exists: "An account with this email already exists: sign in with your password.",
  identity_in_use: "This {provider} account is connected to another account.",
  unauthorized: "Sign in first.",
  conflict: "Try again.",
  validation_error: "Sign-in failed.",
  internal_error: "Something went wrong; try again.",
};

const STATE_LABELS = {
  [State.LIVE]: "Live",
  [State.CONNECTING]: "Connecting…",
  [State.RECONNECTING]: "Reconnecting…",
  [State.OFFLINE]: "Offline",
};

// ------------------------------------------------------------------ messages

function describe(error) {
  if (error instanceof ApiError) {
    const fields = error.details
      .map((detail) => `${detail.field}: ${detail.message}`)
      .join("; ");
    let text = error.message;
    if (fields) text += ` (${fields})`;
    if (error.retryAfter) text += ` Try again in ${Math.ceil(error.retryAfter)} s.`;
    return text;
  }
  if (error instanceof NetworkError) return error.message;
  console.error(error);
  return "Something went wrong. Please try again.";
}

function toast(text, { kind = "info", timeout = 5000 } = {}) {
  const element = document.createElement("div");
  element.className = `toast toast-${kind}`;
  if (kind === "error") element.setAttribute("role", "alert");
  element.textContent = text;
  $("toasts").append(element);
  setTimeout(() => {
    element.classList.add("toast-leaving");
    setTimeout(() => element.remove(), 300);
  }, timeout);
}

function showBanner(text) {
  $("banner-text").textContent = text;
  $("banner").hidden = false;
}

$("banner-close").addEventListener("click", () => {
  $("banner").hidden = true;
});

// ------------------------------------------------------------------ time

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function ago(epochMs) {
  const seconds = (epochMs - Date.now()) / 1000;
  if (Math.abs(seconds) < 45) return "just now";
  if (Math.abs(seconds) < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (Math.abs(seconds) < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (Math.abs(seconds) < 7 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return dateFormat.format(new Date(epochMs));
}

// ------------------------------------------------------------------ views

function showAuth(error = null) {
  $("notes-view").hidden = true;
  $("account").hidden = true;
  $("connection").hidden = true;
  $("auth-view").hidden = false;
  setMode(mode);
  if (error) showAuthError(error);
  renderProviders();
  $("email").focus();
}

function showNotes() {
  $("auth-view").hidden = true;
  $("notes-view").hidden = false;
  $("account").hidden = false;
  $("connection").hidden = false;
  $("account-name").textContent = session.user?.name || session.user?.email || "";
  $("account-name").title = `Your account (${session.user?.email ?? ""})`;
  const cached = store.loadSync(session.user.id);
  notes = new Map(cached.notes.map((note) => [note.id, note]));
  render();
}

function setMode(next) {
  mode = next;
  const signup = mode === "signup";
  $("tab-signin").setAttribute("aria-selected", String(!signup));
  $("tab-signup").setAttribute("aria-selected", String(signup));
  $("name-field").hidden = !signup;
  $("password-hint").hidden = !signup;
  $("password").autocomplete = signup ? "new-password" : "current-password";
  $("password").minLength = signup ? 8 : 1;
  $("auth-submit").textContent = signup ? "Create account" : "Sign in";
  $("auth-error").hidden = true;
}

function showAuthError(text) {
  $("auth-error").textContent = text;
  $("auth-error").hidden = false;
}

async function renderProviders() {
  // OAuth: one "Sign in with …" button per provider the server offers (none on 404).
  const providers = await api.providers();
  const container = $("oauth-providers");
  container.replaceChildren();
  const back = location.origin + location.pathname; // where the sign-in lands (no hash)
  for (const provider of providers) {
    const id = typeof provider === "string" ? provider : provider.id;
    if (!id) continue;
    providerNames.set(id, provider.name ?? id);
    const start = provider.start_url ?? `${config.apiBase}/auth/oauth/${encodeURIComponent(id)}/start`;
    const link = document.createElement("a");
    link.className = "button button-provider button-wide";
    link.href = `${start}?redirect=${encodeURIComponent(back)}`;
    link.textContent = `Sign in with ${provider.name ?? id}`;
    container.append(link);
  }
  $("oauth").hidden = container.childElementCount === 0;
}

function renderConnection(status) {
  const element = $("connection");
  element.dataset.state = status.state;
  element.querySelector(".connection-label").textContent = STATE_LABELS[status.state] ?? status.state;
  const parts = [];
  if (status.reason) parts.push(status.reason);
  if (status.retryIn !== null && status.state !== State.LIVE) parts.push(`retrying in ${Math.ceil(status.retryIn)} s`);
  if (status.cursor !== null) parts.push(`version ${status.cursor}`);
  element.title = parts.join(" · ");
}

function sortedNotes() {
  return [...notes.values()].sort((a, b) => b.updated - a.updated || b.version - a.version);
}

function render(flash = new Set()) {
  const list = $("notes");
  const filter = $("filter").value.trim().toLowerCase();
  const all = sortedNotes();
  const shown = filter ? all.filter((note) => note.text.toLowerCase().includes(filter)) : all;
  for (const [id, element] of items) {
    if (!notes.has(id)) {
      element.remove();
      items.delete(id);
      editors.delete(id);
    }
  }
  const focused = document.activeElement;
  let previous = null;
  for (const note of shown) {
    const element = items.get(note.id) ?? createItem(note);
    updateItem(element, note);
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
  for (const [id, element] of items) element.hidden = !visible.has(id);
  if (focused instanceof HTMLElement && focused.isConnected && document.activeElement !== focused) focused.focus();
  $("note-count").textContent = all.length ? String(all.length) : "";
  $("empty").hidden = all.length > 0;
  $("no-match").hidden = !(all.length > 0 && shown.length === 0);
}

function createItem(note) {
  const element = $("note-template").content.firstElementChild.cloneNode(true);
  element.dataset.id = note.id;
  element.querySelector(".note-edit").addEventListener("click", () => startEditing(note.id));
  element.querySelector(".note-delete").addEventListener("click", (event) => deleteNote(note.id, event.currentTarget));
  items.set(note.id, element);
  return element;
}

function updateItem(element, note) {
  element.dataset.version = String(note.version);
  if (!editors.has(note.id)) element.querySelector(".note-text").textContent = note.text;
  const time = element.querySelector(".note-time");
  time.dateTime = new Date(note.updated).toISOString();
  time.textContent = note.updated !== note.created ? `Edited ${ago(note.updated)}` : ago(note.created);
  time.title = fullFormat.format(new Date(note.updated));
  const preview = note.text.split("\n")[0].slice(0, 40);
  element.querySelector(".note-edit .visually-hidden").textContent = `Edit note: ${preview}`;
  element.querySelector(".note-delete .visually-hidden").textContent = `Delete note: ${preview}`;
}

setInterval(() => {
  for (const [id, element] of items) {
    const note = notes.get(id);
    if (note) updateItem(element, note);
  }
}, 30_000);

// ------------------------------------------------------------------ live

async function startLive() {
  stopLive();
  const user = session.user;
  const token = session.token;
  const clientId = await store.claimClientId();
  if (session?.token !== token) return; // signed out meanwhile
  const url = new URL(config.wsUrl);
  url.searchParams.set("token", token);
  url.searchParams.set("clientId", clientId);
  const cached = store.loadSync(user.id);
  live = new LiveSync({
    url: url.toString(),
    state: { clientId, cursor: cached.cursor, notes: cached.notes },
    onChange: (changes) => {
      notes = new Map(live.notes.map((note) => [note.id, note]));
      for (const id of changes.deleted) {
        if (editors.has(id) && !changes.local) toast("A note you were editing was deleted on another device.", { kind: "error" });
      }
      render(new Set(changes.local ? [] : changes.upserted.map((note) => note.id)));
    },
    onStatus: (status) => {
      renderConnection(status);
      if (status.state === State.OFFLINE && status.reason?.startsWith("unauthorized")) {
        signOutHere("Your session has ended. Please sign in again.");
      }
    },
    onSave: (state) => {
      if (!store.saveSync(user.id, state.cursor, state.notes) && !storageWarned) {
        storageWarned = true;
        showBanner("This browser's storage is full: your notes will not be kept for offline use.");
      }
    },
    onServerError: (code, message) => {
      if (code !== "unauthorized") toast(`The server reported: ${message || code}`, { kind: "error" });
    },
    sessionStatus: async () => {
      try {
        await api.session();
        return null;
      } catch (error) {
        return error instanceof ApiError ? error.status : null;
      }
    },
  });
  live.start();
}

function stopLive() {
  if (live) live.stop();
  live = null;
}

function applyLocal(note) {
  if (live) live.applyLocal(note);
  else {
    notes.set(note.id, note);
    render();
  }
}

function forgetLocal(id) {
  if (live) live.forgetLocal(id);
  else {
    notes.delete(id);
    render();
  }
}

// ------------------------------------------------------------------ notes

async function addNote(event) {
  event.preventDefault();
  const input = $("new-note");
  const text = input.value;
  if (!text.trim()) {
    input.focus();
    return;
  }
  const button = $("add-note");
  button.disabled = true;
  try {
    const note = await api.createNote(text);
    input.value = "";
    applyLocal(note);
    input.focus();
  } catch (error) {
    handleError(error);
  } finally {
    button.disabled = false;
  }
}

function startEditing(id) {
  const note = notes.get(id);
  const element = items.get(id);
  if (!note || !element || editors.has(id)) return;
  editors.set(id, { baseVersion: note.version });
  element.classList.add("note-editing");
  const body = element.querySelector(".note-body");
  const label = document.createElement("label");
  label.className = "visually-hidden";
  label.htmlFor = `edit-${id}`;
  label.textContent = "Note text";
  const area = document.createElement("textarea");
  area.id = `edit-${id}`;
  area.className = "note-editor";
  area.value = note.text;
  area.rows = Math.min(12, Math.max(3, note.text.split("\n").length + 1));
  area.maxLength = 65536;
  const bar = document.createElement("div");
  bar.className = "editor-bar";
  bar.innerHTML =
    '<span class="hint"><kbd>Ctrl</kbd> + <kbd>Enter</kbd> to save, <kbd>Esc</kbd> to cancel</span>' +
    '<span class="editor-buttons"><button type="button" class="button button-quiet editor-cancel">Cancel</button>' +
    '<button type="button" class="button button-primary editor-save">Save</button></span>';
  body.querySelector(".note-text").hidden = true;
  body.append(label, area, bar);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      saveEditing(id);
    } else if (event.key === "Escape") {
      event.preventDefault();
      stopEditing(id);
    }
  });
  bar.querySelector(".editor-cancel").addEventListener("click", () => stopEditing(id));
  bar.querySelector(".editor-save").addEventListener("click", () => saveEditing(id));
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}

function stopEditing(id, { focus = true } = {}) {
  const element = items.get(id);
  editors.delete(id);
  if (!element) return;
  element.classList.remove("note-editing");
  element.querySelector(".note-editor")?.remove();
  element.querySelector(".editor-bar")?.remove();
  element.querySelector(".note-body label")?.remove();
  element.querySelector(".note-text").hidden = false;
  const note = notes.get(id);
  if (note) updateItem(element, note);
  if (focus) element.querySelector(".note-edit").focus();
}

async function saveEditing(id) {
  const element = items.get(id);
  const editor = editors.get(id);
  if (!element || !editor) return;
  const area = element.querySelector(".note-editor");
  const save = element.querySelector(".editor-save");
  if (area.value === notes.get(id)?.text) {
    stopEditing(id);
    return;
  }
  save.disabled = true;
  try {
    const note = await api.updateNote(id, area.value, editor.baseVersion);
    editors.delete(id);
    applyLocal(note);
    stopEditing(id);
  } catch (error) {
    if (error instanceof ApiError && error.code === "version_mismatch") {
      // Keep the draft; the next save overwrites the newer version on purpose.
      editor.baseVersion = notes.get(id)?.version ?? null;
      toast("This note changed on another device. Your text is kept: save again to replace it.", { kind: "error", timeout: 8000 });
    } else if (error instanceof ApiError && error.status === 404) {
      toast("This note was deleted on another device.", { kind: "error" });
      stopEditing(id, { focus: false });
      forgetLocal(id);
    } else {
      handleError(error);
    }
  } finally {
    save.disabled = false;
  }
}

async function deleteNote(id, button) {
  if (button.dataset.confirm !== "yes") {
    // First press arms the button; a second press within 4 s deletes.
    button.dataset.confirm = "yes";
    button.classList.add("confirming");
    const label = button.querySelector(".visually-hidden");
    const before = label.textContent;
    label.textContent = "Press again to delete this note";
    button.insertAdjacentHTML("beforeend", '<span class="confirm-text" aria-hidden="true">Delete?</span>');
    setTimeout(() => {
      button.dataset.confirm = "";
      button.classList.remove("confirming");
      button.querySelector(".confirm-text")?.remove();
      label.textContent = before;
    }, 4000);
    return;
  }
  const note = notes.get(id);
  const element = items.get(id);
  const next = element?.nextElementSibling ?? element?.previousElementSibling;
  button.disabled = true;
  try {
    await api.deleteNote(id, note?.version);
    forgetLocal(id);
    (next?.querySelector(".note-delete") ?? $("new-note")).focus();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) forgetLocal(id);
    else if (error instanceof ApiError && error.code === "version_mismatch") {
      toast("This note changed on another device; look at it again before deleting.", { kind: "error" });
    } else handleError(error);
  } finally {
    button.disabled = false;
  }
}

function handleError(error) {
  if (error instanceof ApiError && error.status === 401) {
    signOutHere("Your session has ended. Please sign in again.");
    return;
  }
  toast(describe(error), { kind: "error", timeout: 8000 });
}

// ------------------------------------------------------------------ accounts

async function submitAuth(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  const name = $("name").value.trim();
  if (!email || !password || (mode === "signup" && !name)) {
    showAuthError(mode === "signup" ? "Enter your name, email and a password." : "Enter your email and password.");
    return;
  }
  if (mode === "signup" && password.length < 8) {
    showAuthError("Choose a password of at least 8 characters.");
    $("password").focus();
    return;
  }
  const button = $("auth-submit");
  button.disabled = true;
  $("auth-error").hidden = true;
  try {
    const result = mode === "signup" ? await api.signup(email, password, name) : await api.login(email, password);
    signedIn(result.token, result.user);
  } catch (error) {
    showAuthError(describe(error));
  } finally {
    button.disabled = false;
  }
}

function signedIn(token, user) {
  session = { token, user };
  store.saveSession(session);
  $("password").value = "";
  showNotes();
  startLive();
  $("new-note").focus();
}

function signOutHere(message = null) {
  stopLive();
  session = null;
  store.saveSession(null);
  store.clearSync();
  notes = new Map();
  for (const element of items.values()) element.remove();
  items.clear();
  editors.clear();
  mode = "signin";
  showAuth(message);
}

async function signOut() {
  try {
    await api.logout();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      toast(`Signed out on this device only: ${describe(error)}`, { kind: "error" });
    }
  }
  signOutHere();
}

/**
 * A return from OAuth, read before anything else: `#token=…` (with `result`) signs in,
 * `#error=…` (with `error_description`, `provider`) is shown. The fragment is cleared.
 */
async function takeFragment() {
  if (!location.hash || location.hash.length < 2) return null;
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("token") && !params.has("error") && !params.has("result")) return null;
  history.replaceState(null, "", location.pathname + location.search);
  const provider = params.get("provider") ?? "";
  const providerName = providerNames.get(provider) ?? (provider ? provider[0].toUpperCase() + provider.slice(1) : "the provider");
  const code = params.get("error");
  if (code) {
    if (code === "access_denied") return { cancelled: true }; // the user cancelled: nothing alarming
    const known = OAUTH_ERRORS[code];
    const text = known ? known.replace("{provider}", providerName) : params.get("error_description") || "Sign-in failed.";
    return { error: `${text} (${code})` };
  }
  const token = params.get("token");
  if (!token) {
    return params.get("result") === "linked" ? { notice: `${providerName} is now connected to your account.` } : null;
  }
  session = { token, user: null };
  try {
    const current = await api.session();
    session = { token, user: current.user };
    store.saveSession(session);
    return params.get("result") === "created" ? { notice: `Welcome, ${current.user.name}!` } : { signedIn: true };
  } catch (error) {
    session = null;
    return { error: describe(error) };
  }
}

// ------------------------------------------------------------------ account

async function openAccount() {
  const dialog = $("account-dialog");
  $("account-full-name").textContent = session.user?.name ?? "";
  $("account-email").textContent = session.user?.email ?? "";
  $("account-error").hidden = true;
  dialog.showModal();
  await renderIdentities();
}

async function renderIdentities() {
  const list = $("identities");
  const connect = $("connect-providers");
  try {
    const [me, providers] = await Promise.all([api.me(), api.providers()]);
    for (const provider of providers) providerNames.set(provider.id, provider.name ?? provider.id);
    const identities = me.identities ?? [];
    list.replaceChildren();
    if (!identities.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "None connected yet.";
      list.append(none);
    }
    for (const identity of identities) {
      const item = document.createElement("li");
      const label = document.createElement("span");
      const name = providerNames.get(identity.provider) ?? identity.provider;
      label.textContent = identity.email ? `${name} (${identity.email})` : name;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button-quiet button-small";
      remove.textContent = "Disconnect";
      remove.setAttribute("aria-label", `Disconnect ${name}`);
      remove.addEventListener("click", () => unlink(identity.provider));
      item.append(label, remove);
      list.append(item);
    }
    connect.replaceChildren();
    const back = location.origin + location.pathname;
    for (const provider of providers) {
      if (identities.some((identity) => identity.provider === provider.id)) continue;
      const link = document.createElement("a");
      link.className = "button button-provider";
      link.href = `${provider.start_url}?link=true&redirect=${encodeURIComponent(back)}`;
      link.textContent = `Connect ${provider.name ?? provider.id}`;
      connect.append(link);
    }
  } catch (error) {
    $("account-error").textContent = describe(error);
    $("account-error").hidden = false;
  }
}

async function unlink(provider) {
  try {
    await api.unlinkIdentity(provider);
    await renderIdentities();
  } catch (error) {
    $("account-error").textContent = describe(error); // e.g. 409 last_sign_in_method, as is
    $("account-error").hidden = false;
  }
}

// ------------------------------------------------------------------ wiring

$("tab-signin").addEventListener("click", () => setMode("signin"));
$("tab-signup").addEventListener("click", () => setMode("signup"));
for (const tab of [$("tab-signin"), $("tab-signup")]) {
  tab.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      const other = tab.id === "tab-signin" ? $("tab-signup") : $("tab-signin");
      other.click();
      other.focus();
    }
  });
}
$("auth-form").addEventListener("submit", submitAuth);
$("sign-out").addEventListener("click", signOut);
$("account-name").addEventListener("click", openAccount);
$("composer").addEventListener("submit", addNote);
$("new-note").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("composer").requestSubmit();
});
$("filter").addEventListener("input", () => render());
window.addEventListener("storage", (event) => {
  // Signing out (or in as someone else) in another tab applies here too.
  if (event.key !== "userdb.session") return;
  const next = store.loadSession();
  if (!next && session) signOutHere();
  else if (next && next.token !== session?.token && next.user) {
    session = next;
    showNotes();
    startLive();
  }
});

async function boot() {
  const returned = await takeFragment();
  if (returned?.notice) toast(returned.notice);
  if (returned?.error) {
    session = store.loadSession();
    if (!session?.user) {
      showAuth(returned.error);
      return;
    }
    showBanner(returned.error);
  }
  if (!session?.user) {
    showAuth();
    return;
  }
  showNotes(); // the cached notes, before any network
  renderConnection({ state: State.CONNECTING, reason: null, retryIn: null, cursor: null });
  startLive();
  try {
    const current = await api.session();
    session = { ...session, user: current.user };
    store.saveSession(session);
    $("account-name").textContent = current.user.name || current.user.email;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOutHere("Your session has ended. Please sign in again.");
  }
}

boot();
