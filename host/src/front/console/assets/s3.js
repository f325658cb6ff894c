// S3 through the console: `/api/s3/{bucket}/{key}?{query}` runs the request as the
// session's account through the server's S3 pipeline. This module builds those URLs
// (S3 path-style encoding), sends the requests, turns S3 error XML into [`S3Error`]s and
// parses / renders the XML documents the console uses (ListBuckets, ListObjectsV2, ACLs,
// CORS). XML is parsed with DOMParser as `application/xml`: an XML document never runs
// scripts, and values are read with `textContent`.

import { csrfHeaders, toLogin } from "/assets/api.js";

/** The S3 namespace of the documents the console writes. */
const NS = "http://s3.amazonaws.com/doc/2006-03-01/";
const XSI = "http://www.w3.org/2001/XMLSchema-instance";

/** An S3 error: `status`, `code` and `message` exactly as the server sent them. */
export class S3Error extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.s3message = message;
  }
}

/**
 * Percent-encodes a key as S3 path style does: every UTF-8 byte except the unreserved
 * characters (A-Z a-z 0-9 - . _ ~) and `/`.
 */
export function encodeKey(key) {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%2F/g, "/");
}

/** Encodes one query value (everything but unreserved characters). */
function q(v) {
  return encodeKey(String(v)).replace(/\//g, "%2F");
}

/**
 * The console URL of an S3 request. `query` is an object; a value of `""` or `true`
 * gives a bare subresource (`?acl`), undefined/null values are left out.
 */
export function url(bucket, key, query) {
  let u = "/api/s3/";
  if (bucket) u += encodeURIComponent(bucket);
  if (key !== undefined && key !== null && key !== "") u += "/" + encodeKey(key);
  const parts = [];
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === false) continue;
    parts.push(v === true || v === "" ? q(k) : `${q(k)}=${q(v)}`);
  }
  return parts.length ? `${u}?${parts.join("&")}` : u;
}

/** Parses an XML text into a Document (null when it is not well-formed). */
export function parseXml(text) {
  if (!text) return null;
  const doc = new DOMParser().parseFromString(text, "application/xml");
  return doc.getElementsByTagName("parsererror").length ? null : doc;
}

/** The error of a failed response: S3 error XML's Code and Message, verbatim. */
export async function errorOf(resp) {
  const text = resp.status === 204 ? "" : await resp.text().catch(() => "");
  const doc = parseXml(text);
  if (doc && doc.documentElement.localName === "Error") {
    return new S3Error(resp.status, child(doc.documentElement, "Code"), child(doc.documentElement, "Message"));
  }
  // JSON errors come from the console itself (NoSession, CsrfTokenMismatch...).
  try {
    const j = JSON.parse(text);
    if (j && j.error) return new S3Error(resp.status, j.error, j.message || "");
  } catch { /* not JSON */ }
  const byStatus = { 403: "AccessDenied", 404: "NotFound", 409: "Conflict", 412: "PreconditionFailed" };
  return new S3Error(resp.status, byStatus[resp.status] || `HTTP ${resp.status}`, text.slice(0, 300));
}

/**
 * Sends an S3 request; resolves to the Response when it succeeded, throws [`S3Error`]
 * otherwise. `opts`: `query`, `headers`, `body`.
 */
export async function request(method, bucket, key, opts = {}) {
  const headers = { ...csrfHeaders(), ...(opts.headers || {}) };
  const resp = await fetch(url(bucket, key, opts.query), {
    method, headers, body: opts.body, credentials: "same-origin",
  });
  if (resp.ok) return resp;
  const err = await errorOf(resp);
  if (resp.status === 401 && err.code === "NoSession") toLogin();
  throw err;
}

/** Sends a request and parses its XML answer. */
async function requestXml(method, bucket, key, opts) {
  const resp = await request(method, bucket, key, opts);
  const doc = parseXml(await resp.text());
  if (!doc) throw new S3Error(resp.status, "MalformedResponse", "the server's answer is not XML");
  return doc.documentElement;
}

// ---- XML helpers -------------------------------------------------------------------

/** Direct children of `node` named `name` (namespace-agnostic). */
export function children(node, name) {
  return Array.from(node ? node.children : []).filter((c) => c.localName === name);
}

/** The text of the first child named `name` ("" when absent). */
export function child(node, name) {
  const c = children(node, name)[0];
  return c ? c.textContent : "";
}

/** Escapes text for an XML element or attribute. */
export function escapeXml(s) {
  return String(s).replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" }[c]));
}

/** `<Name>value</Name>` with the value escaped. */
function tag(name, value) {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

// ---- Buckets -----------------------------------------------------------------------

/** ListBuckets: [{name, created}] and the owner. */
export async function listBuckets() {
  const root = await requestXml("GET", "", "");
  const buckets = children(children(root, "Buckets")[0], "Bucket").map((b) => ({
    name: child(b, "Name"), created: child(b, "CreationDate"),
  }));
  return buckets;
}

/** CreateBucket. */
export function createBucket(name) {
  return request("PUT", name, "");
}

/** DeleteBucket. */
export function deleteBucket(name) {
  return request("DELETE", name, "");
}

/**
 * S3's bucket naming rules; returns the first rule `name` breaks, or "" when valid.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function bucketNameProblem(name) {
  if (name.length < 3) return "Bucket names are at least 3 characters long.";
  if (name.length > 63) return "Bucket names are at most 63 characters long.";
  if (!/^[a-z0-9.-]+$/.test(name)) return "Use only lower-case letters, digits, dots (.) and hyphens (-).";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "Begin and end with a letter or a digit.";
  if (name.includes("..")) return "No two adjacent dots.";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "A bucket name cannot look like an IP address.";
  if (name.startsWith("xn--") || name.startsWith("sthree-")) return "Names beginning with xn-- or sthree- are reserved.";
  if (name.endsWith("-s3alias") || name.endsWith("--ol-s3")) return "Names ending with -s3alias or --ol-s3 are reserved.";
  return "";
}

// ---- Objects -----------------------------------------------------------------------

/**
 * One page of ListObjectsV2: {folders: [prefix], objects: [{key, size, modified, etag}],
 * next (continuation token or "")}.
 */
export async function listObjects(bucket, { prefix = "", delimiter = "/", token, maxKeys = 100 } = {}) {
  const root = await requestXml("GET", bucket, "", {
    query: {
      "list-type": 2, delimiter: delimiter || undefined, prefix: prefix || undefined,
      "max-keys": maxKeys, "continuation-token": token || undefined,
      "fetch-owner": undefined,
    },
  });
  return {
    folders: children(root, "CommonPrefixes").map((p) => child(p, "Prefix")),
    objects: children(root, "Contents").map((o) => ({
      key: child(o, "Key"), size: Number(child(o, "Size")), modified: child(o, "LastModified"),
      etag: child(o, "ETag"),
    })),
    next: child(root, "IsTruncated") === "true" ? child(root, "NextContinuationToken") : "",
  };
}

/** HeadObject: the Response (headers) or null when the object does not exist. */
export async function headObject(bucket, key) {
  try {
    return await request("HEAD", bucket, key);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

/** PutObject of a small body (new folders: a zero-byte `prefix/`). */
export function putObject(bucket, key, body, headers = {}) {
  return request("PUT", bucket, key, { body, headers });
}

/**
 * DeleteObjects in batches of 1000; resolves to {deleted: [key], errors: [{key, code,
 * message}]}.
 */
export async function deleteObjects(bucket, keys) {
  const out = { deleted: [], errors: [] };
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const body = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="${NS}"><Quiet>false</Quiet>` +
      batch.map((k) => `<Object>${tag("Key", k)}</Object>`).join("") + "</Delete>";
    const root = await requestXml("POST", bucket, "", {
      query: { delete: true }, body, headers: { "Content-Type": "application/xml" },
    });
    for (const d of children(root, "Deleted")) out.deleted.push(child(d, "Key"));
    for (const e of children(root, "Error")) {
      out.errors.push({ key: child(e, "Key"), code: child(e, "Code"), message: child(e, "Message") });
    }
  }
  return out;
}

/**
 * Replaces an object's metadata: CopyObject onto itself with `x-amz-metadata-directive:
 * REPLACE`. A copy gets a fresh ACL (private, or the canned ACL sent), so the object's
 * current AccessControlPolicy is read first and put back afterwards, unchanged.
 */
export async function replaceMetadata(bucket, key, headers) {
  const aclText = await (await request("GET", bucket, key, { query: { acl: true } })).text();
  await request("PUT", bucket, key, {
    headers: {
      ...headers,
      "x-amz-copy-source": "/" + encodeURIComponent(bucket) + "/" + encodeKey(key),
      "x-amz-metadata-directive": "REPLACE",
    },
  });
  try {
    await request("PUT", bucket, key, {
      query: { acl: true }, body: aclText, headers: { "Content-Type": "application/xml" },
    });
  } catch (e) {
    // The copy succeeded: say so, and that the object's ACL is now the copy's (private).
    e.message = `the metadata was saved, but putting the object's ACL back failed, so the object is now private: ${e.message}`;
    throw e;
  }
}

// ---- ACLs --------------------------------------------------------------------------

/** The grantee group URIs S3 defines. */
export const GROUPS = {
  AllUsers: "http://acs.amazonaws.com/groups/global/AllUsers",
  AuthenticatedUsers: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
};

/** The five ACL permissions. */
export const PERMISSIONS = ["READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"];

/**
 * GetBucketAcl / GetObjectAcl (key "" for the bucket): {owner: {id, name}, grants:
 * [{type: "CanonicalUser"|"Group"|"AmazonCustomerByEmail", id, uri, email, name,
 * permission}]}.
 */
export async function getAcl(bucket, key) {
  const root = await requestXml("GET", bucket, key, { query: { acl: true } });
  return parseAcl(root);
}

/** Parses an AccessControlPolicy element. */
export function parseAcl(root) {
  const owner = children(root, "Owner")[0];
  const list = children(root, "AccessControlList")[0];
  return {
    owner: { id: child(owner, "ID"), name: child(owner, "DisplayName") },
    grants: children(list, "Grant").map((g) => {
      const ge = children(g, "Grantee")[0];
      const type = ge ? (ge.getAttributeNS(XSI, "type") || ge.getAttribute("xsi:type") || "") : "";
      return {
        type, id: child(ge, "ID"), uri: child(ge, "URI"), email: child(ge, "EmailAddress"),
        name: child(ge, "DisplayName"), permission: child(g, "Permission"),
      };
    }),
  };
}

/** Renders an AccessControlPolicy document. */
export function renderAcl(acl) {
  const grants = acl.grants.map((g) => {
    let who = "";
    if (g.type === "Group") who = tag("URI", g.uri);
    else if (g.type === "AmazonCustomerByEmail") who = tag("EmailAddress", g.email);
    else who = tag("ID", g.id);
    return `<Grant><Grantee xmlns:xsi="${XSI}" xsi:type="${escapeXml(g.type)}">${who}</Grantee>` +
      `${tag("Permission", g.permission)}</Grant>`;
  }).join("");
  return `<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="${NS}">` +
    `<Owner>${tag("ID", acl.owner.id)}</Owner><AccessControlList>${grants}</AccessControlList>` +
    "</AccessControlPolicy>";
}

/** PutBucketAcl / PutObjectAcl with a canned ACL. */
export function putCannedAcl(bucket, key, canned) {
  return request("PUT", bucket, key, { query: { acl: true }, headers: { "x-amz-acl": canned } });
}

/** PutBucketAcl / PutObjectAcl with a full policy. */
export function putAcl(bucket, key, acl) {
  return request("PUT", bucket, key, {
    query: { acl: true }, body: renderAcl(acl), headers: { "Content-Type": "application/xml" },
  });
}

/** Whether an ACL lets everyone read. */
export function isPublic(acl) {
  return acl.grants.some((g) => g.type === "Group" && g.uri === GROUPS.AllUsers &&
    (g.permission === "READ" || g.permission === "FULL_CONTROL"));
}

// ---- CORS --------------------------------------------------------------------------

/**
 * GetBucketCors: {rules: [{id, origins, methods, allowedHeaders, exposeHeaders, maxAge}],
 * xml} or null when the bucket has none (NoSuchCORSConfiguration).
 */
export async function getCors(bucket) {
  let resp;
  try {
    resp = await request("GET", bucket, "", { query: { cors: true } });
  } catch (e) {
    if (e.code === "NoSuchCORSConfiguration") return null;
    throw e;
  }
  const xml = await resp.text();
  const doc = parseXml(xml);
  if (!doc) throw new S3Error(resp.status, "MalformedResponse", "the CORS configuration is not XML");
  const rules = children(doc.documentElement, "CORSRule").map((r) => ({
    id: child(r, "ID"),
    origins: children(r, "AllowedOrigin").map((n) => n.textContent),
    methods: children(r, "AllowedMethod").map((n) => n.textContent),
    allowedHeaders: children(r, "AllowedHeader").map((n) => n.textContent),
    exposeHeaders: children(r, "ExposeHeader").map((n) => n.textContent),
    maxAge: child(r, "MaxAgeSeconds"),
  }));
  return { rules, xml };
}

/** Renders a CORSConfiguration from rules. */
export function renderCors(rules) {
  const body = rules.map((r) => "<CORSRule>" +
    (r.id ? tag("ID", r.id) : "") +
    r.origins.map((o) => tag("AllowedOrigin", o)).join("") +
    r.methods.map((m) => tag("AllowedMethod", m)).join("") +
    r.allowedHeaders.map((h) => tag("AllowedHeader", h)).join("") +
    r.exposeHeaders.map((h) => tag("ExposeHeader", h)).join("") +
    (r.maxAge !== "" && r.maxAge !== undefined ? tag("MaxAgeSeconds", r.maxAge) : "") +
    "</CORSRule>").join("");
  return `<CORSConfiguration xmlns="${NS}">${body}</CORSConfiguration>`;
}

/** PutBucketCors with an XML document (sent as is: the server validates it). */
export function putCors(bucket, xml) {
  return request("PUT", bucket, "", {
    query: { cors: true }, body: xml, headers: { "Content-Type": "application/xml" },
  });
}

/** DeleteBucketCors. */
export function deleteCors(bucket) {
  return request("DELETE", bucket, "", { query: { cors: true } });
}

// ---- Multipart ---------------------------------------------------------------------

/** CreateMultipartUpload; resolves to the UploadId. */
export async function createMultipart(bucket, key, headers) {
  const root = await requestXml("POST", bucket, key, { query: { uploads: true }, headers });
  return child(root, "UploadId");
}

/** CompleteMultipartUpload with [{number, etag}]. */
export function completeMultipart(bucket, key, uploadId, parts) {
  const body = `<CompleteMultipartUpload xmlns="${NS}">` + parts
    .map((p) => `<Part>${tag("PartNumber", p.number)}${tag("ETag", p.etag)}</Part>`).join("") +
    "</CompleteMultipartUpload>";
  return requestXml("POST", bucket, key, {
    query: { uploadId }, body, headers: { "Content-Type": "application/xml" },
  });
}

/** AbortMultipartUpload. */
export function abortMultipart(bucket, key, uploadId) {
  return request("DELETE", bucket, key, { query: { uploadId } });
}

// ---- Versions ----------------------------------------------------------------------

/** GetBucketVersioning: "Enabled", "Suspended" or "" (never enabled). */
export async function getVersioning(bucket) {
  const root = await requestXml("GET", bucket, "", { query: { versioning: true } });
  return child(root, "Status");
}

/** PutBucketVersioning with `status` ("Enabled" or "Suspended"). */
export function putVersioning(bucket, status) {
  return request("PUT", bucket, "", {
    query: { versioning: true },
    body: `<VersioningConfiguration xmlns="${NS}">${tag("Status", status)}</VersioningConfiguration>`,
    headers: { "Content-Type": "application/xml" },
  });
}

/**
 * One page of ListObjectVersions: {versions: [{key, versionId, latest, deleteMarker,
 * size, modified, etag}] in the server's order, next: {keyMarker, versionIdMarker} or
 * null}.
 */
export async function listVersions(bucket, { prefix = "", keyMarker, versionIdMarker, maxKeys = 1000 } = {}) {
  const root = await requestXml("GET", bucket, "", {
    query: {
      versions: true, prefix: prefix || undefined, "max-keys": maxKeys,
      "key-marker": keyMarker || undefined, "version-id-marker": versionIdMarker || undefined,
    },
  });
  const versions = Array.from(root.children)
    .filter((n) => n.localName === "Version" || n.localName === "DeleteMarker")
    .map((n) => ({
      key: child(n, "Key"), versionId: child(n, "VersionId"),
      latest: child(n, "IsLatest") === "true", deleteMarker: n.localName === "DeleteMarker",
      size: Number(child(n, "Size") || 0), modified: child(n, "LastModified"), etag: child(n, "ETag"),
    }));
  const next = child(root, "IsTruncated") === "true"
    ? { keyMarker: child(root, "NextKeyMarker"), versionIdMarker: child(root, "NextVersionIdMarker") }
    : null;
  return { versions, next };
}

/** Every version of exactly `key` (at most `limit`), newest first. */
export async function versionsOf(bucket, key, limit = 1000) {
  const out = [];
  let marker = {};
  while (out.length < limit) {
    const page = await listVersions(bucket, { prefix: key, ...marker });
    for (const v of page.versions) if (v.key === key) out.push(v);
    if (!page.next || page.versions.some((v) => v.key > key)) break;
    marker = page.next;
  }
  return out.slice(0, limit);
}

/** DeleteObject of one version: it is gone for good (delete markers included). */
export function deleteVersion(bucket, key, versionId) {
  return request("DELETE", bucket, key, { query: { versionId } });
}

/**
 * Makes `versionId` the current version again: CopyObject of that version onto its key
 * (S3's way to restore), then the version's ACL put on the copy (a copy gets a new,
 * private ACL otherwise).
 */
export async function restoreVersion(bucket, key, versionId) {
  const aclText = await (await request("GET", bucket, key, { query: { acl: true, versionId } })).text();
  await request("PUT", bucket, key, {
    headers: {
      "x-amz-copy-source": "/" + encodeURIComponent(bucket) + "/" + encodeKey(key) +
        "?versionId=" + encodeURIComponent(versionId),
    },
  });
  await request("PUT", bucket, key, {
    query: { acl: true }, body: aclText, headers: { "Content-Type": "application/xml" },
  });
}

// ---- Tags --------------------------------------------------------------------------

/** The tags of an object (`key`, with `versionId`) or of a bucket (`key` empty): [{key,
 *  value}]; a bucket without a tag set gives []. */
export async function getTags(bucket, key, versionId) {
  let root;
  try {
    root = await requestXml("GET", bucket, key, { query: { tagging: true, versionId } });
  } catch (e) {
    if (e.code === "NoSuchTagSet") return [];
    throw e;
  }
  return children(children(root, "TagSet")[0], "Tag").map((t) => ({ key: child(t, "Key"), value: child(t, "Value") }));
}

/** Replaces the tags of an object or a bucket (no tags: the tag set is deleted). */
export function putTags(bucket, key, tags, versionId) {
  if (!tags.length) return request("DELETE", bucket, key, { query: { tagging: true, versionId } });
  const body = `<Tagging xmlns="${NS}"><TagSet>` +
    tags.map((t) => `<Tag>${tag("Key", t.key)}${tag("Value", t.value)}</Tag>`).join("") +
    "</TagSet></Tagging>";
  return request("PUT", bucket, key, {
    query: { tagging: true, versionId }, body, headers: { "Content-Type": "application/xml" },
  });
}

// ---- Lifecycle ---------------------------------------------------------------------

/** GetBucketLifecycleConfiguration: the XML, or null when the bucket has none. */
export async function getLifecycle(bucket) {
  try {
    const resp = await request("GET", bucket, "", { query: { lifecycle: true } });
    return await resp.text();
  } catch (e) {
    if (e.code === "NoSuchLifecycleConfiguration") return null;
    throw e;
  }
}

/** The rules of a lifecycle document, summarised for display. */
export function lifecycleRules(xml) {
  const doc = parseXml(xml);
  if (!doc) return [];
  return children(doc.documentElement, "Rule").map((r) => {
    const filter = children(r, "Filter")[0];
    const and = children(filter, "And")[0] || filter;
    const exp = children(r, "Expiration")[0];
    const nc = children(r, "NoncurrentVersionExpiration")[0];
    const abort = children(r, "AbortIncompleteMultipartUpload")[0];
    const actions = [];
    if (exp && child(exp, "Days")) actions.push(`current versions expire after ${child(exp, "Days")} days`);
    if (exp && child(exp, "Date")) actions.push(`current versions expire on ${child(exp, "Date")}`);
    if (exp && child(exp, "ExpiredObjectDeleteMarker") === "true") actions.push("lone delete markers are removed");
    if (nc) actions.push(`noncurrent versions expire after ${child(nc, "NoncurrentDays")} days` +
      (child(nc, "NewerNoncurrentVersions") ? `, keeping ${child(nc, "NewerNoncurrentVersions")}` : ""));
    if (abort) actions.push(`incomplete uploads are aborted after ${child(abort, "DaysAfterInitiation")} days`);
    const tags = children(and, "Tag").map((t) => `${child(t, "Key")}=${child(t, "Value")}`);
    return {
      id: child(r, "ID"), status: child(r, "Status"),
      prefix: child(and, "Prefix") || child(r, "Prefix"), tags, actions,
    };
  });
}

/** PutBucketLifecycleConfiguration with an XML document (the server validates it). */
export function putLifecycle(bucket, xml) {
  return request("PUT", bucket, "", {
    query: { lifecycle: true }, body: xml, headers: { "Content-Type": "application/xml" },
  });
}

/** DeleteBucketLifecycle. */
export function deleteLifecycle(bucket) {
  return request("DELETE", bucket, "", { query: { lifecycle: true } });
}

// ---- Bucket policy, Block Public Access, Object Ownership --------------------------

/** GetBucketPolicy: the JSON document as put, or null when the bucket has none. */
export async function getBucketPolicy(bucket) {
  try {
    return await (await request("GET", bucket, "", { query: { policy: true } })).text();
  } catch (e) {
    if (e.code === "NoSuchBucketPolicy") return null;
    throw e;
  }
}

/** GetBucketPolicyStatus: whether the policy is public (AWS's definition). */
export async function bucketPolicyIsPublic(bucket) {
  const root = await requestXml("GET", bucket, "", { query: { policyStatus: true } });
  return child(root, "IsPublic") === "true";
}

/** PutBucketPolicy (the server validates the document and says why it refuses one). */
export function putBucketPolicy(bucket, json) {
  return request("PUT", bucket, "", {
    query: { policy: true }, body: json, headers: { "Content-Type": "application/json" },
  });
}

/** DeleteBucketPolicy. */
export function deleteBucketPolicy(bucket) {
  return request("DELETE", bucket, "", { query: { policy: true } });
}

/** The four Block Public Access settings, in S3's order. */
export const PUBLIC_ACCESS_SETTINGS = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

/** GetPublicAccessBlock: {setting: bool}, or null when the bucket has no configuration. */
export async function getPublicAccessBlock(bucket) {
  let root;
  try {
    root = await requestXml("GET", bucket, "", { query: { publicAccessBlock: true } });
  } catch (e) {
    if (e.code === "NoSuchPublicAccessBlockConfiguration") return null;
    throw e;
  }
  return Object.fromEntries(PUBLIC_ACCESS_SETTINGS.map((s) => [s, child(root, s) === "true"]));
}

/** PutPublicAccessBlock with {setting: bool}. */
export function putPublicAccessBlock(bucket, settings) {
  const body = PUBLIC_ACCESS_SETTINGS.map((s) => tag(s, settings[s] ? "true" : "false")).join("");
  return request("PUT", bucket, "", {
    query: { publicAccessBlock: true },
    body: `<PublicAccessBlockConfiguration xmlns="${NS}">${body}</PublicAccessBlockConfiguration>`,
    headers: { "Content-Type": "application/xml" },
  });
}

/** DeletePublicAccessBlock. */
export function deletePublicAccessBlock(bucket) {
  return request("DELETE", bucket, "", { query: { publicAccessBlock: true } });
}

/** GetBucketOwnershipControls: the Object Ownership, or null without controls. */
export async function getOwnership(bucket) {
  try {
    const root = await requestXml("GET", bucket, "", { query: { ownershipControls: true } });
    return child(children(root, "Rule")[0], "ObjectOwnership") || null;
  } catch (e) {
    if (e.code === "OwnershipControlsNotFoundError") return null;
    throw e;
  }
}

/** PutBucketOwnershipControls with one of S3's settings. */
export function putOwnership(bucket, ownership) {
  return request("PUT", bucket, "", {
    query: { ownershipControls: true },
    body: `<OwnershipControls xmlns="${NS}"><Rule>${tag("ObjectOwnership", ownership)}</Rule></OwnershipControls>`,
    headers: { "Content-Type": "application/xml" },
  });
}

/** DeleteBucketOwnershipControls. */
export function deleteOwnership(bucket) {
  return request("DELETE", bucket, "", { query: { ownershipControls: true } });
}

// ---- Object Lock -------------------------------------------------------------------

/**
 * The `x-amz-checksum-sha256` of a body: S3 wants an integrity header on Object Lock
 * requests. WebCrypto exists only in secure contexts (HTTPS, localhost).
 */
async function integrity(body) {
  if (!globalThis.crypto || !crypto.subtle) {
    throw new S3Error(0, "InsecureContext", "this change needs the console over HTTPS (or on localhost)");
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
  return { "x-amz-checksum-sha256": btoa(String.fromCharCode(...new Uint8Array(digest))) };
}

/**
 * GetObjectLockConfiguration: null when the bucket has no Object Lock, else {mode,
 * days, years} of its default retention ("" when none).
 */
export async function getLockConfig(bucket) {
  let root;
  try {
    root = await requestXml("GET", bucket, "", { query: { "object-lock": true } });
  } catch (e) {
    if (e.code === "ObjectLockConfigurationNotFoundError") return null;
    throw e;
  }
  const d = children(children(root, "Rule")[0], "DefaultRetention")[0];
  return { mode: child(d, "Mode"), days: child(d, "Days"), years: child(d, "Years") };
}

/** PutObjectRetention of one version (`until` an ISO date); `bypass` for GOVERNANCE. */
export async function putRetention(bucket, key, versionId, mode, until, bypass) {
  const body = `<Retention xmlns="${NS}">${tag("Mode", mode)}${tag("RetainUntilDate", until)}</Retention>`;
  const headers = { "Content-Type": "application/xml", ...(await integrity(body)) };
  if (bypass) headers["x-amz-bypass-governance-retention"] = "true";
  return request("PUT", bucket, key, { query: { retention: true, versionId }, body, headers });
}

/** PutObjectLegalHold of one version. */
export async function putLegalHold(bucket, key, versionId, on) {
  const body = `<LegalHold xmlns="${NS}">${tag("Status", on ? "ON" : "OFF")}</LegalHold>`;
  return request("PUT", bucket, key, {
    query: { "legal-hold": true, versionId }, body,
    headers: { "Content-Type": "application/xml", ...(await integrity(body)) },
  });
}
