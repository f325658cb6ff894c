// Uploads: files from the "Upload" picker or dropped on the listing (folders included),
// each with a progress bar and a Cancel button. Small files are one PutObject sent with
// XMLHttpRequest (for `upload.onprogress`); files above MULTIPART_THRESHOLD are multipart
// uploads whose parts are Blob slices, a few in flight, aborted on cancel. Existing keys
// are checked first (HEAD) and overwriting them needs a yes in an in-page dialog. Objects
// are uploaded private (no ACL header: S3's default).

import { csrfHeaders } from "/assets/api.js";
import * as s3 from "/assets/s3.js";
import { el, shown, button, size, dialog, errorText } from "/assets/ui.js";

/** Files larger than this are multipart uploads. */
export const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
/** Smallest part (S3's minimum is 5 MiB for every part but the last). */
const MIN_PART = 16 * 1024 * 1024;
/** Parts in flight per multipart upload. */
const PARTS_IN_FLIGHT = 4;
/** Files uploading at once. */
const FILES_IN_FLIGHT = 2;

/**
 * The files of a drop, folders walked recursively: [{file, path}] where `path` is the
 * file's path relative to what was dropped ("dir/sub/a.txt", or "a.txt").
 * The entries are taken synchronously (the DataTransfer empties once the event returns).
 */
export function collectDrop(dataTransfer) {
  const entries = [];
  const loose = [];
  const items = dataTransfer.items ? Array.from(dataTransfer.items) : [];
  for (const item of items) {
    if (item.kind !== "file") continue;
    const entry = typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push({ file: f, path: f.name });
    }
  }
  if (!items.length && dataTransfer.files) {
    for (const f of Array.from(dataTransfer.files)) loose.push({ file: f, path: f.name });
  }
  return Promise.all(entries.map((e) => walk(e, ""))).then((lists) => loose.concat(...lists));
}

/** Every file under a FileSystemEntry, with paths relative to the entry's parent. */
async function walk(entry, parent) {
  const path = parent + entry.name;
  if (entry.isFile) {
    const file = await new Promise((res, rej) => entry.file(res, rej));
    return [{ file, path }];
  }
  if (!entry.isDirectory) return [];
  const reader = entry.createReader();
  const out = [];
  // readEntries answers in batches (100 in Chromium) until it answers an empty one.
  for (;;) {
    const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) break;
    for (const e of batch) out.push(...(await walk(e, path + "/")));
  }
  return out;
}

/** One file being uploaded, with its row in the uploads panel. */
class Upload {
  constructor(bucket, key, file) {
    this.bucket = bucket;
    this.key = key;
    this.file = file;
    this.cancelled = false;
    this.xhrs = new Set();
    this.progress = el("progress", { max: 100, value: 0, attrs: { "aria-label": `Upload progress of ${key}` } });
    this.state = el("span", { class: "upload-state", text: "waiting" });
    this.cancelButton = button("Cancel", () => this.cancel(), { class: "small", aria: `Cancel upload of ${key}` });
    this.row = el("li", { class: "upload", attrs: { "data-key": key } },
      el("span", { class: "upload-name" }, shown(key)),
      el("span", { class: "upload-size", text: size(file.size) }),
      this.progress, this.state, this.cancelButton);
  }

  /** Shows `fraction` (0..1) of the file sent. */
  show(fraction) {
    this.progress.value = Math.min(100, Math.round(fraction * 100));
  }

  /** Marks the upload finished with `text` ("done", an error...). */
  finish(text, kind) {
    this.state.textContent = "";
    this.state.append(shown(text));
    this.row.classList.add(kind);
    this.cancelButton.remove();
  }

  /** Stops the upload: aborts requests in flight (and the multipart upload). */
  cancel() {
    this.cancelled = true;
    for (const x of this.xhrs) x.abort();
  }

  /** Runs the upload; resolves to true when the object was stored. */
  async run() {
    this.state.textContent = "uploading";
    try {
      if (this.file.size > MULTIPART_THRESHOLD) await this.multipart();
      else await this.single();
      this.show(1);
      this.finish("done", "ok");
      return true;
    } catch (e) {
      this.finish(this.cancelled ? "cancelled" : errorText(e), this.cancelled ? "cancelled" : "failed");
      return false;
    }
  }

  /** One PUT with the file as body. */
  async single() {
    await this.send("PUT", s3.url(this.bucket, this.key), this.file, (loaded) => this.show(loaded / Math.max(1, this.file.size)), {
      "Content-Type": this.file.type || "application/octet-stream",
    });
  }

  /** A multipart upload: parts read with Blob.slice, PARTS_IN_FLIGHT at a time. */
  async multipart() {
    const f = this.file;
    // At most 10,000 parts: bigger parts for huge files.
    const partSize = Math.max(MIN_PART, Math.ceil(f.size / 10000));
    const count = Math.ceil(f.size / partSize);
    const uploadId = await s3.createMultipart(this.bucket, this.key, {
      "Content-Type": f.type || "application/octet-stream",
    });
    const loaded = new Array(count).fill(0);
    const etags = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count && !this.cancelled) {
        const i = next++;
        const blob = f.slice(i * partSize, Math.min(f.size, (i + 1) * partSize));
        const xhr = await this.send("PUT", s3.url(this.bucket, this.key, { partNumber: i + 1, uploadId }), blob, (n) => {
          loaded[i] = n;
          this.show(loaded.reduce((a, b) => a + b, 0) / f.size);
        });
        etags[i] = xhr.getResponseHeader("ETag");
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, count) }, worker));
      if (this.cancelled) throw new Error("cancelled");
      const root = await s3.completeMultipart(this.bucket, this.key, uploadId,
        etags.map((etag, i) => ({ number: i + 1, etag })));
      // CompleteMultipartUpload may answer 200 with an error document.
      if (root.localName === "Error") throw new s3.S3Error(200, s3.child(root, "Code"), s3.child(root, "Message"));
    } catch (e) {
      this.cancel();
      await s3.abortMultipart(this.bucket, this.key, uploadId).catch(() => {});
      throw e;
    }
  }

  /** Sends one request with XHR (progress events); resolves to the XHR on 2xx. */
  send(method, url, body, onProgress, headers = {}) {
    return new Promise((resolve, reject) => {
      if (this.cancelled) { reject(new Error("cancelled")); return; }
      const xhr = new XMLHttpRequest();
      this.xhrs.add(xhr);
      xhr.open(method, url);
      for (const [k, v] of Object.entries({ ...csrfHeaders(), ...headers })) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = async () => {
        this.xhrs.delete(xhr);
        if (xhr.status >= 200 && xhr.status < 300) { resolve(xhr); return; }
        reject(await s3.errorOf(new Response(xhr.responseText || null, { status: xhr.status })));
      };
      xhr.onerror = () => { this.xhrs.delete(xhr); reject(new Error("network error")); };
      xhr.onabort = () => { this.xhrs.delete(xhr); reject(new Error("cancelled")); };
      xhr.send(body);
    });
  }
}

/** Runs `tasks` (functions returning promises) with at most `n` at once. */
async function pool(tasks, n) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return results;
}

/**
 * Uploads `files` ([{file, path}]) under `prefix` of `bucket`, rows added to `list` (an
 * `<ol>`). Asks before overwriting. Resolves to the number of objects stored.
 */
export async function uploadFiles(bucket, prefix, files, list) {
  if (!files.length) return 0;
  const wanted = files.map(({ file, path }) => ({ file, key: prefix + path }));
  const existing = (await pool(wanted.map((w) => async () => (await s3.headObject(bucket, w.key)) ? w.key : null), 4))
    .filter(Boolean);
  let todo = wanted;
  if (existing.length) {
    const names = el("ul", { class: "keys" }, existing.slice(0, 20).map((k) => el("li", {}, shown(k))));
    const more = existing.length > 20 ? el("p", { text: `and ${existing.length - 20} more` }) : null;
    const choice = await dialog("Replace existing objects?",
      el("div", {}, el("p", { text: `${existing.length} of these already exist in ${bucket}:` }), names, more),
      [
        { label: "Cancel", value: "cancel" },
        { label: "Skip existing", value: "skip" },
        { label: "Overwrite", value: "overwrite", class: "danger" },
      ]);
    if (choice === "cancel" || choice === null) return 0;
    if (choice === "skip") todo = wanted.filter((w) => !existing.includes(w.key));
  }
  const uploads = todo.map((w) => new Upload(bucket, w.key, w.file));
  for (const u of uploads) list.append(u.row);
  const done = await pool(uploads.map((u) => () => u.run()), FILES_IN_FLIGHT);
  return done.filter(Boolean).length;
}
