// Safe DOM helpers for the console.
//
// Every piece of text that comes from the server (keys, metadata, CORS rule ids, display
// names, error messages) reaches the page through these helpers, which only ever create
// elements and text nodes: nothing here parses HTML, so a key named
// `<img src=x onerror=alert(1)>` is shown as those characters and nothing runs.

/** Control and bidirectional-override characters: shown as visible markers, never raw. */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Creates an element. `props` may hold `class`, `text` (textContent), `attrs` (set with
 * setAttribute), `on` ({event: handler}) and any writable DOM property (`type`, `value`,
 * `checked`, `disabled`, `id`, `htmlFor`...). Children are nodes or strings (text nodes).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "attrs") {
      for (const [a, v] of Object.entries(value)) if (v !== undefined && v !== null) node.setAttribute(a, v);
    } else if (name === "on") {
      for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    } else if (name === "innerHTML" || name === "outerHTML") {
      throw new Error("el(): HTML strings are not accepted");
    } else node[name] = value;
  }
  append(node, ...children);
  return node;
}

/** Appends nodes or strings (as text) to `parent`; skips null/false. */
export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return parent;
}

/** Replaces the children of `node` with `children` (as [`append`] takes them). */
export function fill(node, ...children) {
  return append(clear(node), ...children);
}

/** Removes every child of `node` (and returns it). */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/**
 * Untrusted text as a fragment in which control and bidi characters are replaced by a
 * visible marker (`<span class="ctl" title="U+202E">⟨U+202E⟩</span>`), so a key cannot
 * pretend to be another (`exe.txt` spelled backwards with U+202E, a newline in a name...).
 */
export function shown(text) {
  const frag = document.createDocumentFragment();
  const s = String(text ?? "");
  let last = 0;
  for (const m of s.matchAll(HIDDEN)) {
    if (m.index > last) frag.append(document.createTextNode(s.slice(last, m.index)));
    const code = "U+" + m[0].codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    frag.append(el("span", { class: "ctl", text: "\u27e8" + code + "\u27e9", title: code }));
    last = m.index + m[0].length;
  }
  if (last < s.length) frag.append(document.createTextNode(s.slice(last)));
  return frag;
}

/** Whether `text` holds characters that [`shown`] marks. */
export function hasHidden(text) {
  return new RegExp(HIDDEN.source).test(String(text ?? ""));
}

/** A human size: 1536 → "1.5 KiB". */
export function size(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + " " + units[i];
}

/** A date as local "YYYY-MM-DD HH:MM" (empty when unparseable). */
export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

let uid = 0;
/** A fresh element id with `prefix`. */
export function newId(prefix = "c") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled input: `<div class="field"><label for>Label</label><input id></div>`. */
export function field(label, input, hint) {
  input.id ||= newId("f");
  const wrap = el("div", { class: "field" }, el("label", { htmlFor: input.id, text: label }), input);
  if (hint) {
    const h = el("p", { class: "hint", id: newId("h") }, hint);
    input.setAttribute("aria-describedby", h.id);
    wrap.append(h);
  }
  return wrap;
}

/**
 * A button; `label` is its text, `opts.aria` its accessible name when different. While
 * the promise `onClick` returns is pending, the button is `aria-busy` and further clicks
 * are ignored (no double submissions while the server works).
 */
export function button(label, onClick, opts = {}) {
  const click = async (event) => {
    const b = event.currentTarget;
    if (b.getAttribute("aria-busy") === "true") return;
    const result = onClick(event);
    if (!result || typeof result.then !== "function") return;
    b.setAttribute("aria-busy", "true");
    try {
      await result;
    } finally {
      b.removeAttribute("aria-busy");
    }
  };
  return el("button", {
    type: opts.type || "button",
    class: opts.class,
    text: label,
    disabled: opts.disabled,
    attrs: { "aria-label": opts.aria, title: opts.title },
    on: onClick ? { click } : undefined,
  });
}

/** A "Copy" button copying `text()` (or `text`) to the clipboard; `what` names it. */
export function copyButton(text, what) {
  const b = button("Copy", async () => {
    const value = typeof text === "function" ? text() : text;
    try {
      await navigator.clipboard.writeText(value);
      b.textContent = "Copied";
    } catch {
      b.textContent = "Copy failed";
    }
    setTimeout(() => { b.textContent = "Copy"; }, 1500);
  }, { class: "small", aria: `Copy ${what}` });
  return b;
}

/**
 * A read-only value with a copy button (an id, a URL...): an `<output>` (a labelable
 * element) so the label names it.
 */
export function copyable(label, value) {
  const id = newId("v");
  return el("div", { class: "copyable" },
    el("label", { class: "label", htmlFor: id, text: label }),
    el("output", { class: "value code", id }, shown(value)),
    copyButton(value, label));
}

/** Notifications shown at once per region. */
const MAX_NOTES = 3;

/** Shows a message in the page's live region (`kind`: "info" or "error"). */
export function notify(message, kind = "info") {
  const region = document.getElementById(kind === "error" ? "alerts" : "status");
  if (!region) return;
  const item = el("div", { class: `note ${kind}` }, el("span", { class: "note-text" }, shown(message)));
  const close = button("\u00d7", () => item.remove(), { class: "small plain", aria: "Dismiss" });
  item.append(close);
  region.append(item);
  // The newest few only: older ones would cover the page on a phone.
  while (region.children.length > MAX_NOTES) region.firstElementChild.remove();
  if (kind !== "error") setTimeout(() => item.remove(), 5000);
}

/** The error text of anything thrown by the API helpers: "Code: message". */
export function errorText(e) {
  if (e && e.code) return e.message ? `${e.code}: ${e.message}` : e.code;
  return String(e && e.message ? e.message : e);
}

/** An inline error box (role=alert) showing `e` verbatim; returns it. */
export function errorBox(e) {
  return el("p", { class: "error", attrs: { role: "alert" } }, shown(errorText(e)));
}

/**
 * An in-page modal dialog (never `window.confirm`). `body` is a node or string; `actions`
 * is a list of {label, value, class}; resolves to the chosen value (null when dismissed).
 */
export function dialog(title, body, actions) {
  return new Promise((resolve) => {
    const titleId = newId("dlg");
    const d = el("dialog", { class: "modal", attrs: { "aria-labelledby": titleId } });
    const done = (value) => { d.close(); d.remove(); resolve(value); };
    const row = el("div", { class: "actions" });
    for (const a of actions) row.append(button(a.label, () => done(a.value), { class: a.class }));
    append(d, el("h2", { id: titleId, text: title }), el("div", { class: "dialog-body" }, body), row);
    d.addEventListener("cancel", (e) => { e.preventDefault(); done(null); });
    document.body.append(d);
    d.showModal();
    const first = row.querySelector("button");
    if (first) first.focus();
  });
}

/** A yes/no confirmation dialog; resolves true when `yes` was chosen. */
export async function confirmDialog(title, body, yes = "Delete", danger = true) {
  const v = await dialog(title, body, [
    { label: "Cancel", value: false },
    { label: yes, value: true, class: danger ? "danger" : "primary" },
  ]);
  return v === true;
}
