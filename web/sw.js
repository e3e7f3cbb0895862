// The service worker: the page opens offline from cache. The app's files (the page, its
// modules and @userdb/client's, served under client/) are cached at install; each GET of
// them goes to the network first, so a new version shows as soon as it is online, and
// falls back to the cache when the network fails. The API and the WebSocket are never
// cached: the package keeps the data (IndexedDB) and the writes not yet sent.

const CACHE = "userdb-web-v1";
// Every file the page needs; tests/browser checks the list against web/ and clients/js/src.
const SHELL = [
  "./",
  "index.html",
  "styles.css",
  "favicon.svg",
  "js/account_view.js",
  "js/app.js",
  "js/auth_view.js",
  "js/client_id.js",
  "js/config.js",
  "js/editor.js",
  "js/list_view.js",
  "js/room.js",
  "js/ui.js",
  "client/client.js",
  "client/errors.js",
  "client/http.js",
  "client/ids.js",
  "client/index.js",
  "client/live.js",
  "client/outbox.js",
  "client/replica.js",
  "client/storage.js",
  "client/sync_engine.js",
];
// Cached when fetched (it may be absent, so not at install): the endpoints.
const RUNTIME = ["config.json"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

/** The path of `url` within the worker's scope, or null outside it. */
function scopedPath(url) {
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
  return url.pathname.slice(scope.pathname.length);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const path = scopedPath(new URL(request.url));
  const page = path === "" || path === "index.html";
  // The API, other pages (the examples) and anything else: the network's, as without a worker.
  if (path === null || !(page || SHELL.includes(path) || RUNTIME.includes(path))) return;
  const key = page ? "./" : path; // the page is one entry, whatever its query or fragment
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(key, response.clone());
        return response;
      } catch (error) {
        const cached = await cache.match(key);
        if (cached) return cached;
        throw error;
      }
    })(),
  );
});
