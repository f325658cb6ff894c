// Tags of a bucket or of an object: a table of key/value rows, saved as a whole.

import * as s3 from "/assets/s3.js";
import { el, button, errorBox, notify, fill, clear } from "/assets/ui.js";

function tagRow(key, value) {
  const k = el("input", { value: key, spellcheck: false, attrs: { "aria-label": "Tag key" } });
  const v = el("input", { value, spellcheck: false, attrs: { "aria-label": "Tag value" } });
  const row = el("tr", { class: "tag-row" },
    el("td", {}, k), el("td", {}, v),
    el("td", {}, button("Remove", () => row.remove(), { class: "small", aria: "Remove tag" })));
  row.read = () => ({ key: k.value.trim(), value: v.value });
  return row;
}

/** The Tags tab of a bucket (`key` empty) or an object. */
export async function tagsTab(panel, bucket, key) {
  fill(panel, el("p", { class: "loading", text: "Loading tags…" }));
  let tags;
  try {
    tags = await s3.getTags(bucket, key);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const body = el("tbody", {}, tags.map((t) => tagRow(t.key, t.value)));
  const save = button("Save tags", async () => {
    clear(out);
    const rows = Array.from(body.rows).map((r) => r.read()).filter((t) => t.key);
    try {
      await s3.putTags(bucket, key, rows);
      notify(`Tags of ${key || bucket} saved`);
      await tagsTab(panel, bucket, key);
    } catch (e) { out.append(errorBox(e)); }
  }, { class: "primary" });
  fill(panel,
    el("div", { class: "table-wrap" }, el("table", { class: "tags" },
      el("caption", { class: "visually-hidden", text: "Tags" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Key" }), el("th", { scope: "col", text: "Value" }), el("th", { scope: "col", text: "" }))),
      body)),
    button("Add tag", () => body.append(tagRow("", ""))),
    el("div", { class: "row" }, save),
    el("p", { class: "hint", text: key
      ? "At most 10 tags; keys up to 128 and values up to 256 characters. Tags belong to the current version."
      : "At most 50 tags; keys up to 128 and values up to 256 characters." }),
    out);
}
