// The CORS tab of a bucket's drawer: a rule editor (origins, methods, allowed and exposed
// headers, max age, id), the raw XML, deleting the configuration, and a test box asking
// the server which rule the bucket's module matches for an origin, method and headers.
// The server validates every configuration; its errors are shown as it words them.

import * as s3 from "/assets/s3.js";
import { api } from "/assets/api.js";
import { el, shown, button, field, clear, errorBox, notify, confirmDialog, newId, fill } from "/assets/ui.js";

const METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/** Lines of a textarea, trimmed, empty ones dropped. */
function lines(textarea) {
  return textarea.value.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** A rule as a fieldset of inputs; `box.read()` gives the rule back. */
function ruleEditor(rule, n, onRemove) {
  const legendId = newId("rule");
  const id = el("input", { value: rule.id || "", spellcheck: false });
  const origins = el("textarea", { rows: 2, value: rule.origins.join("\n"), spellcheck: false });
  const methods = METHODS.map((m) => el("input", { type: "checkbox", value: m, checked: rule.methods.includes(m), id: newId("m") }));
  const allowed = el("textarea", { rows: 2, value: rule.allowedHeaders.join("\n"), spellcheck: false });
  const expose = el("textarea", { rows: 2, value: rule.exposeHeaders.join("\n"), spellcheck: false });
  const maxAge = el("input", { type: "number", min: 0, value: rule.maxAge || "", inputMode: "numeric" });
  const box = el("fieldset", { class: "rule", attrs: { "aria-labelledby": legendId } },
    el("legend", { id: legendId, text: `Rule ${n}` }),
    field("Rule ID", id),
    field("Allowed origins", origins, "One per line; one * wildcard each (https://*.example.com)."),
    el("fieldset", { class: "methods" }, el("legend", { text: "Allowed methods" }),
      methods.map((m) => el("label", { class: "check", htmlFor: m.id }, m, " " + m.value))),
    field("Allowed headers", allowed, "Request headers a preflight may ask for, one per line (* allowed)."),
    field("Expose headers", expose, "Response headers the page may read, one per line."),
    field("Max age (seconds)", maxAge),
    button("Remove rule", () => { box.remove(); onRemove(); }, { class: "small", aria: `Remove rule ${n}` }));
  box.read = () => ({
    id: id.value.trim(), origins: lines(origins), methods: methods.filter((m) => m.checked).map((m) => m.value),
    allowedHeaders: lines(allowed), exposeHeaders: lines(expose), maxAge: maxAge.value.trim(),
  });
  return box;
}

/** The test box: which rule allows `origin` to send `method` with `headers`. */
function testBox(bucket) {
  const origin = el("input", { value: window.location.origin, spellcheck: false });
  const method = el("select", {}, METHODS.map((m) => el("option", { value: m, text: m })));
  const headers = el("input", { spellcheck: false, placeholder: "x-amz-meta-a, content-type" });
  const result = el("div", { class: "cors-result", attrs: { "aria-live": "polite" } });
  const run = button("Test", async () => {
    clear(result);
    try {
      const r = await api("POST", "/api/cors-test", {
        bucket, origin: origin.value.trim(), method: method.value,
        headers: headers.value.split(",").map((s) => s.trim()).filter(Boolean),
      });
      const verdict = r.allowed
        ? `Allowed by rule ${Number(r.rule_index) + 1}` + (r.rule_id ? ` (ID ${r.rule_id})` : "")
        : "Not allowed: no rule matches";
      result.append(el("p", { class: r.allowed ? "ok" : "denied" }, shown(verdict)));
      const hs = Object.entries(r.headers || {});
      if (hs.length) {
        result.append(el("dl", { class: "headers" }, hs.flatMap(([k, v]) => [el("dt", {}, shown(k)), el("dd", {}, shown(v))])));
      }
    } catch (e) { result.append(errorBox(e)); }
  });
  return el("section", { class: "cors-test", attrs: { "aria-label": "Test CORS" } },
    el("h3", { text: "Test a request" }),
    field("Origin", origin), field("Method", method), field("Request headers", headers, "Comma-separated."),
    run, result);
}

/** Renders the CORS tab of `bucket` into `panel`. */
export async function corsTab(panel, bucket) {
  fill(panel, el("p", { class: "loading", text: "Loading CORS…" }));
  let cors;
  try {
    cors = await s3.getCors(bucket);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const rulesBox = el("div", { class: "rules" });
  const renumber = () => {
    Array.from(rulesBox.children).forEach((r, i) => { r.querySelector("legend").textContent = `Rule ${i + 1}`; });
  };
  const addRule = (r) => rulesBox.append(ruleEditor(r, rulesBox.children.length + 1, renumber));
  for (const r of cors ? cors.rules : []) addRule(r);
  const reload = () => corsTab(panel, bucket);
  const save = async (xml) => {
    clear(out);
    try {
      await s3.putCors(bucket, xml);
      notify(`CORS configuration of ${bucket} saved`);
      await reload();
    } catch (e) { out.append(errorBox(e)); }
  };
  const raw = el("textarea", { rows: 10, value: cors ? cors.xml : "", spellcheck: false, class: "code" });
  fill(panel, 
    el("p", { class: "hint", text: "CORS rules apply to every object of the bucket; the first rule that matches a request decides." }),
    cors ? null : el("p", { class: "empty", text: "This bucket has no CORS configuration." }),
    rulesBox,
    el("div", { class: "row" },
      button("Add rule", () => addRule({ id: "", origins: [], methods: ["GET"], allowedHeaders: [], exposeHeaders: [], maxAge: "" })),
      button("Save CORS", () => save(s3.renderCors(Array.from(rulesBox.children).map((b) => b.read()))), { class: "primary" }),
      cors ? button("Delete configuration", async () => {
        if (!(await confirmDialog("Delete the CORS configuration?", `Pages on other origins will no longer reach ${bucket}.`))) return;
        clear(out);
        try { await s3.deleteCors(bucket); notify(`CORS configuration of ${bucket} deleted`); await reload(); } catch (e) { out.append(errorBox(e)); }
      }, { class: "danger" }) : null),
    out,
    el("details", { class: "raw" }, el("summary", { text: "XML" }),
      field("CORS configuration XML", raw),
      button("Save XML", () => save(raw.value), { class: "primary" })),
    testBox(bucket));
}
