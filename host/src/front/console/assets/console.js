// The console page's entry point: loads the session (or goes to the login page), wires
// the header (who is logged in, Log out) and routes the URL fragment to a page:
//
//   #/                    the buckets (buckets.js)
//   #/account             the account: identity, keys, client settings (account.js)
//   #/b/BUCKET/PREFIX     the objects of a bucket under PREFIX (objects.js)
//
// Each page module builds its DOM with the helpers of ui.js (text only, never HTML) and
// talks to the server through api.js (console JSON API) and s3.js (S3 requests).

import { api, session as loadSession, setCsrf } from "/assets/api.js";
import { setSession, closeDrawer } from "/assets/drawer.js";
import { bucketsPage } from "/assets/buckets.js";
import { objectsPage } from "/assets/objects.js";
import { accountPage } from "/assets/account.js";
import { el, shown, clear, errorBox, notify, fill } from "/assets/ui.js";

let session = null;

/** Shows the page the fragment names. */
async function route() {
  const main = document.getElementById("main");
  closeDrawer();
  const hash = location.hash || "#/";
  for (const a of document.querySelectorAll("nav a")) {
    const here = (a.id === "nav-account") === hash.startsWith("#/account");
    if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  try {
    if (hash.startsWith("#/account")) {
      document.title = "Account · Coffer console";
      await accountPage(main, session);
    } else if (hash.startsWith("#/b/")) {
      const rest = hash.slice(4);
      const slash = rest.indexOf("/");
      const bucket = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
      const prefix = slash < 0 ? "" : decodeURIComponent(rest.slice(slash + 1));
      document.title = `${bucket} · Coffer console`;
      await objectsPage(main, bucket, prefix);
    } else {
      document.title = "Buckets · Coffer console";
      await bucketsPage(main);
    }
  } catch (e) {
    fill(main, el("h1", { text: "Something went wrong" }), errorBox(e));
  }
}

async function logout() {
  try {
    await api("POST", "/api/logout");
  } catch (e) {
    if (e.status !== 401) { notify(`Logging out failed: ${e.message}`, "error"); return; }
  }
  window.location.assign("/login");
}

async function start() {
  try {
    session = await loadSession();
  } catch (e) {
    if (e.status !== 401) {
      clear(document.getElementById("main")).append(el("h1", { text: "The console is unavailable" }), errorBox(e));
    }
    return;
  }
  setCsrf(session.csrf_token);
  setSession(session);
  const who = document.getElementById("whoami");
  fill(who, shown(session.account.display_name || session.account.name),
    session.admin ? el("span", { class: "badge", text: "admin" }) : null);
  document.getElementById("logout").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
}

start();
