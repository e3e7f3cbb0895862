// A client id for this tab, kept across reloads. Tabs of one browser share storage, but
// the server keeps one connection per client id (and the package one outbox per client
// id), so each open tab holds a Web Lock on the id it uses and another tab takes another.
// A reopened tab gets the first free id back, and with it the writes it had not sent.

import { uuid } from "../client/index.js";

const CLIENTS_KEY = "userdb.clientIds";
const TAB_CLIENT_KEY = "userdb.tabClientId";
const MAX_CLIENT_IDS = 8;

function knownIds() {
  try {
    const ids = JSON.parse(localStorage.getItem(CLIENTS_KEY) ?? "[]");
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : [];
  } catch {
    return [];
  }
}

export async function claimClientId() {
  if (!navigator.locks) {
    // No Web Locks (not a secure context): one id per tab, kept for its reloads.
    let id = sessionStorage.getItem(TAB_CLIENT_KEY);
    if (!id) {
      id = uuid();
      sessionStorage.setItem(TAB_CLIENT_KEY, id);
    }
    return id;
  }
  const known = knownIds();
  for (const id of known) {
    if (await holdLock(id)) return id;
  }
  const id = uuid();
  try {
    localStorage.setItem(CLIENTS_KEY, JSON.stringify([...known, id].slice(-MAX_CLIENT_IDS)));
  } catch {
    // storage full or disabled: the id holds for this page's life
  }
  await holdLock(id);
  return id;
}

function holdLock(id) {
  return new Promise((resolve) => {
    navigator.locks
      .request(`userdb.client.${id}`, { ifAvailable: true }, (lock) => {
        resolve(Boolean(lock));
        return lock ? new Promise(() => {}) : undefined; // held for the life of the page
      })
      .catch(() => resolve(false));
  });
}
