// The ACL tab of the drawer, for a bucket (key "") or an object: the owner, the canned
// presets ("Quick ACL") and a grant table to accounts (canonical id or e-mail) and to the
// AllUsers / AuthenticatedUsers groups. Presets and grants are separate saves, as in S3:
// applying a preset replaces the grants, and saving grants replaces the preset.

import * as s3 from "/assets/s3.js";
import { el, shown, button, field, clear, errorBox, notify, copyable, fill } from "/assets/ui.js";

const BUCKET_PRESETS = ["private", "public-read", "public-read-write", "authenticated-read"];
const OBJECT_PRESETS = [...BUCKET_PRESETS, "bucket-owner-read", "bucket-owner-full-control"];

/** Grantee kinds as the table's select shows them. */
const KINDS = [
  ["id", "Account (canonical id)"],
  ["email", "Account (e-mail)"],
  ["AllUsers", "Everyone (AllUsers)"],
  ["AuthenticatedUsers", "Any authenticated user (AuthenticatedUsers)"],
];

/** One grant as a table row of inputs; `row.read()` gives the grant back. */
function grantRow(g, onRemove) {
  let kind = "id";
  if (g.type === "Group") kind = g.uri === s3.GROUPS.AllUsers ? "AllUsers" : "AuthenticatedUsers";
  else if (g.type === "AmazonCustomerByEmail") kind = "email";
  const kindSel = el("select", { attrs: { "aria-label": "Grantee type" } },
    KINDS.map(([v, label]) => el("option", { value: v, text: label, selected: v === kind })));
  const who = el("input", {
    value: kind === "email" ? g.email : g.id || "", attrs: { "aria-label": "Grantee", placeholder: "canonical id or e-mail" },
    spellcheck: false,
  });
  const perm = el("select", { attrs: { "aria-label": "Permission" } },
    s3.PERMISSIONS.map((p) => el("option", { value: p, text: p, selected: p === g.permission })));
  const sync = () => { who.hidden = kindSel.value === "AllUsers" || kindSel.value === "AuthenticatedUsers"; };
  kindSel.addEventListener("change", sync);
  sync();
  const name = g.name ? el("span", { class: "hint" }, shown(g.name)) : null;
  const row = el("tr", {},
    el("td", {}, kindSel), el("td", {}, who, name), el("td", {}, perm),
    el("td", {}, button("Remove", () => { row.remove(); onRemove(); }, { class: "small", aria: "Remove grant" })));
  row.read = () => {
    const k = kindSel.value;
    if (k === "AllUsers" || k === "AuthenticatedUsers") return { type: "Group", uri: s3.GROUPS[k], permission: perm.value };
    if (k === "email") return { type: "AmazonCustomerByEmail", email: who.value.trim(), permission: perm.value };
    return { type: "CanonicalUser", id: who.value.trim(), permission: perm.value };
  };
  return row;
}

/**
 * Renders the ACL tab into `panel`. `publicUrl` (objects) is shown when everyone may
 * read; `onChange` is called after a successful save.
 */
export async function aclTab(panel, { bucket, key = "", publicUrl, onChange }) {
  fill(panel, el("p", { class: "loading", text: "Loading ACL…" }));
  let acl;
  try {
    acl = await s3.getAcl(bucket, key);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const out = el("div", { class: "tab-errors" });
  const ownerText = acl.owner.name ? `${acl.owner.name} (${acl.owner.id})` : acl.owner.id;

  // Quick ACL.
  const presets = key ? OBJECT_PRESETS : BUCKET_PRESETS;
  const preset = el("select", {}, presets.map((p) => el("option", { value: p, text: p })));
  preset.value = s3.isPublic(acl) ? "public-read" : "private";
  const applyPreset = button("Apply preset", async () => {
    clear(out);
    try {
      await s3.putCannedAcl(bucket, key, preset.value);
      notify(`ACL of ${key || bucket} set to ${preset.value}`);
      if (onChange) onChange();
      await aclTab(panel, { bucket, key, publicUrl, onChange });
    } catch (e) { out.append(errorBox(e)); }
  }, { class: "primary" });

  // Grants.
  const body = el("tbody");
  const table = el("table", { class: "grants" },
    el("caption", { class: "visually-hidden", text: "Grants" }),
    el("thead", {}, el("tr", {}, ["Grantee type", "Grantee", "Permission"].map((h) => el("th", { scope: "col", text: h })),
      el("th", { scope: "col" }, el("span", { class: "visually-hidden", text: "Actions" })))),
    body);
  const none = () => {};
  for (const g of acl.grants) body.append(grantRow(g, none));
  const add = button("Add grant", () => body.append(grantRow({ type: "CanonicalUser", id: "", permission: "READ" }, none)));
  const save = button("Save grants", async () => {
    clear(out);
    const grants = Array.from(body.rows).map((r) => r.read());
    const bad = grants.find((g) => (g.type === "CanonicalUser" && !g.id) || (g.type === "AmazonCustomerByEmail" && !g.email));
    if (bad) { out.append(errorBox(new Error("Every account grant needs a canonical id or an e-mail address."))); return; }
    try {
      await s3.putAcl(bucket, key, { owner: acl.owner, grants });
      notify(`Grants of ${key || bucket} saved`);
      if (onChange) onChange();
      await aclTab(panel, { bucket, key, publicUrl, onChange });
    } catch (e) { out.append(errorBox(e)); }
  }, { class: "primary" });

  fill(panel, 
    el("p", {}, "Owner: ", el("span", { class: "owner" }, shown(ownerText)), " (always has full control)"),
    s3.isPublic(acl)
      ? el("p", { class: "badge-line" }, el("span", { class: "badge public", text: "Public" }), " Everyone can read this " + (key ? "object." : "bucket's listing."))
      : null,
    s3.isPublic(acl) && publicUrl ? copyable("Public URL", publicUrl) : null,
    el("h3", { text: "Quick ACL" }),
    el("div", { class: "row" }, field("Canned ACL", preset), applyPreset),
    el("p", { class: "hint", text: "A preset replaces every grant below." }),
    el("h3", { text: "Grants" }),
    el("div", { class: "table-wrap" }, table),
    el("div", { class: "row" }, add, save),
    el("p", { class: "hint", text: key
      ? "An object's ACL is its own: it is not inherited from the bucket."
      : "A bucket's ACL is not inherited by its objects: set object ACLs on the objects." }),
    out);
}
