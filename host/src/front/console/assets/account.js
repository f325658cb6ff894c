// The Account page: who is logged in (canonical id and display name, with copy buttons),
// the account's access keys (create: the secret is shown once; revoke), and the S3
// endpoint with ready-to-paste settings for s3cmd, the AWS CLI and rclone.

import { api } from "/assets/api.js";
import { el, shown, button, clear, errorBox, notify, copyable, copyButton, confirmDialog, when, fill } from "/assets/ui.js";

/** A titled, copyable configuration snippet. */
function snippet(title, text) {
  return el("section", { class: "snippet" },
    el("div", { class: "snippet-head" }, el("h3", { text: title }), copyButton(text, title)),
    // Line breaks are the snippet's own; any other control character is marked.
    el("pre", { class: "code", attrs: { tabindex: "0", role: "region", "aria-label": title } },
      text.split("\n").flatMap((line, i) => (i ? ["\n", shown(line)] : [shown(line)]))));
}

/** The settings snippets for `keyId` (the secret is a placeholder unless given). */
function snippets(s, keyId, secret) {
  const sec = secret || "YOUR_SECRET_KEY";
  const ep = new URL(s.s3_endpoint);
  const https = ep.protocol === "https:";
  const hostBase = (s.vhost_domains || [])[0];
  const host = ep.host;
  const vhost = hostBase ? `%(bucket)s.${hostBase}${ep.port ? ":" + ep.port : ""}` : host;
  return [
    snippet("~/.s3cfg (s3cmd)", [
      "[default]", `access_key = ${keyId}`, `secret_key = ${sec}`, `host_base = ${host}`,
      `host_bucket = ${vhost}`, `bucket_location = ${s.region}`, `use_https = ${https ? "True" : "False"}`, "signature_v2 = False",
    ].join("\n")),
    snippet("~/.aws/credentials (AWS CLI)", ["[coffer]", `aws_access_key_id = ${keyId}`, `aws_secret_access_key = ${sec}`].join("\n")),
    snippet("~/.aws/config (AWS CLI)", [
      "[profile coffer]", `region = ${s.region}`, `endpoint_url = ${s.s3_endpoint}`,
      "s3 =", `    addressing_style = ${hostBase ? "virtual" : "path"}`,
    ].join("\n")),
    snippet("Environment variables", [
      `export AWS_ACCESS_KEY_ID=${keyId}`, `export AWS_SECRET_ACCESS_KEY=${sec}`,
      `export AWS_DEFAULT_REGION=${s.region}`, `export AWS_ENDPOINT_URL=${s.s3_endpoint}`,
    ].join("\n")),
    snippet("rclone.conf", [
      "[coffer]", "type = s3", "provider = Other", `access_key_id = ${keyId}`, `secret_access_key = ${sec}`,
      `endpoint = ${s.s3_endpoint}`, `region = ${s.region}`, `force_path_style = ${hostBase ? "false" : "true"}`,
    ].join("\n")),
  ];
}

/** Renders the Account page into `main`. */
export async function accountPage(main, s) {
  const keysBox = el("div", { class: "keys-box" });
  const created = el("div", { class: "new-key", attrs: { "aria-live": "polite" } });
  const settings = el("div", { class: "settings" }, snippets(s, s.access_key));
  fill(main, 
    el("h1", { text: "Account" }),
    el("section", { class: "card" },
      el("h2", { text: "Identity" }),
      copyable("Display name", s.account.display_name || s.account.name),
      copyable("Canonical ID", s.account.canonical_id),
      s.account.email ? copyable("E-mail", s.account.email) : null,
      el("p", { class: "hint", text: "Give your canonical ID (or e-mail) to whoever grants you access to their buckets." })),
    el("section", { class: "card" },
      el("h2", { text: "Access keys" }),
      keysBox,
      button("Create access key", async () => {
        clear(created);
        try {
          const k = await api("POST", "/api/keys", {});
          created.append(
            el("p", { class: "warning", text: "Copy the secret key now: it is shown only once." }),
            copyable("New access key", k.access_key),
            copyable("New secret key", k.secret_key));
          fill(settings, ...snippets(s, k.access_key, k.secret_key));
          await loadKeys();
        } catch (e) { created.append(errorBox(e)); }
      }, { class: "primary" }),
      created),
    el("section", { class: "card" },
      el("h2", { text: "S3 endpoint" }),
      copyable("Endpoint", s.s3_endpoint),
      el("p", {}, "Region: ", el("code", {}, shown(s.region))),
      settings));

  async function loadKeys() {
    fill(keysBox, el("p", { class: "loading", text: "Loading keys…" }));
    let keys;
    try {
      keys = (await api("GET", "/api/keys")).keys || [];
    } catch (e) {
      fill(keysBox, errorBox(e));
      return;
    }
    const body = el("tbody");
    for (const k of keys) {
      const status = k.revoked ? "revoked" : k.current ? "active (this session)" : "active";
      body.append(el("tr", {},
        el("td", {}, el("code", {}, shown(k.access_key))),
        el("td", { text: when(k.created_at) }),
        el("td", { text: status }),
        el("td", {}, k.revoked ? null : button("Revoke", async () => {
          const warn = k.current ? " This is the key of this session: you will be logged out." : "";
          if (!(await confirmDialog(`Revoke ${k.access_key}?`, `Clients using this key will stop working.${warn}`, "Revoke"))) return;
          try {
            await api("DELETE", `/api/keys/${encodeURIComponent(k.access_key)}`);
            notify(`Key ${k.access_key} revoked`);
            if (k.current) window.location.assign("/login");
            else await loadKeys();
          } catch (e) { notify(`Revoking failed: ${e.code}: ${e.message}`, "error"); }
        }, { class: "small danger", aria: `Revoke ${k.access_key}` }))));
    }
    fill(keysBox, el("div", { class: "table-wrap" }, el("table", {},
      el("caption", { class: "visually-hidden", text: "Access keys" }),
      el("thead", {}, el("tr", {}, ["Access key", "Created", "Status", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
      body)));
  }
  await loadKeys();
}
