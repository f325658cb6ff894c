// Versions: the bucket's versioning switch (and its Object Lock state), and one object's
// versions with download, restore (copy onto the key) and delete.

import * as s3 from "/assets/s3.js";
import { presign } from "/assets/api.js";
import { el, shown, button, errorBox, notify, confirmDialog, size, when, fill, clear } from "/assets/ui.js";

/** The bucket's Versioning tab: state, Enable/Suspend, and Object Lock's state. */
export async function versioningTab(panel, bucket) {
  fill(panel, el("p", { class: "loading", text: "Loading versioning…" }));
  let status, lock;
  try {
    [status, lock] = await Promise.all([s3.getVersioning(bucket), s3.getLockConfig(bucket)]);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const set = (to) => async () => {
    clear(out);
    try {
      await s3.putVersioning(bucket, to);
      notify(`Versioning of ${bucket}: ${to}`);
      await versioningTab(panel, bucket);
    } catch (e) { out.append(errorBox(e)); }
  };
  const state = status || "Never enabled";
  const lockText = !lock ? "Off"
    : lock.mode ? `On; new versions are retained in ${lock.mode} mode for ${lock.days ? `${lock.days} days` : `${lock.years} years`}`
      : "On; no default retention";
  const deleted = status ? await deletedObjects(bucket, out, () => versioningTab(panel, bucket)) : null;
  fill(panel,
    el("dl", { class: "details versioning" },
      el("dt", { text: "Versioning" }), el("dd", { class: "versioning-state", text: state }),
      el("dt", { text: "Object Lock" }), el("dd", { class: "lock-state", text: lockText })),
    el("p", { class: "hint", text: "With versioning, every write keeps the previous version and a delete only adds a delete marker. A bucket cannot go back to never versioned; Object Lock keeps versioning on." }),
    el("div", { class: "row" },
      status !== "Enabled" ? button("Enable versioning", set("Enabled"), { class: "primary" }) : null,
      status === "Enabled" && !lock ? button("Suspend versioning", set("Suspended")) : null),
    deleted,
    out);
}

/**
 * The keys whose current version is a delete marker (among the first 1,000 versions):
 * ListObjects no longer shows them; removing the marker brings the object back.
 */
async function deletedObjects(bucket, out, reload) {
  const section = el("section", { class: "deleted" }, el("h3", { text: "Deleted objects" }));
  let page;
  try {
    page = await s3.listVersions(bucket, {});
  } catch (e) {
    section.append(errorBox(e));
    return section;
  }
  const markers = page.versions.filter((v) => v.deleteMarker && v.latest);
  if (!markers.length) {
    section.append(el("p", { text: "None." }));
    return section;
  }
  section.append(el("ul", { class: "deleted-keys" }, markers.map((m) => el("li", { attrs: { "data-key": m.key } },
    el("span", { class: "code" }, shown(m.key)), " ",
    button("Undelete", async () => {
      clear(out);
      try {
        await s3.deleteVersion(bucket, m.key, m.versionId);
        notify(`${m.key} is back`);
        await reload();
      } catch (e) { out.append(errorBox(e)); }
    }, { class: "small", aria: `Undelete ${m.key}` })))));
  return section;
}

/** The object's Versions tab: newest first, with the actions each version allows. */
export async function versionsTab(panel, bucket, key, onChange) {
  fill(panel, el("p", { class: "loading", text: "Loading versions…" }));
  let versions;
  try {
    versions = await s3.versionsOf(bucket, key);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const refresh = async () => { if (onChange) onChange(); await versionsTab(panel, bucket, key, onChange); };
  const rows = versions.map((v) => {
    const label = v.versionId === "null" ? "null" : v.versionId.slice(-8);
    const actions = el("td", { class: "actions" });
    if (!v.deleteMarker) {
      actions.append(button("Download", async () => {
        try {
          const { url } = await presign("GET", bucket, key, 300, true, v.versionId);
          const a = el("a", { href: url, class: "hidden-link", attrs: { download: "" } });
          document.body.append(a);
          a.click();
          a.remove();
        } catch (e) { out.append(errorBox(e)); }
      }, { class: "small", aria: `Download version ${label}` }));
      if (!v.latest) {
        actions.append(button("Restore", async () => {
          clear(out);
          try {
            await s3.restoreVersion(bucket, key, v.versionId);
            notify(`Version ${label} of ${key} is current again`);
            await refresh();
          } catch (e) { out.append(errorBox(e)); }
        }, { class: "small", aria: `Restore version ${label}` }));
      }
    }
    actions.append(button("Delete", async () => {
      const what = v.deleteMarker ? "this delete marker" : "this version";
      if (!await confirmDialog(`Delete version ${label}?`, `${what} of ${key} is removed for good.`)) return;
      clear(out);
      try {
        await s3.deleteVersion(bucket, key, v.versionId);
        notify(`Version ${label} of ${key} deleted`);
        await refresh();
      } catch (e) { out.append(errorBox(e)); }
    }, { class: "small danger", aria: `Delete version ${label}` }));
    const badges = el("td", {},
      v.latest ? el("span", { class: "badge", text: "current" }) : null,
      v.deleteMarker ? el("span", { class: "badge warn", text: "delete marker" }) : null);
    return el("tr", { class: "version", attrs: { "data-version": v.versionId } },
      el("td", { class: "code", attrs: { title: v.versionId } }, shown(label)),
      badges,
      el("td", { text: when(v.modified) || v.modified }),
      el("td", { text: v.deleteMarker ? "" : size(v.size) }),
      actions);
  });
  fill(panel,
    versions.length ? el("div", { class: "table-wrap" }, el("table", { class: "versions" },
      el("caption", { class: "visually-hidden", text: `Versions of ${key}` }),
      el("thead", {}, el("tr", {}, ...["Version", "State", "Modified", "Size", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows)))
      : el("p", { text: "No versions." }),
    el("p", { class: "hint", text: "Restore copies an older version onto the key: it becomes the current version and the history is kept." }),
    out);
}
