// The bucket's lifecycle rules: a summary of each rule and the configuration as XML.

import * as s3 from "/assets/s3.js";
import { el, shown, button, field, errorBox, notify, confirmDialog, fill, clear } from "/assets/ui.js";

const EXAMPLE = `<LifecycleConfiguration>
  <Rule>
    <ID>expire-logs</ID>
    <Status>Enabled</Status>
    <Filter><Prefix>logs/</Prefix></Filter>
    <Expiration><Days>30</Days></Expiration>
    <NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays></NoncurrentVersionExpiration>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>
  </Rule>
</LifecycleConfiguration>`;

/** The Lifecycle tab of a bucket. */
export async function lifecycleTab(panel, bucket) {
  fill(panel, el("p", { class: "loading", text: "Loading lifecycle rules…" }));
  let xml;
  try {
    xml = await s3.getLifecycle(bucket);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const rules = xml ? s3.lifecycleRules(xml) : [];
  const list = rules.length
    ? el("ul", { class: "rules" }, rules.map((r) => el("li", { class: "rule" },
      el("strong", {}, shown(r.id || "(no id)")), ` (${r.status}): `,
      shown([r.prefix ? `objects under ${r.prefix}` : "all objects", ...r.tags.map((t) => `tagged ${t}`)].join(", ")),
      ": ", shown(r.actions.join("; ") || "no action"))))
    : el("p", { text: "No lifecycle rules." });
  const text = el("textarea", { rows: 14, class: "code", spellcheck: false, value: xml || EXAMPLE });
  fill(panel,
    list,
    field("Lifecycle configuration (XML)", text),
    el("div", { class: "row" },
      button("Save rules", async () => {
        clear(out);
        try {
          await s3.putLifecycle(bucket, text.value);
          notify(`Lifecycle rules of ${bucket} saved`);
          await lifecycleTab(panel, bucket);
        } catch (e) { out.append(errorBox(e)); }
      }, { class: "primary" }),
      xml ? button("Delete rules", async () => {
        if (!await confirmDialog("Delete the lifecycle rules?", `${bucket} keeps its objects; nothing expires any more.`)) return;
        clear(out);
        try {
          await s3.deleteLifecycle(bucket);
          notify(`Lifecycle rules of ${bucket} deleted`);
          await lifecycleTab(panel, bucket);
        } catch (e) { out.append(errorBox(e)); }
      }, { class: "danger" }) : null),
    out);
}
