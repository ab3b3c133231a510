// Calls to /api/v1 with the bearer token.
// The token lives in sessionStorage (this tab, until it closes or signs out): never
// in a URL, a cookie or the page. Every call sends it as `Authorization: Bearer`, so
// there is no ambient credential a foreign site could ride on (no CSRF).

const KEY = "facio.console.token";
const PREFIX = "/api/v1";
const listeners = new Set();

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  sessionStorage.setItem(KEY, value);
}

export function signOut(reason = "") {
  sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(reason);
}

/** Called with a reason when the token goes (signed out, or refused by the gateway). */
export function onSignOut(listener) {
  listeners.add(listener);
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || "HTTP " + status);
    this.status = status;
    this.body = body || {};
  }
}

export function headers(extra = {}) {
  return { Authorization: "Bearer " + (token() || ""), ...extra };
}

/** Call the API; resolves to the JSON body (null for 204), throws ApiError otherwise. */
export async function api(path, { method = "GET", body, signal, expect = [] } = {}) {
  const init = { method, headers: headers(), signal, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(PREFIX + path, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) {
    signOut("The gateway refused the token; sign in again.");
    throw new ApiError(401, data);
  }
  if (!response.ok && !expect.includes(response.status)) throw new ApiError(response.status, data);
  return data;
}

export function path(...parts) {
  return parts.map((part) => "/" + encodeURIComponent(part)).join("");
}

export { PREFIX };
