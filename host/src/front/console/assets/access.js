// The Access tab of a bucket's drawer: the bucket policy (JSON), Block Public Access,
// Object Ownership, and the "Why?" box, which asks the server how the bucket's policy
// module would decide a described request, and why. Every change is the S3 request the
// command line would send; the server validates it and its errors are shown as worded.

import * as s3 from "/assets/s3.js";
import { api } from "/assets/api.js";
import { el, shown, button, field, clear, errorBox, notify, confirmDialog, fill, newId } from "/assets/ui.js";

const OWNERSHIP = [
  ["", "No ownership controls (ObjectWriter)"],
  ["ObjectWriter", "ObjectWriter: the writer owns each object"],
  ["BucketOwnerPreferred", "BucketOwnerPreferred: objects written with bucket-owner-full-control are the bucket owner's"],
  ["BucketOwnerEnforced", "BucketOwnerEnforced: ACLs disabled, the bucket owner owns every object"],
];

const OPERATIONS = ["GetObject", "HeadObject", "PutObject", "DeleteObject", "ListObjectsV2",
  "GetObjectAcl", "PutObjectAcl", "GetBucketAcl", "PutBucketAcl", "GetBucketPolicy", "PutBucketPolicy"];

const EXAMPLE = (bucket) => JSON.stringify({
  Version: "2012-10-17",
  Statement: [{
    Sid: "PublicReadOfOnePrefix", Effect: "Allow", Principal: "*",
    Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/public/*`,
  }],
}, null, 2);

/** Renders the Access tab of `bucket` into `panel`. */
export async function accessTab(panel, bucket) {
  fill(panel, el("p", { class: "loading", text: "Loading access settings…" }));
  let policy, block, ownership;
  try {
    [policy, block, ownership] = await Promise.all([
      s3.getBucketPolicy(bucket), s3.getPublicAccessBlock(bucket), s3.getOwnership(bucket),
    ]);
  } catch (e) {
    fill(panel, errorBox(e));
    return;
  }
  const reload = () => accessTab(panel, bucket);
  fill(panel,
    await policySection(bucket, policy, reload),
    blockSection(bucket, block, reload),
    ownershipSection(bucket, ownership, reload),
    whyBox(bucket));
}

/** The bucket policy: its JSON, whether AWS would call it public, save and delete. */
async function policySection(bucket, policy, reload) {
  const out = el("div", { class: "tab-errors" });
  let status = "No bucket policy.";
  if (policy !== null) {
    try {
      status = (await s3.bucketPolicyIsPublic(bucket)) ? "The policy is public." : "The policy is not public.";
    } catch (e) { status = ""; out.append(errorBox(e)); }
  }
  const text = el("textarea", { rows: 12, class: "code", spellcheck: false, value: policy ?? EXAMPLE(bucket) });
  return el("section", { class: "access-policy" },
    el("h3", { text: "Bucket policy" }),
    el("p", { class: "policy-status" }, status),
    field("Bucket policy (JSON)", text, "IAM policy JSON, up to 20 KB; the server says what it refuses."),
    el("div", { class: "row" },
      button("Save policy", async () => {
        clear(out);
        try {
          await s3.putBucketPolicy(bucket, text.value);
          notify(`Bucket policy of ${bucket} saved`);
          await reload();
        } catch (e) { out.append(errorBox(e)); }
      }, { class: "primary" }),
      policy !== null ? button("Delete policy", async () => {
        if (!await confirmDialog("Delete the bucket policy?", `${bucket}'s ACLs alone decide again.`)) return;
        clear(out);
        try {
          await s3.deleteBucketPolicy(bucket);
          notify(`Bucket policy of ${bucket} deleted`);
          await reload();
        } catch (e) { out.append(errorBox(e)); }
      }, { class: "danger" }) : null),
    out);
}

/** Block Public Access: the four settings as checkboxes. */
function blockSection(bucket, block, reload) {
  const out = el("div", { class: "tab-errors" });
  const boxes = s3.PUBLIC_ACCESS_SETTINGS.map((name) =>
    el("input", { type: "checkbox", id: newId("bpa"), value: name, checked: Boolean(block && block[name]) }));
  return el("section", { class: "access-block" },
    el("h3", { text: "Block Public Access" }),
    el("p", { class: "hint", text: block ? "" : "No configuration: nothing is blocked." }),
    el("fieldset", { class: "methods" }, el("legend", { text: "Settings" }),
      boxes.map((b) => el("label", { class: "check", htmlFor: b.id }, b, " " + b.value))),
    el("div", { class: "row" },
      button("Save Block Public Access", async () => {
        clear(out);
        try {
          await s3.putPublicAccessBlock(bucket, Object.fromEntries(boxes.map((b) => [b.value, b.checked])));
          notify(`Block Public Access of ${bucket} saved`);
          await reload();
        } catch (e) { out.append(errorBox(e)); }
      }, { class: "primary" }),
      block ? button("Remove Block Public Access", async () => {
        clear(out);
        try {
          await s3.deletePublicAccessBlock(bucket);
          notify(`Block Public Access of ${bucket} removed`);
          await reload();
        } catch (e) { out.append(errorBox(e)); }
      }) : null),
    out);
}

/** Object Ownership: one of S3's three settings, or none. */
function ownershipSection(bucket, ownership, reload) {
  const out = el("div", { class: "tab-errors" });
  const select = el("select", {}, OWNERSHIP.map(([value, text]) =>
    el("option", { value, text, selected: (ownership || "") === value })));
  return el("section", { class: "access-ownership" },
    el("h3", { text: "Object Ownership" }),
    field("Object Ownership", select),
    button("Save ownership", async () => {
      clear(out);
      try {
        if (select.value) await s3.putOwnership(bucket, select.value);
        else await s3.deleteOwnership(bucket);
        notify(`Object Ownership of ${bucket} saved`);
        await reload();
      } catch (e) { out.append(errorBox(e)); }
    }, { class: "primary" }),
    out);
}

/** "Why?": how the bucket's module would decide a request, and its reason. */
function whyBox(bucket) {
  const operation = el("select", {}, OPERATIONS.map((o) => el("option", { value: o, text: o })));
  const key = el("input", { spellcheck: false, placeholder: "photos/cat.jpg" });
  const account = el("input", { spellcheck: false, placeholder: "anonymous" });
  const ip = el("input", { spellcheck: false, placeholder: "127.0.0.1" });
  const tls = el("input", { type: "checkbox", id: newId("tls") });
  const result = el("div", { class: "why-result", attrs: { "aria-live": "polite" } });
  const ask = button("Why?", async () => {
    clear(result);
    const described = { operation: operation.value, secure_transport: tls.checked };
    if (key.value.trim()) described.key = key.value.trim();
    if (account.value.trim()) described.account = account.value.trim();
    if (ip.value.trim()) described.source_ip = ip.value.trim();
    try {
      const r = await api("POST", `/api/buckets/${encodeURIComponent(bucket)}/explain`, described);
      const verdict = r.decision === "allow" ? "Allowed" : `Refused with ${r.error}`;
      result.append(
        el("p", { class: r.decision === "allow" ? "ok" : "denied" }, shown(verdict)),
        el("p", { class: "why-reason" }, "Reason: ", shown(r.reason || "(the module gave none)")),
        el("p", { class: "hint" }, "Decided by ", shown(r.evaluated_by),
          r.object_found ? " with the object's ACL and tags." : "."));
    } catch (e) { result.append(errorBox(e)); }
  }, { class: "primary", aria: "Ask why" });
  return el("section", { class: "why" },
    el("h3", { text: "Why?" }),
    el("p", { class: "hint", text: "Describe a request: the bucket's policy module decides it with the bucket's " +
      "live settings, without performing it, and says why. Clients only ever see S3's error code." }),
    field("Operation", operation), field("Object key", key),
    field("Account", account, "An account's name or canonical id; empty for an anonymous request."),
    field("Source IP", ip),
    el("label", { class: "check", htmlFor: tls.id }, tls, " Over TLS"),
    ask, result);
}
