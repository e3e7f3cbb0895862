// What the browser keeps in localStorage (DESIGN §5: client id, cursor and the
// cached notes survive a reload): the session, the client ids of this browser,
// and the notes as of a cursor (written together, so they always match).

import { randomId } from "./api.js";

const SESSION_KEY = "userdb.session";
const SYNC_KEY = "userdb.sync";
const CLIENTS_KEY = "userdb.clientIds";
const TAB_CLIENT_KEY = "userdb.tabClientId";
const MAX_CLIENT_IDS = 8;

function read(key) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

/** Write a value; false if the browser refused (storage full or disabled). */
function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

export function loadSession() {
  const session = read(SESSION_KEY);
  return session && typeof session.token === "string" ? session : null;
}

export function saveSession(session) {
  write(SESSION_KEY, session);
}

/** The cached notes and cursor of `userId` (nothing if they belong to someone else). */
export function loadSync(userId) {
  const data = read(SYNC_KEY);
  if (!data || data.userId !== userId || !Array.isArray(data.notes)) return { cursor: null, notes: [] };
  return { cursor: Number.isInteger(data.cursor) ? data.cursor : null, notes: data.notes };
}

export function saveSync(userId, cursor, notes) {
  return write(SYNC_KEY, { userId, cursor, notes });
}

export function clearSync() {
  write(SYNC_KEY, null);
}

/**
 * A client id for this tab, kept across reloads. Tabs of one browser share
 * localStorage, but the server keeps one connection per client id, so each
 * open tab holds a Web Lock on the id it uses and another tab takes another.
 */
export async function claimClientId() {
  const known = (read(CLIENTS_KEY) ?? []).filter((id) => typeof id === "string");
  if (!navigator.locks) {
    // No Web Locks (not a secure context): one id per tab, kept for its reloads.
    let id = sessionStorage.getItem(TAB_CLIENT_KEY);
    if (!id) {
      id = randomId();
      sessionStorage.setItem(TAB_CLIENT_KEY, id);
    }
    return id;
  }
  for (const id of known) {
    if (await holdLock(id)) return id;
  }
  const id = randomId();
  write(CLIENTS_KEY, [...known, id].slice(-MAX_CLIENT_IDS));
  await holdLock(id);
  return id;
}

function holdLock(id) {
  return new Promise((resolve) => {
    navigator.locks
      .request(`userdb.client.${id}`, { ifAvailable: true }, (lock) => {
        resolve(Boolean(lock));
        // Held for the life of the page when granted.
        return lock ? new Promise(() => {}) : undefined;
      })
      .catch(() => resolve(false));
  });
}
