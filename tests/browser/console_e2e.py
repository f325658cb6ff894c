#!/usr/bin/env python3
"""Drives the web console in headless Chromium, as a user would, and reports what it saw.

Usage: console_e2e.py ARGS_JSON

ARGS_JSON: {"console": "http://127.0.0.1:P", "s3": "http://127.0.0.1:Q",
            "access_key", "secret_key", "bucket", "artifacts": DIR,
            "interactive": true}

Protocol on stdout, one JSON object per line:
- {"checkpoint": NAME, ...}: the browser has done something the caller verifies on the
  server side (with aws-sdk-s3); with "interactive", the script then waits for one line
  on stdin, {"ok": true} to go on or {"ok": false, "error": "..."} to stop.
- {"report": {...}} last: every step's findings, "failures" (empty when all passed).

Each step saves a screenshot to ARTIFACTS/NN-step.png; on a failure the page's HTML and a
Playwright trace (trace.zip) are saved too. Any native dialog (alert, confirm, prompt)
fails the run: the console must never open one, and a key named
`<img src=x onerror=alert(1)>` must stay text.

Chromium is Debian's (/usr/bin/chromium, COFFER_CHROMIUM overrides), driven by Playwright;
Playwright's own browser download is never used. axe-core is vendored in
tests/browser/vendor/axe-core (see its README).
"""

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
import urllib.error
import urllib.request

from playwright.sync_api import expect, sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
AXE = os.path.join(HERE, "vendor", "axe-core", "axe.min.js")
HOSTILE = "<img src=x onerror=alert(1)>"
BIDI = "report\u202egnp.exe"
TIMEOUT_MS = 15_000
# Assertions wait as long as actions (a debug build compiles a policy module in seconds).
expect.set_options(timeout=TIMEOUT_MS)


class Failed(Exception):
    """A check that did not hold."""


class OtherOrigin(http.server.BaseHTTPRequestHandler):
    """A blank page on another loopback origin (for the CORS checks)."""

    def do_GET(self):
        body = b"<!doctype html><html lang=en><head><meta charset=utf-8><title>other</title></head><body>other origin</body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_other_origin():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OtherOrigin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


FETCH = """async (url) => {
  try {
    const r = await fetch(url);
    return {ok: true, status: r.status, body: await r.text(), etag: r.headers.get("etag")};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
}"""

AXE_RUN = """async () => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
  return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary)}));
}"""

# A folder dropped from the desktop: Chromium gives the drop handler FileSystemEntry
# objects (webkitGetAsEntry) that it walks. A synthetic DataTransfer cannot carry
# directories, so this builds the same shape of entries around real File objects and
# dispatches a real DragEvent whose items answer webkitGetAsEntry with them.
DROP_FOLDER = """([selector, tree]) => {
  const target = document.querySelector(selector);
  const fileEntry = (name, path, content) => ({
    isFile: true, isDirectory: false, name, fullPath: path,
    file: (ok) => ok(new File([content], name, {type: "text/plain"})),
  });
  const dirEntry = (name, path, children) => ({
    isFile: false, isDirectory: true, name, fullPath: path,
    createReader: () => {
      let given = false;
      // Two batches then an empty one, as Chromium answers big folders.
      const half = Math.ceil(children.length / 2);
      let calls = 0;
      return {readEntries: (ok) => {
        calls += 1;
        if (calls === 1) ok(children.slice(0, half));
        else if (calls === 2) ok(children.slice(half));
        else ok([]);
      }};
    },
  });
  const build = (node, path) => node.dir
    ? dirEntry(node.name, path + node.name, node.children.map((c) => build(c, path + node.name + "/")))
    : fileEntry(node.name, path + node.name, node.content);
  const entry = build(tree, "/");
  const dt = new DataTransfer();
  const ev = new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: dt});
  const item = {kind: "file", type: "", webkitGetAsEntry: () => entry, getAsFile: () => null};
  Object.defineProperty(dt, "items", {value: [item]});
  for (const type of ["dragenter", "dragover"]) {
    const d = new DataTransfer();
    d.items.add(new File(["x"], "x"));
    target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: d}));
  }
  target.dispatchEvent(ev);
  return ev.defaultPrevented;
}"""


class Run:
    def __init__(self, args):
        self.args = args
        self.console = args["console"].rstrip("/")
        self.s3 = args["s3"].rstrip("/")
        self.bucket = args["bucket"]
        self.artifacts = args["artifacts"]
        self.interactive = args.get("interactive", True)
        os.makedirs(self.artifacts, exist_ok=True)
        self.report = {"steps": [], "failures": [], "dialogs": [], "page_errors": [], "console_errors": [], "axe": {}}
        self.n = 0
        self.tmp = tempfile.mkdtemp(prefix="coffer-console-e2e-")

    # ---- plumbing -------------------------------------------------------------------

    def emit(self, obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def checkpoint(self, name, **data):
        """Lets the caller check the server's state now; stops when it says no."""
        self.emit({"checkpoint": name, **data})
        if not self.interactive:
            return
        line = sys.stdin.readline()
        answer = json.loads(line) if line.strip() else {"ok": False, "error": "no answer"}
        if not answer.get("ok"):
            raise Failed(f"checkpoint {name}: {answer.get('error')}")

    def shot(self, name):
        self.n += 1
        path = os.path.join(self.artifacts, f"{self.n:02d}-{name}.png")
        self.page.screenshot(path=path, full_page=True)
        return path

    def step(self, name, **found):
        self.report["steps"].append({"step": name, **found})
        self.shot(name)

    def check(self, cond, what):
        if not cond:
            raise Failed(what)

    def axe(self, name):
        """Runs axe-core (WCAG 2.1 A/AA rules) on the current page; fails on violations."""
        has = self.page.evaluate("() => typeof window.axe !== 'undefined'")
        if not has:
            # Evaluated through the DevTools protocol, which the page's CSP does not govern.
            self.page.evaluate(self.axe_source)
        violations = self.page.evaluate(AXE_RUN)
        self.report["axe"][name] = violations
        self.check(not violations, f"axe on {name}: {json.dumps(violations)[:2000]}")

    def row(self, key):
        return self.page.locator(f'tr[data-key="{css_attr(key)}"]')

    def wait_listing(self, prefix=None):
        """Waits until the listing of `prefix` (any folder when None) has loaded."""
        sel = "main .listing" + (f'[data-prefix="{css_attr(prefix)}"]' if prefix is not None else "")
        self.page.wait_for_selector(sel + '[aria-busy="false"]', timeout=TIMEOUT_MS)

    def notified(self, text, timeout=TIMEOUT_MS):
        """Waits for a notification containing `text`."""
        expect(self.page.locator("#status .note", has_text=text).first).to_be_visible(timeout=timeout)

    def confirm_in_page(self, button_name):
        d = self.page.locator("dialog[open]")
        expect(d).to_be_visible(timeout=TIMEOUT_MS)
        d.get_by_role("button", name=button_name, exact=True).click()
        expect(d).to_have_count(0)

    def open_bucket_page(self):
        self.page.goto(f"{self.console}/#/b/{self.bucket}/")
        self.wait_listing("")

    # ---- the scenario -----------------------------------------------------------------

    def run(self):
        with open(AXE, encoding="utf-8") as f:
            self.axe_source = f.read()
        other_server, self.other = serve_other_origin()
        elsewhere_server, self.elsewhere = serve_other_origin()
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=os.environ.get("COFFER_CHROMIUM", "/usr/bin/chromium"),
                args=["--no-sandbox", "--disable-gpu"],
            )
            ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
            ctx.tracing.start(screenshots=True, snapshots=True)
            ctx.set_default_timeout(TIMEOUT_MS)
            self.page = page = ctx.new_page()
            page.on("dialog", self.on_dialog)
            page.on("pageerror", lambda e: self.report["page_errors"].append(str(e)))
            page.on("console", self.on_console)
            try:
                self.scenario(ctx)
            except Exception as e:  # noqa: BLE001 - everything is reported
                self.report["failures"].append(f"{type(e).__name__}: {e}")
                self.report["traceback"] = traceback.format_exc()
                try:
                    self.shot("failure")
                    with open(os.path.join(self.artifacts, "failure.html"), "w", encoding="utf-8") as f:
                        f.write(page.content())
                except Exception:  # noqa: BLE001
                    pass
                ctx.tracing.stop(path=os.path.join(self.artifacts, "trace.zip"))
            else:
                ctx.tracing.stop()
            finally:
                browser.close()
                other_server.shutdown()
                elsewhere_server.shutdown()
                shutil.rmtree(self.tmp, ignore_errors=True)
        if self.report["dialogs"]:
            self.report["failures"].append(f"native dialogs opened: {self.report['dialogs']}")
        if self.report["page_errors"]:
            self.report["failures"].append(f"script errors: {self.report['page_errors']}")
        csp = [m for m in self.report["console_errors"] if "Content Security Policy" in m]
        if csp:
            self.report["failures"].append(f"CSP violations: {csp}")
        with open(os.path.join(self.artifacts, "report.json"), "w", encoding="utf-8") as f:
            json.dump(self.report, f, indent=2)
        self.emit({"report": self.report})

    def on_dialog(self, dialog):
        self.report["dialogs"].append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(self, msg):
        if msg.type == "error":
            self.report["console_errors"].append(msg.text)

    def scenario(self, ctx):
        page = self.page
        c = self.console

        # 1. Without a session the console sends the browser to the login page.
        page.goto(c + "/")
        page.wait_for_url(c + "/login")
        self.axe("login")
        self.step("login-page")

        # 2. A wrong secret: the error is shown, no session.
        page.fill('input[name="access_key"]', self.args["access_key"])
        page.fill('input[name="secret_key"]', "not-the-secret")
        page.get_by_role("button", name="Log in").click()
        error = page.locator("#login-error")
        expect(error).not_to_be_empty()
        self.step("login-wrong-secret", error=error.inner_text())

        # 3. The right one: the buckets page; the session cookie is HttpOnly and Strict.
        page.fill('input[name="secret_key"]', self.args["secret_key"])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(c + "/")
        expect(page.get_by_role("heading", name="Buckets", level=1)).to_be_visible()
        cookies = [k for k in ctx.cookies(c) if k["value"]]
        self.check(cookies, "a session cookie was set")
        self.report["cookies"] = [{"name": k["name"], "httpOnly": k["httpOnly"], "sameSite": k["sameSite"]} for k in cookies]
        for k in cookies:
            self.check(k["httpOnly"], f"cookie {k['name']} is HttpOnly")
            self.check(k["sameSite"] == "Strict", f"cookie {k['name']} is SameSite=Strict")
        self.check(page.evaluate("() => document.cookie") == "", "scripts cannot read the session cookie")

        # 4. The page's own fetch without the CSRF header is refused.
        no_csrf = page.evaluate("""async () => {
          const r = await fetch("/api/presign", {method: "POST", headers: {"Content-Type": "application/json"},
            body: JSON.stringify({method: "GET", bucket: "x", key: "y", expires_seconds: 60, download: false})});
          let body = null; try { body = await r.json(); } catch {}
          return {status: r.status, body};
        }""")
        self.report["no_csrf"] = no_csrf
        self.check(no_csrf["status"] == 403, f"POST without X-CSRF-Token is 403: {no_csrf}")
        self.axe("buckets")
        self.step("logged-in")

        # 5. Create a bucket: an invalid name is refused as typed, then the real one.
        name = page.get_by_label("Bucket name")
        name.fill("Bad_Name")
        problem = page.locator(".create-bucket .field-error")
        expect(problem).not_to_be_empty()
        invalid_text = problem.inner_text()
        page.get_by_role("button", name="Create bucket").click()
        expect(page.locator(f'tr[data-bucket="{self.bucket}"]')).to_have_count(0)
        self.step("bucket-invalid-name", error=invalid_text)
        name.fill(self.bucket)
        expect(problem).to_be_empty()
        page.get_by_role("button", name="Create bucket").click()
        expect(page.locator(f'tr[data-bucket="{self.bucket}"]')).to_be_visible()
        # The same name again: the server's error is shown.
        name.fill(self.bucket)
        page.get_by_role("button", name="Create bucket").click()
        dup = page.locator(".create-bucket .form-errors .error")
        expect(dup).to_be_visible()
        self.step("bucket-created", duplicate_error=dup.inner_text())
        self.checkpoint("bucket_created", bucket=self.bucket)

        # 6. Open it; drop two files (one with a hostile name) and a folder.
        page.locator(f'tr[data-bucket="{self.bucket}"] a.bucket-name').click()
        self.wait_listing("")
        self.axe("objects-empty")
        zone = page.locator("section.dropzone")
        hello = b"hello from the console\n"
        zone.drop({"files": [
            {"name": "hello.txt", "mimeType": "text/plain", "buffer": hello},
            {"name": HOSTILE, "mimeType": "text/html", "buffer": b"<b>not html</b>"},
        ]})
        for key in ["hello.txt", HOSTILE]:
            expect(page.locator(f'li.upload.ok[data-key="{css_attr(key)}"]')).to_have_count(1)
        tree = {"dir": True, "name": "folder", "children": [
            {"name": "a.txt", "content": "file a"},
            {"name": BIDI, "content": "bidi"},
            {"dir": True, "name": "sub", "children": [{"name": "b.txt", "content": "file b"}]},
        ]}
        prevented = page.evaluate(DROP_FOLDER, ["section.dropzone", tree])
        self.check(prevented, "the listing accepts the folder drop")
        for key in ["folder/a.txt", "folder/" + BIDI, "folder/sub/b.txt"]:
            expect(page.locator(f'li.upload.ok[data-key="{css_attr(key)}"]')).to_have_count(1)
        self.wait_listing("")
        expect(self.row("hello.txt")).to_be_visible()
        # Dropping hello.txt again asks first (in the page); Cancel keeps the object.
        zone.drop({"files": [{"name": "hello.txt", "mimeType": "text/plain", "buffer": b"replaced"}]})
        warning = page.locator("dialog[open]")
        expect(warning).to_contain_text("hello.txt")
        self.shot("overwrite-warning")
        self.confirm_in_page("Cancel")
        hostile_text = self.row(HOSTILE).locator("td.name").inner_text()
        self.check(hostile_text == HOSTILE, f"the hostile key is shown as text: {hostile_text!r}")
        self.check(page.locator("main img").count() == 0, "no element came from a key")
        self.step("dropped", hostile_shown=hostile_text)
        self.checkpoint("dropped", keys=["hello.txt", HOSTILE, "folder/a.txt", "folder/" + BIDI, "folder/sub/b.txt"])

        # 7. A 50 MiB file through the Upload button, with progress.
        big = os.path.join(self.tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(50 * 1024 * 1024))
        with open(big, "rb") as f:
            big_sha = hashlib.sha256(f.read()).hexdigest()
        # Every value the progress bar takes, recorded in the page as it changes (the
        # upload may be quicker than any polling from here).
        page.evaluate("""() => {
          window.cofferProgress = [];
          new MutationObserver((records) => {
            for (const r of records) {
              if (r.target.matches('li.upload[data-key="big.bin"] progress')) window.cofferProgress.push(r.target.value);
            }
          }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["value"]});
        }""")
        self.upload_file(big)
        done = page.locator('li.upload.ok[data-key="big.bin"]')
        expect(done.or_(page.locator('li.upload.failed[data-key="big.bin"]')).first).to_be_visible(timeout=60_000)
        self.check(done.count() == 1, "the 50 MiB upload: " + page.locator('li.upload[data-key="big.bin"]').inner_text())
        bar = page.locator('li.upload[data-key="big.bin"] progress')
        self.check(bar.evaluate("(p) => p.value") == 100, "the progress bar reaches 100")
        seen = sorted(set(page.evaluate("() => window.cofferProgress")))
        self.check(any(0 < v < 100 for v in seen), f"progress was shown on the way: {seen}")
        self.step("uploaded-50mib", progress_values=seen)
        self.checkpoint("big_uploaded", key="big.bin", sha256=big_sha, size=50 * 1024 * 1024)

        # 7b. Above the multipart threshold (64 MiB): a multipart upload of Blob slices.
        multi = os.path.join(self.tmp, "multi.bin")
        with open(multi, "wb") as f:
            f.write(os.urandom(70 * 1024 * 1024))
        with open(multi, "rb") as f:
            multi_sha = hashlib.sha256(f.read()).hexdigest()
        self.upload_file(multi)
        expect(page.locator('li.upload.ok[data-key="multi.bin"]')).to_have_count(1, timeout=90_000)
        self.step("uploaded-multipart")
        self.checkpoint("multipart_uploaded", key="multi.bin", sha256=multi_sha, size=70 * 1024 * 1024)

        # 7c. Cancel: the upload stops, and the multipart upload is aborted on the server.
        # The browser's upload bandwidth is throttled so that there is time to cancel.
        cancel = os.path.join(self.tmp, "cancel.bin")
        os.link(multi, cancel)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 4 * 1024 * 1024})
        self.upload_file(cancel)
        row = page.locator('li.upload[data-key="cancel.bin"]')
        expect(row.locator("progress")).to_be_visible()
        page.wait_for_function(
            "() => { const p = document.querySelector('li.upload[data-key=\"cancel.bin\"] progress'); return p && p.value > 0; }",
            timeout=30_000)
        row.get_by_role("button", name="Cancel upload of cancel.bin").click()
        expect(row).to_have_class("upload cancelled")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        cdp.detach()
        self.step("upload-cancelled", state=row.locator(".upload-state").inner_text())
        self.checkpoint("upload_cancelled", key="cancel.bin")

        # 8. The listing: folders, breadcrumbs, the marker for the bidi override.
        self.wait_listing("")
        expect(page.locator('tr.folder[data-prefix="folder/"]')).to_be_visible()
        page.locator('tr.folder[data-prefix="folder/"] a').click()
        self.wait_listing("folder/")
        crumbs = page.get_by_role("navigation", name="Breadcrumb").inner_text()
        bidi_cell = self.row("folder/" + BIDI).locator("td.name")
        self.check(bidi_cell.locator(".ctl").count() == 1, "the U+202E in a key is shown as a marker")
        self.check("\u202e" not in bidi_cell.inner_text(), "the raw U+202E is not in the page text")
        expect(page.locator('tr.folder[data-prefix="folder/sub/"]')).to_be_visible()
        self.axe("objects-folder")
        self.step("folder", breadcrumbs=crumbs, bidi=bidi_cell.inner_text())
        # The same folder on a phone: the table scrolls inside its box, the page does not.
        page.set_viewport_size({"width": 360, "height": 740})
        overflow = self.no_overflow(360)
        self.axe("objects-phone")
        self.step("phone-objects", scroll_width=overflow)
        page.set_viewport_size({"width": 1280, "height": 900})

        # 8b. A folder of more than a page (put there by the caller): one page at a time by
        # continuation token, and the prefix filter.
        page.goto(f"{c}/#/b/{self.bucket}/many%2F")
        self.wait_listing("many/")
        expect(page.locator("tr.object")).to_have_count(100)
        page.get_by_role("button", name="Next page").click()
        self.wait_listing("many/")
        expect(page.locator("tr.object")).to_have_count(self.args["many"] - 100)
        expect(page.get_by_role("button", name="Next page")).to_have_count(0)
        page.get_by_role("button", name="Previous page").click()
        self.wait_listing("many/")
        expect(page.locator("tr.object")).to_have_count(100)
        page.get_by_label("Filter by prefix").fill("01")
        expect(page.locator("tr.object")).to_have_count(10)
        self.step("pagination-and-filter")
        page.goto(f"{c}/#/b/{self.bucket}/folder%2F")
        self.wait_listing("folder/")

        # 9. A share link (presigned GET, chosen expiry) of a private object, fetched with curl.
        self.row("folder/a.txt").locator("td.name button").click()
        drawer = page.locator("#drawer")
        expect(drawer).to_be_visible()
        drawer.get_by_label("Link expires after").select_option(label="7 days")
        drawer.get_by_role("button", name="Create share link").click()
        share = drawer.get_by_label("Share link", exact=True).input_value()
        anon_private = http_get(f"{self.s3}/{self.bucket}/folder/a.txt")
        self.check(anon_private[0] == 403, f"the private object is not public: {anon_private[0]}")
        curl = subprocess.run(["curl", "-sS", "-f", share], capture_output=True, timeout=30)
        self.check(curl.returncode == 0 and curl.stdout == b"file a", f"curl of the share link: {curl.returncode} {curl.stdout[:200]!r} {curl.stderr[:300]!r}")
        self.axe("object-drawer")
        vhost = drawer.get_by_label("Virtual-host URL", exact=True).inner_text()
        self.check(f"{self.bucket}.{self.args['domain']}" in vhost, f"the virtual-host URL: {vhost}")
        self.step("share-link", share_expires="7 days", vhost_url=vhost)

        # 9b. A grant to another account by e-mail in the grant table.
        drawer.get_by_role("tab", name="ACL").click()
        drawer.get_by_role("button", name="Add grant").click()
        drawer.get_by_label("Grantee type").last.select_option("email")
        drawer.get_by_label("Grantee", exact=True).last.fill(self.args["friend_email"])
        drawer.get_by_label("Permission").last.select_option("READ")
        drawer.get_by_role("button", name="Save grants").click()
        self.notified("Grants of folder/a.txt saved")
        expect(drawer.locator("table.grants tbody tr")).to_have_count(2)
        self.step("grant-by-email")
        self.checkpoint("granted", key="folder/a.txt")
        drawer.get_by_role("button", name="Close drawer").click()

        # 10. Downloads (presigned, attachment): bytes equal.
        page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=self.bucket).click()
        self.wait_listing("")
        got = self.download("hello.txt")
        self.check(got == hello, "the downloaded bytes are the uploaded ones")
        got_big = self.download("big.bin")
        self.check(hashlib.sha256(got_big).hexdigest() == big_sha, "the 50 MiB download matches")
        self.step("downloaded")

        # 11. Make hello.txt public in the drawer; anyone can GET it.
        self.row("hello.txt").locator("td.name button").click()
        expect(drawer).to_be_visible()
        drawer.get_by_role("tab", name="ACL").click()
        drawer.get_by_label("Canned ACL").select_option("public-read")
        drawer.get_by_role("button", name="Apply preset").click()
        expect(drawer.locator(".badge.public")).to_be_visible()
        status, body = http_get(f"{self.s3}/{self.bucket}/hello.txt")
        self.check(status == 200 and body == hello, f"anonymous GET of the public object: {status}")
        self.axe("object-acl")
        self.step("made-public", anonymous_status=status)
        self.checkpoint("public", key="hello.txt")

        # 12. Metadata in the drawer (a hostile value too); the ACL stays public.
        drawer.get_by_role("tab", name="Metadata").click()
        drawer.get_by_role("button", name="Add metadata").click()
        drawer.get_by_label("Metadata name").last.fill("owner")
        drawer.get_by_label("Metadata value").last.fill("alice")
        drawer.get_by_role("button", name="Add metadata").click()
        drawer.get_by_label("Metadata name").last.fill("note")
        drawer.get_by_label("Metadata value").last.fill("<script>alert(2)</script>")
        drawer.get_by_label("Cache-Control").fill("max-age=60")
        drawer.get_by_label("Content-Disposition").fill('inline; filename="hello.txt"')
        drawer.get_by_role("button", name="Save metadata").click()
        self.notified("Metadata of hello.txt saved")
        expect(drawer.locator("tr.meta-row")).to_have_count(2)
        pairs = drawer.locator("tr.meta-row").evaluate_all(
            "rows => rows.map(r => Array.from(r.querySelectorAll('input')).map(i => i.value))")
        self.check(sorted(pairs) == [["note", "<script>alert(2)</script>"], ["owner", "alice"]],
                   f"the drawer shows the saved metadata: {pairs}")
        expect(drawer.get_by_label("Cache-Control")).to_have_value("max-age=60")
        # The object's own disposition is shown (a HEAD through the console keeps it).
        expect(drawer.get_by_label("Content-Disposition")).to_have_value('inline; filename="hello.txt"')
        status, _ = http_get(f"{self.s3}/{self.bucket}/hello.txt")
        self.check(status == 200, f"still public after the metadata change: {status}")
        self.axe("object-metadata")
        self.step("metadata", anonymous_status=status)
        self.checkpoint("metadata", key="hello.txt", metadata={"owner": "alice", "note": "<script>alert(2)</script>"},
                        cache_control="max-age=60", content_disposition='inline; filename="hello.txt"')
        drawer.get_by_role("button", name="Close drawer").click()

        # 13. A CORS rule in the bucket's drawer; a page on that origin reads the object, a
        # page on another does not.
        page.get_by_role("button", name="Bucket settings").click()
        expect(drawer).to_be_visible()
        drawer.get_by_role("tab", name="CORS").click()
        drawer.get_by_role("button", name="Add rule").click()
        # A rule without an origin: the server refuses it, and says why.
        drawer.get_by_role("button", name="Save CORS").click()
        cors_error = drawer.locator(".tab-errors .error")
        expect(cors_error).to_be_visible()
        self.step("cors-refused", error=cors_error.inner_text())
        drawer.get_by_label("Rule ID").fill("<b>console-rule</b>")
        drawer.get_by_label("Allowed origins").fill(self.other)
        drawer.get_by_label("Expose headers").fill("ETag")
        drawer.get_by_label("Max age (seconds)").fill("60")
        drawer.get_by_role("button", name="Save CORS").click()
        self.notified(f"CORS configuration of {self.bucket} saved")
        expect(drawer.get_by_label("Rule ID")).to_have_value("<b>console-rule</b>")
        drawer.get_by_label("Origin", exact=True).fill(self.other)
        drawer.get_by_role("button", name="Test", exact=True).click()
        verdict = drawer.locator(".cors-result")
        expect(verdict).not_to_be_empty()
        verdict_text = verdict.inner_text()
        self.check("Allowed" in verdict_text, f"the CORS test box: {verdict_text}")
        self.axe("bucket-cors")
        self.step("cors", test_box=verdict_text)
        self.checkpoint("cors", origin=self.other)
        url = f"{self.s3}/{self.bucket}/hello.txt"
        cross = ctx.new_page()
        cross.goto(self.other + "/")
        allowed = cross.evaluate(FETCH, url)
        cross.goto(self.elsewhere + "/")
        blocked = cross.evaluate(FETCH, url)
        # A page on another origin (same site: another port of 127.0.0.1, so the browser
        # sends the session cookie) posts to the console: refused, the session lives on.
        cross.evaluate("""async (u) => {
          try { await fetch(u, {method: "POST", mode: "no-cors", credentials: "include", body: "{}"}); } catch (e) {}
        }""", c + "/api/logout")
        cross.close()
        alive = page.evaluate("async () => (await fetch('/api/session')).status")
        self.report["session_after_cross_site_post"] = alive
        self.check(alive == 200, f"a cross-origin POST did not end the session: {alive}")
        self.report["cors_fetch"] = {"allowed": allowed, "blocked": blocked}
        self.check(allowed.get("ok") and allowed.get("body") == hello.decode() and allowed.get("etag"),
                   f"the allowed origin reads the object and its ETag: {allowed}")
        self.check(not blocked.get("ok"), f"another origin is blocked: {blocked}")
        # 13b. The Access tab: a bucket policy (a refused one explained, then a public
        # one), Block Public Access, Object Ownership, and the "Why?" box saying which
        # statement or setting decides a described request.
        drawer.get_by_role("tab", name="Access").click()
        policy_box = drawer.get_by_label("Bucket policy (JSON)")
        expect(policy_box).to_be_visible()
        statement = {"Sid": "ConsoleShared", "Effect": "Allow", "Principal": "*",
                     "Action": "s3:GetObjectz", "Resource": f"arn:aws:s3:::{self.bucket}/shared/*"}
        policy_box.fill(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        drawer.get_by_role("button", name="Save policy").click()
        policy_error = drawer.locator(".access-policy .tab-errors .error")
        expect(policy_error).to_be_visible()
        self.check("action" in policy_error.inner_text().lower(),
                   f"the refused policy's reason is shown: {policy_error.inner_text()}")
        statement["Action"] = "s3:GetObject"
        policy_box.fill(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        drawer.get_by_role("button", name="Save policy").click()
        self.notified(f"Bucket policy of {self.bucket} saved")
        expect(drawer.locator(".policy-status")).to_have_text("The policy is public.")

        def why(key):
            drawer.get_by_label("Operation", exact=True).select_option("GetObject")
            drawer.get_by_label("Object key").fill(key)
            drawer.get_by_role("button", name="Ask why").click()
            result = drawer.locator(".why-result .why-reason")
            expect(result).to_be_visible()
            return drawer.locator(".why-result").inner_text()

        allowed = why("shared/report.txt")
        self.check("Allowed" in allowed and "ConsoleShared" in allowed, f"Why? allowed: {allowed}")
        drawer.get_by_label("RestrictPublicBuckets").check()
        drawer.get_by_role("button", name="Save Block Public Access").click()
        self.notified(f"Block Public Access of {self.bucket} saved")
        restricted = why("shared/report.txt")
        self.check("AccessDenied" in restricted and "RestrictPublicBuckets" in restricted,
                   f"Why? restricted: {restricted}")
        drawer.get_by_role("button", name="Remove Block Public Access").click()
        self.notified(f"Block Public Access of {self.bucket} removed")
        drawer.get_by_label("Object Ownership").select_option("BucketOwnerPreferred")
        drawer.get_by_role("button", name="Save ownership").click()
        self.notified(f"Object Ownership of {self.bucket} saved")
        self.axe("bucket-access")
        self.step("access", allowed=allowed, restricted=restricted)
        self.checkpoint("access_settings")
        drawer.get_by_role("tab", name="Metadata").click()
        expect(drawer.get_by_label("Metadata rules (JSON)")).to_be_visible()
        self.step("bucket-metadata-rules")
        # The bucket's ACL: public-read, then its row in the list shows the Public badge.
        drawer.get_by_role("tab", name="ACL").click()
        drawer.get_by_label("Canned ACL").select_option("public-read")
        drawer.get_by_role("button", name="Apply preset").click()
        expect(drawer.locator(".badge.public")).to_be_visible()
        self.step("bucket-public")
        self.checkpoint("bucket_public")
        drawer.get_by_role("button", name="Close drawer").click()

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Buckets").click()
        expect(page.locator(f'tr[data-bucket="{self.bucket}"] .badge.public')).to_have_text("Public")
        self.step("bucket-list-public-badge")

        # 14. The account page: identity, keys (create: secret once; revoke), settings.
        page.get_by_role("link", name="Account").click()
        expect(page.get_by_role("heading", name="Account", level=1)).to_be_visible()
        expect(page.locator(".keys-box table")).to_be_visible()
        page.get_by_role("button", name="Create access key").click()
        new_secret = page.get_by_label("New secret key", exact=True)
        expect(new_secret).to_be_visible()
        new_key = page.get_by_label("New access key", exact=True).inner_text()
        self.axe("account")
        self.step("account", created_key=new_key)
        self.checkpoint("key_created", access_key=new_key, secret_key=new_secret.inner_text())
        page.get_by_role("button", name=f"Revoke {new_key}").click()
        self.confirm_in_page("Revoke")
        expect(page.get_by_role("button", name=f"Revoke {new_key}")).to_have_count(0)
        self.step("key-revoked")
        self.checkpoint("key_revoked", access_key=new_key)

        # 15. A new folder, then delete everything with multi-select, folder by folder;
        # deleting the bucket first fails with BucketNotEmpty, explained.
        self.open_bucket_page()
        page.get_by_role("button", name="New folder").click()
        page.locator("dialog[open]").get_by_label("Folder name").fill("empty")
        page.locator("dialog[open]").get_by_role("button", name="Create folder").click()
        page.wait_for_url(lambda u: u.endswith(f"#/b/{self.bucket}/empty%2F"))
        self.wait_listing("empty/")
        self.step("new-folder")
        self.checkpoint("folder_created", key="empty/")
        page.goto(c + "/#/")
        self.delete_bucket_row()
        err = page.locator("#alerts .note.error").last
        expect(err).to_contain_text("BucketNotEmpty")
        self.step("bucket-not-empty", error=err.inner_text())
        for prefix in ["folder/sub/", "folder/", "empty/", "many/", ""]:
            page.goto(f"{c}/#/b/{self.bucket}/{urlquote(prefix)}")
            self.wait_listing(prefix)
            # One page at a time (many/ holds more than a page).
            while page.locator("tr.object").count():
                first = page.locator("tr.object").first.element_handle()
                page.get_by_label("Select all on this page").check()
                page.get_by_role("button", name="Delete selected").click()
                self.confirm_in_page("Delete")
                # The listing is rebuilt once the objects are gone.
                first.wait_for_element_state("hidden")
                self.wait_listing(prefix)
        self.step("objects-deleted")
        self.checkpoint("objects_deleted")
        page.goto(c + "/#/")
        self.delete_bucket_row()
        expect(page.locator(f'tr[data-bucket="{self.bucket}"]')).to_have_count(0)
        self.step("bucket-deleted")
        self.checkpoint("bucket_deleted")

        # 16. A phone's width: nothing overflows, still accessible.
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(c + "/#/account")
        expect(page.get_by_role("heading", name="Account", level=1)).to_be_visible()
        overflow = self.no_overflow(360)
        self.axe("account-phone")
        self.step("phone-account", scroll_width=overflow)
        page.goto(c + "/#/")
        expect(page.get_by_role("heading", name="Buckets", level=1)).to_be_visible()
        overflow = self.no_overflow(360)
        self.step("phone-buckets", scroll_width=overflow)
        page.set_viewport_size({"width": 1280, "height": 900})

        # 17. Log out: back to the login page, and the console is closed again.
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(c + "/login")
        page.goto(c + "/")
        page.wait_for_url(c + "/login")
        self.step("logged-out")

        # 18. An administrator: metadata rules for a bucket (the default module's
        # configuration) in the Metadata tab; an upload breaking them is refused with the
        # module's words, and so is a metadata edit.
        rules_bucket = self.args["rules_bucket"]
        page.fill('input[name="access_key"]', self.args["admin_access_key"])
        page.fill('input[name="secret_key"]', self.args["admin_secret_key"])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(c + "/")
        page.goto(f"{c}/#/b/{rules_bucket}/")
        self.wait_listing("")
        page.get_by_role("button", name="Bucket settings").click()
        drawer = page.locator("#drawer")
        drawer.get_by_role("tab", name="Metadata").click()
        rules = drawer.get_by_label("Metadata rules (JSON)")
        rules.fill("{not json")
        drawer.get_by_role("button", name="Save rules").click()
        expect(drawer.locator(".tab-errors .error")).to_contain_text("Not JSON")
        rules.fill(json.dumps({"metadata": [{"schema": {"required": ["owner"]}}]}))
        drawer.get_by_role("button", name="Save rules").click()
        # Attaching compiles the module with its rules: seconds in a debug build on a busy
        # machine.
        saved = page.locator("#status .note", has_text=f"Metadata rules of {rules_bucket} saved")
        expect(saved.or_(drawer.locator(".tab-errors .error")).first).to_be_visible(timeout=90_000)
        self.check(not drawer.locator(".tab-errors .error").count(),
                   f"saving the rules: {drawer.locator('.tab-errors').inner_text()}")
        self.axe("bucket-metadata-rules-admin")
        self.step("metadata-rules-saved")
        drawer.get_by_role("tab", name="Policy").click()
        expect(drawer.get_by_label("Policy module")).to_have_value("default")
        self.step("policy-tab")
        drawer.get_by_role("button", name="Close drawer").click()
        page.locator("section.dropzone").drop({"files": [{"name": "no-owner.txt", "mimeType": "text/plain", "buffer": b"x"}]})
        failed = page.locator('li.upload.failed[data-key="no-owner.txt"]')
        expect(failed).to_contain_text("owner")
        refused = failed.locator(".upload-state").inner_text()
        self.step("upload-refused-by-rules", error=refused)
        # An object the rules accept (put by the caller), then a metadata edit dropping owner.
        self.wait_listing("")
        self.row("ok.txt").locator("td.name button").click()
        drawer.get_by_role("tab", name="Metadata").click()
        expect(drawer.locator("tr.meta-row")).to_have_count(1)
        drawer.get_by_role("button", name="Remove metadata").click()
        drawer.get_by_role("button", name="Save metadata").click()
        edit_error = drawer.locator(".tab-errors .error")
        expect(edit_error).to_contain_text("owner")
        self.step("metadata-edit-refused", error=edit_error.inner_text())
        self.checkpoint("rules_enforced", refused=refused, edit_error=edit_error.inner_text())
        drawer.get_by_role("button", name="Close drawer").click()

        # 19. An administrator attaches a stored module in the Policy tab, with its
        # configuration (checked through the admin API), then detaches it.
        module = self.args["stored_module"]
        page.get_by_role("button", name="Bucket settings").click()
        drawer.get_by_role("tab", name="Policy").click()
        drawer.get_by_label("Policy module").select_option(module)
        drawer.get_by_label("Configuration (JSON, optional)").fill(json.dumps({"prefixes": ["locked/"]}))
        drawer.get_by_role("button", name="Attach").click()
        self.notified(f"{module} attached to {rules_bucket}", timeout=90_000)
        expect(drawer.get_by_label("Policy module")).to_have_value(module)
        self.axe("bucket-policy-admin")
        self.step("module-attached")
        self.checkpoint("module_attached", module=module)
        drawer.get_by_role("button", name="Detach").click()
        self.notified(f"Policy module detached from {rules_bucket}")
        expect(drawer.get_by_label("Policy module")).to_have_value("default")
        self.step("module-detached")
        self.checkpoint("module_detached")
        drawer.get_by_role("button", name="Close drawer").click()

        # 19b. Versions, tags, lifecycle rules and Object Lock, in a bucket with Object Lock
        # where the caller put two versions of doc.txt.
        versions_bucket = self.args["versions_bucket"]
        page.goto(f"{c}/#/b/{versions_bucket}/")
        self.wait_listing("")
        page.get_by_role("button", name="Bucket settings").click()
        drawer.get_by_role("tab", name="Versioning").click()
        expect(drawer.locator(".versioning-state")).to_have_text("Enabled")
        expect(drawer.locator(".lock-state")).to_contain_text("On")
        self.axe("bucket-versioning")
        drawer.get_by_role("tab", name="Tags").click()
        drawer.get_by_role("button", name="Add tag").click()
        drawer.get_by_label("Tag key").last.fill("team")
        drawer.get_by_label("Tag value").last.fill("storage")
        drawer.get_by_role("button", name="Save tags").click()
        self.notified(f"Tags of {versions_bucket} saved")
        expect(drawer.locator("tr.tag-row")).to_have_count(1)
        drawer.get_by_role("tab", name="Lifecycle").click()
        drawer.get_by_label("Lifecycle configuration (XML)").fill(
            "<LifecycleConfiguration><Rule><ID>tmp</ID><Status>Enabled</Status>"
            "<Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>30</Days></Expiration>"
            "</Rule></LifecycleConfiguration>")
        drawer.get_by_role("button", name="Save rules").click()
        self.notified(f"Lifecycle rules of {versions_bucket} saved")
        expect(drawer.locator("li.rule")).to_contain_text("tmp")
        self.axe("bucket-lifecycle")
        drawer.get_by_role("button", name="Close drawer").click()
        self.row("doc.txt").locator("td.name button").click()
        drawer.get_by_role("tab", name="Versions").click()
        expect(drawer.locator("tr.version")).to_have_count(2)
        self.axe("object-versions")
        # Restore the older version: it becomes current again, as a third version.
        drawer.locator("tr.version").nth(1).get_by_role("button", name="Restore", exact=False).click()
        self.notified("is current again")
        expect(drawer.locator("tr.version")).to_have_count(3)
        drawer.get_by_role("tab", name="Tags").click()
        drawer.get_by_role("button", name="Add tag").click()
        drawer.get_by_label("Tag key").last.fill("state")
        drawer.get_by_label("Tag value").last.fill("restored")
        drawer.get_by_role("button", name="Save tags").click()
        self.notified("Tags of doc.txt saved")
        drawer.get_by_role("tab", name="Lock").click()
        expect(drawer.locator(".legal-hold-state")).to_have_text("off")
        drawer.get_by_role("button", name="Place legal hold").click()
        self.notified("Legal hold of doc.txt placed")
        expect(drawer.locator(".legal-hold-state")).to_have_text("on")
        self.axe("object-lock")
        # A held version cannot be deleted, even by the administrator: the error is shown.
        drawer.get_by_role("tab", name="Versions").click()
        drawer.locator("tr.version").first.get_by_role("button", name="Delete", exact=False).click()
        self.confirm_in_page("Delete")
        held_error = drawer.locator(".tab-errors .error")
        expect(held_error).to_contain_text("AccessDenied")
        held_text = held_error.inner_text()
        drawer.get_by_role("button", name="Close drawer").click()
        # Deleting the object adds a delete marker; the Versioning tab undeletes it.
        page.get_by_label("Select all on this page").check()
        page.get_by_role("button", name="Delete selected").click()
        self.confirm_in_page("Delete")
        expect(self.row("doc.txt")).to_have_count(0)
        page.get_by_role("button", name="Bucket settings").click()
        drawer.get_by_role("tab", name="Versioning").click()
        drawer.get_by_role("button", name="Undelete doc.txt").click()
        self.notified("doc.txt is back")
        drawer.get_by_role("button", name="Close drawer").click()
        page.reload()
        self.wait_listing("")
        expect(self.row("doc.txt")).to_have_count(1)
        self.step("versions", held_error=held_text)
        self.checkpoint("versions", bucket=versions_bucket)
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(c + "/login")

        # 20. Guessing a key's secret: after a few failures the server makes the caller wait,
        # and the page says for how long.
        error = page.locator("#login-error")
        for attempt in range(8):
            page.fill('input[name="access_key"]', self.args["friend_access_key"])
            page.fill('input[name="secret_key"]', f"guess-{attempt}")
            page.get_by_role("button", name="Log in").click()
            expect(error).not_to_be_empty()
            expect(page.get_by_role("button", name="Log in")).to_be_enabled()
            if "try again" in error.inner_text().lower():
                break
        self.check("try again" in error.inner_text().lower(), f"the rate limit is shown: {error.inner_text()}")
        self.step("login-rate-limited", attempts=attempt + 1, error=error.inner_text())

    def no_overflow(self, width):
        """Checks that nothing makes the page scroll sideways at `width`; the page width."""
        scroll = self.page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width:
            wide = self.page.evaluate("""(w) => Array.from(document.querySelectorAll('body *'))
              .filter((e) => e.getBoundingClientRect().right > w)
              .slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""", width)
            raise Failed(f"no horizontal scrolling at {width} px ({scroll}): {wide}")
        return scroll

    def upload_file(self, path):
        """Picks `path` with the Upload button's file chooser."""
        with self.page.expect_file_chooser() as chooser:
            self.page.get_by_role("button", name="Upload", exact=True).click()
        chooser.value.set_files(path)

    def delete_bucket_row(self):
        row = self.page.locator(f'tr[data-bucket="{self.bucket}"]')
        expect(row).to_be_visible()
        row.get_by_role("button", name="Delete", exact=True).click()
        self.confirm_in_page("Delete")

    def download(self, key):
        with self.page.expect_download() as d:
            self.row(key).get_by_role("button", name=f"Download {key}").click()
        with open(d.value.path(), "rb") as f:
            return f.read()


def css_attr(s):
    """`s` inside a double-quoted CSS attribute selector."""
    return s.replace("\\", "\\\\").replace('"', '\\"')


def urlquote(s):
    return urllib.request.quote(s, safe="")


def http_get(url):
    """An anonymous GET: (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    run = Run(json.loads(sys.argv[1]))
    run.run()


if __name__ == "__main__":
    main()
