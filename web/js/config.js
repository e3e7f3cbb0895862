// Where the API and the WebSocket are. The page is served by the local runtime
// at `/`, the REST API at `/api` on the same origin, the WebSocket on port 8001
// of the same host (DESIGN §6). A host page may set window.USERDB_CONFIG =
// {apiBase, wsUrl} or <meta name="userdb-ws-url" content="…"> to point elsewhere.
// (No query-string override: a crafted link must not send the token elsewhere.)

function defaultWsUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.hostname}:8001/`;
}

const injected = globalThis.USERDB_CONFIG ?? {};
const meta = document.querySelector('meta[name="userdb-ws-url"]')?.content?.trim();

export const config = Object.freeze({
  apiBase: injected.apiBase ?? "/api",
  wsUrl: injected.wsUrl ?? (meta || defaultWsUrl()),
});
