// The Buckets page: the account's buckets (name, creation date, a Public badge when the
// bucket's ACL lets everyone read), creating one (S3's naming rules checked as you type,
// the server's refusal shown as it words it) and deleting one after a confirmation.

import * as s3 from "/assets/s3.js";
import { openBucket } from "/assets/drawer.js";
import { el, shown, button, field, clear, errorBox, errorText, notify, confirmDialog, when, newId, fill } from "/assets/ui.js";

/** Buckets whose ACL is read for the Public badge. */
const BADGES = 50;

/** Words for the S3 errors creating or deleting a bucket may meet. */
const EXPLAIN = {
  BucketAlreadyExists: "Bucket names are shared by every account of this server: pick another name.",
  BucketAlreadyOwnedByYou: "You already have a bucket with this name.",
  InvalidBucketName: "The server refuses this name.",
  BucketNotEmpty: "Only an empty bucket can be deleted: delete its objects (and abort its unfinished multipart uploads) first.",
  TooManyBuckets: "This account has reached its bucket limit.",
};

/** An error box with S3's own words and, for known codes, what they mean. */
function explained(e) {
  const box = errorBox(e);
  if (EXPLAIN[e.code]) box.append(el("br"), EXPLAIN[e.code]);
  return box;
}

/** Renders the Buckets page into `main`. */
export async function bucketsPage(main) {
  const list = el("div", { class: "bucket-list" }, el("p", { class: "loading", text: "Loading buckets…" }));
  fill(main, el("h1", { text: "Buckets" }), createForm(() => load()), list);

  async function load() {
    let buckets;
    try {
      buckets = await s3.listBuckets();
    } catch (e) {
      fill(list, errorBox(e));
      return;
    }
    if (!buckets.length) {
      fill(list, el("p", { class: "empty", text: "No buckets yet: create one above." }));
      return;
    }
    const body = el("tbody");
    // The Public badge costs one GetBucketAcl per bucket: only for the first BADGES.
    buckets.forEach((b, i) => body.append(bucketRow(b, load, i < BADGES)));
    fill(list, el("div", { class: "table-wrap" }, el("table", { class: "buckets" },
      el("caption", { class: "visually-hidden", text: "Buckets" }),
      el("thead", {}, el("tr", {}, ["Name", "Created", "Access", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
      body)));
  }
  await load();
}

/** One bucket's row; its Public badge is filled in when its ACL arrives. */
function bucketRow(b, reload, badge) {
  const access = el("td", { class: "access" });
  const row = el("tr", { attrs: { "data-bucket": b.name } },
    el("td", {}, el("a", { href: `#/b/${encodeURIComponent(b.name)}/`, class: "bucket-name" }, shown(b.name))),
    el("td", { text: when(b.created) }),
    access,
    el("td", { class: "actions" },
      button("Settings", () => openBucket(b.name, reload), { class: "small", aria: `Settings of ${b.name}` }),
      button("Delete", async () => {
        if (!(await confirmDialog(`Delete bucket ${b.name}?`, "The bucket must be empty. This cannot be undone."))) return;
        try {
          await s3.deleteBucket(b.name);
          notify(`Bucket ${b.name} deleted`);
          await reload();
        } catch (e) {
          notify(`Deleting ${b.name} failed: ${errorText(e)}${EXPLAIN[e.code] ? " " + EXPLAIN[e.code] : ""}`, "error");
        }
      }, { class: "small danger" })));
  if (badge) s3.getAcl(b.name, "").then((acl) => {
    if (s3.isPublic(acl)) access.append(el("span", { class: "badge public", text: "Public" }));
    else access.append(el("span", { class: "badge", text: "Private" }));
  }).catch(() => access.append(el("span", { class: "badge", text: "unknown", title: "ACL not readable" })));
  return row;
}

/** The create-bucket form. */
function createForm(onCreated) {
  const input = el("input", { name: "bucket", autocomplete: "off", spellcheck: false, autocapitalize: "none", required: true });
  const problem = el("p", { class: "field-error", id: newId("p"), attrs: { "aria-live": "polite" } });
  input.setAttribute("aria-describedby", problem.id);
  const out = el("div", { class: "form-errors" });
  const check = () => {
    const p = input.value ? s3.bucketNameProblem(input.value) : "";
    problem.textContent = p;
    input.setAttribute("aria-invalid", p ? "true" : "false");
    return p;
  };
  input.addEventListener("input", check);
  const form = el("form", { class: "create-bucket card", attrs: { "aria-label": "Create bucket" } },
    field("Bucket name", input), problem,
    el("button", { type: "submit", class: "primary", text: "Create bucket" }),
    out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(out);
    if (check()) { input.focus(); return; }
    try {
      await s3.createBucket(input.value);
      notify(`Bucket ${input.value} created`);
      input.value = "";
      await onCreated();
    } catch (err) {
      out.append(explained(err));
    }
  });
  return form;
}
