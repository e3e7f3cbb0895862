// Where the API and the WebSocket are: the server says, in GET /config.json
// ({"apiUrl", "wsUrl"}, made from its own configuration, never from the request),
// and the page's Content-Security-Policy lets it connect to those two only.
// A host page may set window.USERDB_CONFIG = {apiBase, wsUrl} to point elsewhere.
// (No query-string override: a crafted link must not send the token elsewhere.)

async function served() {
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (response.ok) return await response.json();
  } catch {
    // Offline: the defaults below; the page still shows its cached notes.
  }
  return {};
}

function defaultWsUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.hostname}:8001/`;
}

const injected = globalThis.USERDB_CONFIG ?? {};
const fromServer = injected.wsUrl && injected.apiBase ? {} : await served();

export const config = Object.freeze({
  apiBase: injected.apiBase ?? fromServer.apiUrl ?? "/api",
  wsUrl: injected.wsUrl ?? fromServer.wsUrl ?? defaultWsUrl(),
});
