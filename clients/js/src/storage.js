// Where the client keeps its session, outbox and replica. `storage` is anything with
// getItem / setItem / removeItem over strings, sync or async: localStorage, React
// Native's AsyncStorage, or the two adapters here (memory, IndexedDB).

/** A storage that lives as long as the object: for tests, Node scripts and private tabs. */
export function memoryStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => {
      items.set(key, String(value));
    },
    removeItem: (key) => {
      items.delete(key);
    },
    /** The keys held (not part of the storage shape; handy in tests). */
    keys: () => [...items.keys()],
  };
}

/**
 * A storage on IndexedDB (browsers): asynchronous, larger than localStorage's 5 MB,
 * and usable from a service worker. One object store of string values.
 * @param {{name?: string, store?: string, indexedDB?: IDBFactory}} [options]
 */
export function indexedDBStorage({ name = "userdb", store = "kv", indexedDB = globalThis.indexedDB } = {}) {
  if (!indexedDB) throw new Error("IndexedDB is not available here: pass another storage");
  let opened = null;
  const database = () => {
    opened ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(store);
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => {
          db.close(); // let another tab upgrade or delete the database
          opened = null;
        };
        resolve(db);
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error(`IndexedDB "${name}" is blocked by another tab`));
    });
    return opened;
  };
  const run = async (mode, act) => {
    const db = await database();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode);
      const request = act(transaction.objectStore(store));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
    });
  };
  return {
    getItem: async (key) => {
      const value = await run("readonly", (objects) => objects.get(key));
      return value === undefined ? null : value;
    },
    setItem: (key, value) => run("readwrite", (objects) => objects.put(String(value), key)).then(() => undefined),
    removeItem: (key) => run("readwrite", (objects) => objects.delete(key)).then(() => undefined),
  };
}

/**
 * JSON values over a storage, with the writes of each key kept in order and coalesced:
 * when several writes of one key are waiting, only the last is made. So the stored value
 * is always the latest, whatever the storage's own ordering of async calls.
 */
export class JsonStore {
  /** @param {{getItem: Function, setItem: Function, removeItem: Function}} storage @param {string} prefix */
  constructor(storage, prefix) {
    for (const method of ["getItem", "setItem", "removeItem"]) {
      if (typeof storage?.[method] !== "function") {
        throw new TypeError(`storage must have getItem, setItem and removeItem (missing ${method})`);
      }
    }
    this.storage = storage;
    this.prefix = prefix;
    this.writes = new Map(); // key -> {running: Promise, next: {value}|null}
    this.failures = 0;
    this.onError = () => {};
  }

  async get(key) {
    await this.writes.get(key)?.done; // a value being written is the one to read
    let raw;
    try {
      raw = await this.storage.getItem(this.prefix + key);
    } catch (error) {
      this.onError(error);
      return null;
    }
    if (raw === null || raw === undefined) return null;
    try {
      return JSON.parse(raw);
    } catch {
      return null;
    }
  }

  /** Write (null removes); resolves once this value, or a later one, is stored. */
  set(key, value) {
    const text = value === null || value === undefined ? null : JSON.stringify(value);
    let slot = this.writes.get(key);
    if (slot) {
      slot.next = { text };
      return slot.done;
    }
    slot = { next: { text }, done: null };
    this.writes.set(key, slot);
    slot.done = (async () => {
      while (slot.next) {
        const { text: current } = slot.next;
        slot.next = null;
        try {
          if (current === null) await this.storage.removeItem(this.prefix + key);
          else await this.storage.setItem(this.prefix + key, current);
        } catch (error) {
          this.failures += 1;
          this.onError(error); // full or disabled storage: the app is told, the client goes on
        }
      }
      this.writes.delete(key);
    })();
    return slot.done;
  }

  /** Resolves when every write started so far has been made. */
  async flush() {
    await Promise.all([...this.writes.values()].map((slot) => slot.done));
  }
}
