// An object's Object Lock state: its retention and legal hold (from HEAD), and, in a
// bucket with Object Lock, the forms that change them.

import * as s3 from "/assets/s3.js";
import { el, button, field, errorBox, notify, when, fill, clear } from "/assets/ui.js";

/** The Lock tab of an object (its current version). */
export async function lockTab(panel, bucket, key) {
  fill(panel, el("p", { class: "loading", text: "Loading Object Lock…" }));
  let head, config;
  try {
    [head, config] = await Promise.all([s3.headObject(bucket, key), s3.getLockConfig(bucket)]);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  if (!head) {
    fill(panel, errorBox({ code: "NoSuchKey", message: "The object no longer exists." }));
    return;
  }
  const h = head.headers;
  const version = h.get("x-amz-version-id") || undefined;
  const mode = h.get("x-amz-object-lock-mode");
  const until = h.get("x-amz-object-lock-retain-until-date");
  const held = h.get("x-amz-object-lock-legal-hold") === "ON";
  const state = el("dl", { class: "details lock" },
    el("dt", { text: "Retention" }),
    el("dd", { class: "retention-state", text: mode ? `${mode} until ${when(until) || until}` : "none" }),
    el("dt", { text: "Legal hold" }),
    el("dd", { class: "legal-hold-state", text: held ? "on" : "off" }));
  if (!config) {
    fill(panel, state, el("p", { class: "hint", text: "This bucket has no Object Lock: its versions can always be deleted." }));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const modeSelect = el("select", {}, ["GOVERNANCE", "COMPLIANCE"].map((m) => el("option", { value: m, text: m, selected: m === mode })));
  const date = el("input", { type: "datetime-local" });
  const bypass = el("input", { type: "checkbox" });
  const reload = () => lockTab(panel, bucket, key);
  fill(panel,
    state,
    el("h3", { text: "Legal hold" }),
    button(held ? "Remove legal hold" : "Place legal hold", async () => {
      clear(out);
      try { await s3.putLegalHold(bucket, key, version, !held); notify(`Legal hold of ${key} ${held ? "removed" : "placed"}`); await reload(); } catch (e) { out.append(errorBox(e)); }
    }),
    el("h3", { text: "Retention" }),
    field("Mode", modeSelect),
    field("Retain until", date, "A retention can always be extended; only GOVERNANCE, with the bypass, can be shortened or removed."),
    el("label", { class: "check" }, bypass, " Bypass GOVERNANCE retention"),
    el("div", { class: "row" }, button("Save retention", async () => {
      clear(out);
      if (!date.value) { out.append(errorBox(new Error("Choose a date"))); return; }
      try {
        await s3.putRetention(bucket, key, version, modeSelect.value, new Date(date.value).toISOString(), bypass.checked);
        notify(`Retention of ${key} saved`);
        await reload();
      } catch (e) { out.append(errorBox(e)); }
    }, { class: "primary" })),
    out);
}
