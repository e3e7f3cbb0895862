// Where the API and the WebSocket are: GET /config.json ({apiUrl, wsUrl}), which the
// runtime serves from its own configuration. Without it (an older runtime, or a host that
// serves only the files), the REST API is at /api on this origin and the WebSocket on
// port 8001 of this host (DESIGN §6). A page may also be given window.USERDB_CONFIG
// (tests do), or a <meta name="userdb-ws-url">. No query-string override: a crafted link
// must not send the session elsewhere.

function defaultWsUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.hostname}:8001/`;
}

async function servedConfig() {
  try {
    const response = await fetch("config.json", { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) return {};
    const body = await response.json();
    return body && typeof body === "object" ? body : {};
  } catch {
    return {}; // offline and not cached yet, or not JSON
  }
}

export async function loadConfig() {
  const injected = globalThis.USERDB_CONFIG ?? {};
  const served = await servedConfig();
  const meta = document.querySelector('meta[name="userdb-ws-url"]')?.content?.trim();
  return Object.freeze({
    apiUrl: injected.apiUrl ?? injected.apiBase ?? served.apiUrl ?? "/api",
    wsUrl: injected.wsUrl ?? served.wsUrl ?? (meta || defaultWsUrl()),
  });
}
