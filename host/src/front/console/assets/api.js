// The console's JSON API (`/api/...` beside `/api/s3`): the session, its CSRF token, and
// the calls S3 has no operation for (keys, presigned URLs, the CORS test, policy modules).
//
// Every request but the login carries `X-CSRF-Token`; a 401 `NoSession` anywhere sends
// the browser back to the login page.

let csrfToken = "";

/** Remembers the session's CSRF token (from `GET /api/session`). */
export function setCsrf(token) {
  csrfToken = token || "";
}

/** The CSRF header for requests built elsewhere (XHR uploads, S3 calls). */
export function csrfHeaders() {
  return { "X-CSRF-Token": csrfToken };
}

/** An error answered by the console API: `status`, `code` (`error`), `message`, `body`. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || (body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || `HTTP ${status}`;
    this.body = body || {};
  }
}

/** Goes to the login page (the session is gone). */
export function toLogin() {
  window.location.assign("/login");
}

/**
 * Calls `method path` with an optional JSON `body`; resolves to the parsed JSON answer
 * (null for 204), throws [`ApiError`] otherwise.
 */
export async function api(method, path, body) {
  const headers = { ...csrfHeaders(), Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: `HTTP ${resp.status}`, message: text.slice(0, 200) }; }
  }
  if (!resp.ok) {
    if (resp.status === 401 && data && data.error === "NoSession" && !path.startsWith("/api/login")) toLogin();
    throw new ApiError(resp.status, data);
  }
  return data;
}

/** `GET /api/session` (redirects to the login page without one). */
export function session() {
  return api("GET", "/api/session");
}

/** A presigned URL on the S3 endpoint for `method` on bucket/key (one version of it
 *  with `versionId`). */
export function presign(method, bucket, key, expiresSeconds, download = false, versionId = undefined) {
  return api("POST", "/api/presign", {
    method, bucket, key, expires_seconds: expiresSeconds, download, version_id: versionId,
  });
}
