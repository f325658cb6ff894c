// The drawer: a side panel with tabs that edits one bucket (Details, ACL, CORS, Access:
// bucket policy, Block Public Access, Object Ownership and the "Why?" box, Metadata,
// Versioning, Tags, Lifecycle, and Policy for administrators) or one object (Details, ACL,
// Metadata, Versions, Tags, Lock). Tabs follow the
// WAI-ARIA tabs pattern (role=tab / tabpanel, arrow keys move between tabs).

import * as s3 from "/assets/s3.js";
import { api, presign } from "/assets/api.js";
import { aclTab } from "/assets/acl.js";
import { corsTab } from "/assets/cors.js";
import { accessTab } from "/assets/access.js";
import { versioningTab, versionsTab } from "/assets/versions.js";
import { tagsTab } from "/assets/tags.js";
import { lifecycleTab } from "/assets/lifecycle.js";
import { lockTab } from "/assets/lock.js";
import { el, shown, button, field, clear, errorBox, notify, copyable, size, when, newId, fill } from "/assets/ui.js";

/** The session (set by console.js): endpoint, vhost domains, admin flag. */
let session = null;
/** Remembers the session for URLs and admin-only tabs. */
export function setSession(s) { session = s; }

/** The path-style URL of a bucket or an object on the S3 endpoint. */
export function pathUrl(bucket, key = "") {
  return `${session.s3_endpoint.replace(/\/$/, "")}/${bucket}/${key ? s3.encodeKey(key) : ""}`;
}

/** Virtual-host-style URLs (one per configured domain; none without `--domain`). */
export function vhostUrls(bucket, key = "") {
  const ep = new URL(session.s3_endpoint);
  return (session.vhost_domains || []).map((d) =>
    `${ep.protocol}//${bucket}.${d}${ep.port ? ":" + ep.port : ""}/${key ? s3.encodeKey(key) : ""}`);
}

/** The URL blocks of a bucket or object (path style, then virtual-host style). */
function urlBlocks(bucket, key) {
  return [copyable("Path-style URL", pathUrl(bucket, key)),
    ...vhostUrls(bucket, key).map((u) => copyable("Virtual-host URL", u))];
}

const drawer = () => document.getElementById("drawer");
let returnFocus = null;

/** Closes the drawer and gives the focus back to what opened it. */
export function closeDrawer() {
  const d = drawer();
  d.hidden = true;
  clear(d);
  document.body.classList.remove("drawer-open");
  if (returnFocus && returnFocus.isConnected) returnFocus.focus();
}

/**
 * Opens the drawer titled `title` with `tabs` ([{name, render(panel)}]); the first tab
 * (or the one named `initial`) is shown.
 */
function openDrawer(title, label, tabs, initial) {
  const d = drawer();
  returnFocus = document.activeElement;
  clear(d);
  const titleId = newId("drawer");
  d.setAttribute("aria-labelledby", titleId);
  const list = el("div", { class: "tabs", attrs: { role: "tablist", "aria-label": `${label} settings` } });
  const panels = el("div", { class: "panels" });
  const tabButtons = [];
  const select = (i, focus) => {
    tabButtons.forEach((b, j) => {
      b.setAttribute("aria-selected", String(i === j));
      b.tabIndex = i === j ? 0 : -1;
      b.panel.hidden = i !== j;
    });
    if (focus) tabButtons[i].focus();
    if (!tabButtons[i].loaded) { tabButtons[i].loaded = true; tabs[i].render(tabButtons[i].panel); }
  };
  tabs.forEach((t, i) => {
    const tabId = newId("tab");
    const panel = el("section", { id: newId("panel"), class: "panel", hidden: true, attrs: { role: "tabpanel", "aria-labelledby": tabId, tabindex: "0" } });
    const b = el("button", {
      type: "button", id: tabId, text: t.name, class: "tab",
      attrs: { role: "tab", "aria-controls": panel.id, "aria-selected": "false" },
      on: {
        click: () => select(i, false),
        keydown: (e) => {
          const n = tabs.length;
          if (e.key === "ArrowRight") select((i + 1) % n, true);
          else if (e.key === "ArrowLeft") select((i + n - 1) % n, true);
          else return;
          e.preventDefault();
        },
      },
    });
    b.panel = panel;
    tabButtons.push(b);
    list.append(b);
    panels.append(panel);
  });
  d.append(
    el("div", { class: "drawer-head" },
      el("h2", { id: titleId }, shown(title)),
      button("Close", closeDrawer, { class: "small", aria: "Close drawer" })),
    list, panels);
  d.hidden = false;
  document.body.classList.add("drawer-open");
  const first = Math.max(0, tabs.findIndex((t) => t.name === initial));
  select(first, false);
  tabButtons[first].focus();
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !drawer().hidden && !document.querySelector("dialog[open]")) closeDrawer();
});

// ---- Bucket drawer -----------------------------------------------------------------

/** Opens the drawer of `bucket`; `onChange` refreshes the page after a change. */
export function openBucket(bucket, onChange, initial) {
  const tabs = [
    { name: "Details", render: (p) => bucketDetails(p, bucket) },
    { name: "ACL", render: (p) => aclTab(p, { bucket, onChange }) },
    { name: "CORS", render: (p) => corsTab(p, bucket) },
    { name: "Access", render: (p) => accessTab(p, bucket) },
    { name: "Metadata", render: (p) => metadataRulesTab(p, bucket) },
    { name: "Versioning", render: (p) => versioningTab(p, bucket) },
    { name: "Tags", render: (p) => tagsTab(p, bucket, "") },
    { name: "Lifecycle", render: (p) => lifecycleTab(p, bucket) },
  ];
  if (session.admin) tabs.push({ name: "Policy", render: (p) => policyTab(p, bucket) });
  openDrawer(bucket, `Bucket ${bucket}`, tabs, initial);
}

async function bucketDetails(panel, bucket) {
  fill(panel, el("h3", { text: "URLs" }), ...urlBlocks(bucket, ""));
  const policy = el("p", { class: "loading", text: "Loading policy module…" });
  panel.append(el("h3", { text: "Policy module" }), policy);
  try {
    const p = await api("GET", `/api/buckets/${encodeURIComponent(bucket)}/policy`);
    clear(policy).className = "";
    policy.append(p.module ? shown(p.module) : "none (S3's standard rules)");
  } catch (e) {
    policy.replaceWith(errorBox(e));
  }
}

/** The bucket's metadata rules: the configuration of the `default` module (JSON). */
async function metadataRulesTab(panel, bucket) {
  fill(panel, el("p", { class: "loading", text: "Loading metadata rules…" }));
  let p;
  try {
    p = await api("GET", `/api/buckets/${encodeURIComponent(bucket)}/policy`);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  if (p.module && p.module !== "default") {
    fill(panel, el("p", {}, "This bucket's policy module is ", el("code", {}, shown(p.module)),
      ": its metadata rules, if any, are that module's own configuration (see the Policy tab)."));
    return;
  }
  const config = p.config === undefined || p.config === null ? { metadata: [] } : p.config;
  const text = el("textarea", {
    rows: 14, class: "code", spellcheck: false, readOnly: !p.can_edit,
    value: typeof config === "string" ? config : JSON.stringify(config, null, 2),
  });
  const save = p.can_edit ? button("Save rules", async () => {
    clear(out);
    let parsed;
    try { parsed = JSON.parse(text.value); } catch (e) { out.append(errorBox(new Error(`Not JSON: ${e.message}`))); return; }
    try {
      await api("PUT", `/api/buckets/${encodeURIComponent(bucket)}/policy`, { module: "default", config: parsed });
      notify(`Metadata rules of ${bucket} saved`);
    } catch (e) { out.append(errorBox(e)); }
  }, { class: "primary" }) : null;
  fill(panel, 
    el("p", { class: "hint", text: "Rules for the x-amz-meta-* metadata of new objects, as JSON: " +
      "{\"metadata\": [{\"prefix\", \"schema\" (required, properties with pattern/enum/maxLength…, additionalProperties), \"content_types\"}]}. " +
      "The rule with the longest matching prefix applies." }),
    field("Metadata rules (JSON)", text),
    p.can_edit ? save : el("p", { class: "hint", text: "Only an administrator can change these rules." }),
    out);
}

/** Administrators: attach, configure or detach the bucket's policy module. */
async function policyTab(panel, bucket) {
  fill(panel, el("p", { class: "loading", text: "Loading…" }));
  let current, modules;
  try {
    [current, modules] = await Promise.all([
      api("GET", `/api/buckets/${encodeURIComponent(bucket)}/policy`),
      api("GET", "/api/policies"),
    ]);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const names = (modules.policies || []).map((m) => m.name);
  if (!names.includes("default")) names.unshift("default");
  const module = el("select", {}, names.map((n) => el("option", { value: n, text: n, selected: n === current.module })));
  const config = el("textarea", {
    rows: 10, class: "code", spellcheck: false,
    value: current.config === undefined || current.config === null ? "" : JSON.stringify(current.config, null, 2),
  });
  const url = `/api/buckets/${encodeURIComponent(bucket)}/policy`;
  fill(panel, 
    el("p", {}, "Attached: ", current.module ? el("code", {}, shown(current.module)) : "none"),
    field("Policy module", module),
    field("Configuration (JSON, optional)", config),
    el("div", { class: "row" },
      button("Attach", async () => {
        clear(out);
        let cfg = null;
        if (config.value.trim()) {
          try { cfg = JSON.parse(config.value); } catch (e) { out.append(errorBox(new Error(`Not JSON: ${e.message}`))); return; }
        }
        try { await api("PUT", url, { module: module.value, config: cfg }); notify(`${module.value} attached to ${bucket}`); await policyTab(panel, bucket); } catch (e) { out.append(errorBox(e)); }
      }, { class: "primary" }),
      current.module ? button("Detach", async () => {
        clear(out);
        try { await api("DELETE", url); notify(`Policy module detached from ${bucket}`); await policyTab(panel, bucket); } catch (e) { out.append(errorBox(e)); }
      }, { class: "danger" }) : null),
    out);
}

// ---- Object drawer -----------------------------------------------------------------

/** Standard HTTP metadata that CopyObject's REPLACE sets, with their header names. */
const HTTP_FIELDS = ["Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"];

/** Share-link lifetimes offered (seconds); S3 allows at most 7 days. */
const EXPIRIES = [[3600, "1 hour"], [86400, "1 day"], [3 * 86400, "3 days"], [604800, "7 days"]];

/** Opens the drawer of `bucket`/`key`. */
export function openObject(bucket, key, onChange, initial) {
  openDrawer(key, `Object ${key}`, [
    { name: "Details", render: (p) => objectDetails(p, bucket, key) },
    { name: "ACL", render: (p) => aclTab(p, { bucket, key, publicUrl: pathUrl(bucket, key), onChange }) },
    { name: "Metadata", render: (p) => objectMetadata(p, bucket, key, onChange) },
    { name: "Versions", render: (p) => versionsTab(p, bucket, key, onChange) },
    { name: "Tags", render: (p) => tagsTab(p, bucket, key) },
    { name: "Lock", render: (p) => lockTab(p, bucket, key) },
  ], initial);
}

/** Downloads an object: a presigned GET (5 minutes, attachment) opened by the browser. */
export async function download(bucket, key) {
  try {
    const { url } = await presign("GET", bucket, key, 300, true);
    const a = el("a", { href: url, class: "hidden-link", attrs: { download: "" } });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    notify(`Download of ${key} failed: ${e.code || ""} ${e.message}`, "error");
  }
}

/** HEADs the object for a tab, showing `loading` meanwhile; null (the reason shown in
 *  `panel`) when it fails or the object is gone. */
async function loadHead(panel, bucket, key, loading) {
  fill(panel, el("p", { class: "loading", text: loading }));
  try {
    const head = await s3.headObject(bucket, key);
    if (!head) fill(panel, errorBox({ code: "NoSuchKey", message: "The object no longer exists." }));
    return head;
  } catch (e) {
    fill(panel, errorBox(e));
    return null;
  }
}

async function objectDetails(panel, bucket, key) {
  const head = await loadHead(panel, bucket, key, "Loading…");
  if (!head) return;
  const h = head.headers;
  const rows = [
    ["Key", key], ["Size", `${size(h.get("content-length"))} (${h.get("content-length")} bytes)`],
    ["Type", h.get("content-type") || ""], ["ETag", h.get("etag") || ""],
    ["Last modified", when(h.get("last-modified")) || h.get("last-modified") || ""],
  ];
  const expiry = el("select", {}, EXPIRIES.map(([s, label]) => el("option", { value: s, text: label })));
  const shareOut = el("div", { class: "share-out" });
  const share = button("Create share link", async () => {
    clear(shareOut);
    try {
      const r = await presign("GET", bucket, key, Number(expiry.value), false);
      const input = el("input", { value: r.url, readOnly: true, class: "code share-url", attrs: { "aria-label": "Share link" } });
      shareOut.append(input, copyableButton(r.url), el("p", { class: "hint", text: `Valid until ${when(r.expires_at) || r.expires_at}.` }));
      input.select();
    } catch (e) { shareOut.append(errorBox(e)); }
  }, { class: "primary" });
  fill(panel, 
    el("dl", { class: "details" }, rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, shown(v))])),
    button("Download", () => download(bucket, key), { aria: `Download ${key}` }),
    el("h3", { text: "URLs" }), ...urlBlocks(bucket, key),
    el("p", { class: "hint", text: "These URLs work without a signature only when the object's ACL lets everyone read it." }),
    el("h3", { text: "Share link" }),
    el("div", { class: "row" }, field("Link expires after", expiry), share),
    shareOut);
}

function copyableButton(value) {
  const b = button("Copy", async () => {
    try { await navigator.clipboard.writeText(value); b.textContent = "Copied"; } catch { b.textContent = "Copy failed"; }
  }, { class: "small", aria: "Copy share link" });
  return b;
}

/** One user-metadata row (name without `x-amz-meta-`, value). */
function metaRow(name, value) {
  const n = el("input", { value: name, spellcheck: false, attrs: { "aria-label": "Metadata name" } });
  const v = el("input", { value, spellcheck: false, attrs: { "aria-label": "Metadata value" } });
  const row = el("tr", { class: "meta-row" },
    el("td", {}, el("span", { class: "prefix", text: "x-amz-meta-" }), n),
    el("td", {}, v),
    el("td", {}, button("Remove", () => row.remove(), { class: "small", aria: "Remove metadata" })));
  row.read = () => [n.value.trim().toLowerCase(), v.value];
  return row;
}

async function objectMetadata(panel, bucket, key, onChange) {
  const head = await loadHead(panel, bucket, key, "Loading metadata…");
  if (!head) return;
  const out = el("div", { class: "tab-errors" });
  const body = el("tbody");
  for (const [k, v] of head.headers) {
    if (k.startsWith("x-amz-meta-")) body.append(metaRow(k.slice("x-amz-meta-".length), v));
  }
  const inputs = HTTP_FIELDS.map((name) => {
    const input = el("input", { value: head.headers.get(name) || "", spellcheck: false, name });
    return [name, input];
  });
  const save = button("Save metadata", async () => {
    clear(out);
    const headers = {};
    for (const row of Array.from(body.rows)) {
      const [n, v] = row.read();
      if (!n) continue;
      if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n)) { out.append(errorBox(new Error(`Not a valid metadata name: ${n}`))); return; }
      headers[`x-amz-meta-${n}`] = v;
    }
    for (const [name, input] of inputs) if (input.value.trim()) headers[name] = input.value.trim();
    try {
      await s3.replaceMetadata(bucket, key, headers);
      notify(`Metadata of ${key} saved`);
      if (onChange) onChange();
      await objectMetadata(panel, bucket, key, onChange);
    } catch (e) { out.append(errorBox(e)); }
  }, { class: "primary" });
  fill(panel, 
    el("h3", { text: "User metadata" }),
    el("div", { class: "table-wrap" }, el("table", { class: "meta" },
      el("caption", { class: "visually-hidden", text: "User metadata" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Name" }), el("th", { scope: "col", text: "Value" }), el("th", { scope: "col", text: "" }))),
      body)),
    button("Add metadata", () => body.append(metaRow("", ""))),
    el("h3", { text: "HTTP headers" }),
    ...inputs.map(([name, input]) => field(name, input)),
    el("div", { class: "row" }, save),
    el("p", { class: "hint", text: "Saving copies the object onto itself with the new metadata (S3 has no other way); its ACL is read first and put back unchanged." }),
    out);
}
