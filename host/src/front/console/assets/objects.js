// The object browser of one bucket: folders by `/` with breadcrumbs, one page of
// ListObjectsV2 at a time (continuation tokens: fast on any number of keys), a prefix
// filter, new folders (zero-byte `prefix/` objects), multi-select delete (DeleteObjects),
// download and details, and uploads from the picker or dropped files and folders.

import * as s3 from "/assets/s3.js";
import { openBucket, openObject, download } from "/assets/drawer.js";
import { collectDrop, uploadFiles } from "/assets/upload.js";
import { el, shown, button, field, clear, errorBox, errorText, notify, dialog, confirmDialog, size, when, fill } from "/assets/ui.js";

/** Keys per page. */
const PAGE = 100;

/** The URL fragment of a folder. */
export function folderHash(bucket, prefix) {
  return `#/b/${encodeURIComponent(bucket)}/${encodeURIComponent(prefix)}`;
}

/** Breadcrumbs: Buckets / bucket / each folder of `prefix`. */
function breadcrumbs(bucket, prefix) {
  const items = [el("li", {}, el("a", { href: "#/", text: "Buckets" })),
    el("li", {}, el("a", { href: folderHash(bucket, ""), attrs: prefix ? {} : { "aria-current": "page" } }, shown(bucket)))];
  const parts = prefix.split("/").filter((_, i, a) => i < a.length - 1);
  let acc = "";
  parts.forEach((p, i) => {
    acc += p + "/";
    const last = i === parts.length - 1;
    items.push(el("li", {}, el("a", { href: folderHash(bucket, acc), attrs: last ? { "aria-current": "page" } : {} }, shown(p || "(empty)"))));
  });
  return el("nav", { class: "breadcrumbs", attrs: { "aria-label": "Breadcrumb" } }, el("ol", {}, items));
}

/** Renders the folder `prefix` of `bucket` into `main`. */
export async function objectsPage(main, bucket, prefix) {
  // Pagination state: tokens[i] is the continuation token of page i (page 0: none).
  const tokens = [""];
  let page = 0;
  let filter = "";
  let current = { folders: [], objects: [], next: "" };

  const picker = el("input", { type: "file", multiple: true, hidden: true, attrs: { "aria-label": "Files to upload" } });
  const uploads = el("ol", { class: "uploads", attrs: { "aria-label": "Uploads", tabindex: "0" } });
  const uploadsBox = el("section", { class: "uploads-box", hidden: true, attrs: { "aria-label": "Uploads" } },
    el("div", { class: "uploads-head" },
      el("h2", { text: "Uploads" }),
      button("Clear finished", () => {
        for (const li of uploads.querySelectorAll("li.ok, li.failed, li.cancelled")) li.remove();
        uploadsBox.hidden = !uploads.children.length;
      }, { class: "small" })),
    uploads);
  const listing = el("div", { class: "listing", attrs: { "data-prefix": prefix, "aria-busy": "true" } });
  const pager = el("div", { class: "pager" });
  const selectAll = el("input", { type: "checkbox", attrs: { "aria-label": "Select all on this page" } });
  const deleteSelected = button("Delete selected", () => removeSelected(), { class: "danger", disabled: true });
  const filterInput = el("input", { type: "search", spellcheck: false, autocomplete: "off", placeholder: "name starts with…" });
  let filterTimer = 0;
  filterInput.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { filter = filterInput.value; tokens.length = 1; page = 0; load(); }, 300);
  });

  const drop = el("section", { class: "dropzone", attrs: { "aria-label": "Objects (drop files or folders here to upload)" } },
    el("p", { class: "hint drop-hint", text: "Drop files or folders here to upload them to this folder." }),
    listing, pager);
  drop.addEventListener("dragover", (e) => {
    if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes("Files")) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragenter", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
  drop.addEventListener("dragleave", (e) => { if (e.target === drop) drop.classList.remove("dragging"); });
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    // The entries must be taken now: the DataTransfer is emptied when the event returns.
    const files = collectDrop(e.dataTransfer);
    files.then((fs) => upload(fs)).catch((err) => notify(`Reading the dropped files failed: ${err.message}`, "error"));
  });
  picker.addEventListener("change", () => {
    const fs = Array.from(picker.files).map((f) => ({ file: f, path: f.name }));
    picker.value = "";
    upload(fs);
  });

  async function upload(files) {
    if (!files.length) return;
    uploadsBox.hidden = false;
    const n = await uploadFiles(bucket, prefix, files, uploads);
    uploadsBox.hidden = !uploads.children.length;
    if (n) notify(`${n} object${n > 1 ? "s" : ""} uploaded to ${bucket}`);
    await load();
  }

  async function newFolder() {
    const input = el("input", { spellcheck: false, autocomplete: "off" });
    const name = await dialog("New folder", field("Folder name", input), [
      { label: "Cancel", value: null },
      { label: "Create folder", value: "ok", class: "primary" },
    ]);
    const v = input.value.trim().replace(/^\/+|\/+$/g, "");
    if (name !== "ok" || !v) return;
    try {
      await s3.putObject(bucket, `${prefix}${v}/`, new Blob([]));
      location.hash = folderHash(bucket, `${prefix}${v}/`);
    } catch (e) { notify(`Creating the folder failed: ${errorText(e)}`, "error"); }
  }

  function selected() {
    return Array.from(listing.querySelectorAll("input.pick:checked")).map((c) => c.dataset.key);
  }
  function syncSelection() {
    const n = selected().length;
    deleteSelected.disabled = n === 0;
    deleteSelected.textContent = n ? `Delete selected (${n})` : "Delete selected";
  }

  async function removeSelected() {
    const keys = selected();
    if (!keys.length) return;
    const list = el("ul", { class: "keys" }, keys.slice(0, 20).map((k) => el("li", {}, shown(k))));
    const ok = await confirmDialog(`Delete ${keys.length} object${keys.length > 1 ? "s" : ""}?`,
      el("div", {}, list, keys.length > 20 ? el("p", { text: `and ${keys.length - 20} more` }) : null,
        el("p", { text: "This cannot be undone." })));
    if (!ok) return;
    try {
      const r = await s3.deleteObjects(bucket, keys);
      if (r.errors.length) notify(`${r.errors.length} not deleted: ${r.errors.map((e) => `${e.key}: ${e.code}`).join(", ")}`, "error");
      notify(`${r.deleted.length} deleted`);
    } catch (e) { notify(`Delete failed: ${errorText(e)}`, "error"); }
    await load();
  }

  function objectRow(o) {
    const name = o.key.slice(prefix.length);
    const pick = el("input", { type: "checkbox", class: "pick", attrs: { "aria-label": `Select ${o.key}` }, on: { change: syncSelection } });
    pick.dataset.key = o.key;
    return el("tr", { class: "object", attrs: { "data-key": o.key } },
      el("td", { class: "pick-cell" }, pick),
      el("td", { class: "name" }, el("button", {
        type: "button", class: "link", attrs: { title: o.key },
        on: { click: () => openObject(bucket, o.key, load) },
      }, shown(name || "(this folder's marker)"))),
      el("td", { class: "size", text: size(o.size) }),
      el("td", { class: "modified hide-narrow", text: when(o.modified) }),
      el("td", { class: "actions" },
        button("Download", () => download(bucket, o.key), { class: "small", aria: `Download ${o.key}` })));
  }

  function folderRow(p) {
    const name = p.slice(prefix.length);
    return el("tr", { class: "folder", attrs: { "data-prefix": p } },
      el("td", { class: "pick-cell" }),
      el("td", { class: "name" }, el("a", { href: folderHash(bucket, p) }, el("span", { class: "folder-icon", attrs: { "aria-hidden": "true" } }), shown(name))),
      el("td", { text: "folder" }), el("td", { class: "hide-narrow" }), el("td"));
  }

  async function load() {
    // `aria-busy` while a page loads; `data-prefix` names the folder shown (tests wait on both).
    listing.setAttribute("aria-busy", "true");
    fill(listing, el("p", { class: "loading", text: "Loading…" }));
    try {
      current = await s3.listObjects(bucket, { prefix: prefix + filter, token: tokens[page], maxKeys: PAGE });
    } catch (e) {
      fill(listing, errorBox(e));
      clear(pager);
      listing.setAttribute("aria-busy", "false");
      return;
    }
    tokens[page + 1] = current.next;
    const rows = [...current.folders.map(folderRow), ...current.objects.map(objectRow)];
    selectAll.checked = false;
    if (!rows.length) {
      fill(listing, el("p", { class: "empty", text: filter ? "Nothing matches this filter." : "This folder is empty: drop files here or use Upload." }));
    } else {
      fill(listing, el("div", { class: "table-wrap" }, el("table", { class: "objects" },
        el("caption", { class: "visually-hidden", text: `Objects in ${bucket}/${prefix}` }),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", class: "pick-cell" }, selectAll),
          el("th", { scope: "col", text: "Name" }), el("th", { scope: "col", text: "Size" }),
          el("th", { scope: "col", class: "hide-narrow", text: "Last modified" }),
          el("th", { scope: "col" }, el("span", { class: "visually-hidden", text: "Actions" })))),
        el("tbody", {}, rows))));
    }
    syncSelection();
    listing.setAttribute("aria-busy", "false");
    fill(pager, 
      page > 0 ? button("First page", () => { page = 0; load(); }, { class: "small" }) : null,
      page > 0 ? button("Previous page", () => { page -= 1; load(); }, { class: "small" }) : null,
      el("span", { class: "page-no", text: `Page ${page + 1}` }),
      current.next ? button("Next page", () => { page += 1; load(); }, { class: "small" }) : null);
  }
  selectAll.addEventListener("change", () => {
    for (const c of listing.querySelectorAll("input.pick")) c.checked = selectAll.checked;
    syncSelection();
  });

  fill(main, 
    breadcrumbs(bucket, prefix),
    el("h1", {}, shown(prefix ? prefix.split("/").slice(-2)[0] : bucket)),
    el("div", { class: "toolbar" },
      button("Upload", () => picker.click(), { class: "primary" }), picker,
      button("New folder", newFolder),
      deleteSelected,
      button("Bucket settings", () => openBucket(bucket, load)),
      field("Filter by prefix", filterInput)),
    uploadsBox,
    drop);
  await load();
}
