// The REST API (DESIGN §4) over fetch. Every failure becomes an ApiError with
// the server's stable code and message, or a NetworkError: nothing is swallowed.

export class ApiError extends Error {
  constructor(status, code, message, { details = [], retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

const PROVISIONING_WAIT_MS = 30_000;

export class Api {
  /** @param {string} base the REST root, e.g. "/api"; @param {() => string|null} token */
  constructor(base, token) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
  }

  async request(method, path, { body, headers = {}, query } = {}) {
    const started = Date.now();
    for (;;) {
      try {
        return await this.send(method, path, { body, headers, query });
      } catch (error) {
        // The account's store is still being created: wait as told, then retry.
        const waiting = error instanceof ApiError && error.code === "tenant_provisioning";
        const pause = Math.min(Math.max((error.retryAfter ?? 1) * 1000, 200), 5000);
        if (!waiting || Date.now() - started + pause > PROVISIONING_WAIT_MS) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  async send(method, path, { body, headers, query }) {
    let url = this.base + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== null && value !== undefined) params.set(key, String(value));
      }
      if ([...params].length) url += `?${params}`;
    }
    const sent = { Accept: "application/json", ...headers };
    if (body !== undefined) sent["Content-Type"] = "application/json";
    const token = this.token();
    if (token) sent.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: sent,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new NetworkError("Cannot reach the server. Check your connection.");
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (response.ok) return data;
    const error = data?.error ?? {};
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    throw new ApiError(
      response.status,
      error.code ?? `http_${response.status}`,
      error.message ?? `The server answered HTTP ${response.status}.`,
      { details: Array.isArray(error.details) ? error.details : [], retryAfter },
    );
  }

  signup(email, password, name) {
    return this.request("POST", "/auth/signup", { body: { email, password, name } });
  }

  login(email, password) {
    return this.request("POST", "/auth/login", { body: { email, password } });
  }

  logout() {
    return this.request("POST", "/auth/logout");
  }

  session() {
    return this.request("GET", "/auth/session");
  }

  me() {
    return this.request("GET", "/me");
  }

  unlinkIdentity(provider) {
    return this.request("DELETE", `/me/identities/${encodeURIComponent(provider)}`);
  }

  /** Configured OAuth providers, or [] when the server has none (404) or cannot say. */
  async providers() {
    try {
      const data = await this.request("GET", "/auth/providers");
      const list = Array.isArray(data) ? data : data?.providers;
      return Array.isArray(list) ? list : [];
    } catch {
      return [];
    }
  }

  async allNotes() {
    const notes = [];
    let cursor = null;
    do {
      const page = await this.request("GET", "/notes", { query: { limit: 100, cursor } });
      notes.push(...(page?.notes ?? []));
      cursor = page?.cursor ?? null;
    } while (cursor);
    return notes;
  }

  async createNote(text) {
    const key = crypto.randomUUID ? crypto.randomUUID() : randomId();
    const data = await this.request("POST", "/notes", {
      body: { text },
      headers: { "Idempotency-Key": key },
    });
    return data.note;
  }

  async updateNote(id, text, version) {
    const headers = version === null || version === undefined ? {} : { "If-Match": `"${version}"` };
    const data = await this.request("PUT", `/notes/${encodeURIComponent(id)}`, { body: { text }, headers });
    return data.note;
  }

  async deleteNote(id, version) {
    const headers = version === null || version === undefined ? {} : { "If-Match": `"${version}"` };
    await this.request("DELETE", `/notes/${encodeURIComponent(id)}`, { headers });
  }
}

/** A random UUID v4 without crypto.randomUUID (not available outside secure contexts). */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
