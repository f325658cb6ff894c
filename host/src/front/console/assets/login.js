// The login page: posts the access key and secret as JSON to `/api/login` and, on
// success, opens the console. Errors (wrong secret, too many attempts) are shown as text.

const form = document.getElementById("login");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const resp = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({
        access_key: form.elements.access_key.value.trim(),
        secret_key: form.elements.secret_key.value,
      }),
    });
    if (resp.ok) {
      window.location.assign("/");
      return;
    }
    let body = {};
    try { body = await resp.json(); } catch { /* not JSON */ }
    if (resp.status === 429) {
      // The server's message says how long to wait; `retry_after_seconds` if it has none.
      const wait = body.retry_after_seconds ? ` Try again in ${body.retry_after_seconds} s.` : "";
      error.textContent = body.message || `Too many attempts.${wait}`;
    } else if (resp.status === 401) {
      error.textContent = body.message || "Wrong access key or secret key.";
    } else {
      error.textContent = body.message || body.error || `Login failed (HTTP ${resp.status}).`;
    }
    form.elements.secret_key.select();
  } catch (e) {
    error.textContent = `Login failed: ${e.message}`;
  } finally {
    button.disabled = false;
  }
});
