// The REST API (DESIGN §4, §7) over fetch: JSON in and out, the session's bearer token,
// errors as typed ApiErrors, and a new account's store waited for (503 tenant_provisioning).

import { NetworkError, apiError } from "./errors.js";

const PROVISIONING_WAIT_MS = 30_000;

export class Http {
  /**
   * @param {string} url the REST root, e.g. "http://127.0.0.1:8000/api" or "/api"
   * @param {() => string|null} token the session token, when signed in
   * @param {typeof fetch} [fetchImpl]
   */
  constructor(url, token, fetchImpl) {
    this.base = String(url).replace(/\/+$/, "");
    this.token = token;
    this.fetch = fetchImpl ?? ((...args) => globalThis.fetch(...args));
  }

  /**
   * One request; resolves with {status, body, headers} on 2xx, rejects with an ApiError
   * (or NetworkError) otherwise.
   * @param {string} method
   * @param {string} path
   * @param {{body?: any, headers?: Record<string,string>, query?: Record<string,any>,
   *          contentType?: string, waitProvisioning?: boolean}} [options]
   */
  async request(method, path, options = {}) {
    const started = Date.now();
    for (;;) {
      try {
        return await this.send(method, path, options);
      } catch (error) {
        // The account's store is still being created: wait as told, then retry.
        const waiting = error?.code === "tenant_provisioning" && options.waitProvisioning !== false;
        const pause = Math.min(Math.max((error?.retryAfter ?? 1) * 1000, 200), 5000);
        if (!waiting || Date.now() - started + pause > PROVISIONING_WAIT_MS) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  async send(method, path, { body, headers = {}, query, contentType = "application/json" }) {
    let url = this.base + path;
    if (query) {
      const encoded = queryString(
        Object.fromEntries(Object.entries(query).map(([key, value]) => [key, typeof value === "string" || value == null ? value : JSON.stringify(value)])),
      );
      if (encoded) url += `?${encoded}`;
    }
    const sent = { Accept: "application/json", ...headers };
    if (body !== undefined) sent["Content-Type"] = contentType;
    const token = this.token();
    if (token) sent.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await this.fetch(url, {
        method,
        headers: sent,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new NetworkError(`Cannot reach the server (${error?.message ?? error}).`);
    }
    let text;
    try {
      text = await response.text();
    } catch (error) {
      throw new NetworkError(`The connection dropped during the answer (${error?.message ?? error}).`);
    }
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (response.ok) return { status: response.status, body: data, headers: response.headers };
    const error = data?.error ?? {};
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    throw apiError(
      response.status,
      error.code ?? `http_${response.status}`,
      error.message ?? `The server answered HTTP ${response.status}.`,
      { details: Array.isArray(error.details) ? error.details : [], retryAfter },
    );
  }
}

/** The path of a collection's documents, or of one of them. */
export function docsPath(collection, id) {
  const base = `/collections/${encodeURIComponent(collection)}/docs`;
  return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
}

/** `a=1&b=2` of the values that are set. Written out rather than URLSearchParams, which
 * React Native implements only in part. */
export function queryString(values) {
  return Object.entries(values)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join("&");
}
