#!/usr/bin/env python3
"""Runs fetch() calls from a page in headless Chromium and reports what the page saw.

Usage: cors_fetch.py STEPS_JSON

STEPS_JSON is a list of {"method", "url", "headers" (optional), "body" (optional)}.
The page is served by this script from its own loopback origin
(http://127.0.0.1:<random port>), so every fetch to the server under test is
cross-origin and the browser applies CORS exactly as it would for a web application:
preflights, then the request, then whether the page may read the response.

Prints one JSON list on stdout, one entry per step:
{"ok": true, "status": 200, "body": "...", "etag": "..."} when the page could read the
response, {"ok": false, "error": "TypeError: Failed to fetch"} when the browser blocked
it. Also prints {"origin": "..."} first, so the caller knows which origin to allow.

Chromium is Debian's (/usr/bin/chromium, COFFER_CHROMIUM overrides), driven by
Playwright; Playwright's own browser download is never used.
"""

import http.server
import json
import os
import sys
import threading

from playwright.sync_api import sync_playwright

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>coffer cors test</title></head>
<body><p>cross-origin page</p></body></html>"""


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


FETCH = """async (step) => {
  try {
    const init = {method: step.method, headers: step.headers || {}};
    if (step.body !== undefined) init.body = step.body;
    const r = await fetch(step.url, init);
    return {ok: true, status: r.status, body: await r.text(),
            etag: r.headers.get("etag")};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
}"""


def main():
    steps = json.loads(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("COFFER_CHROMIUM", "/usr/bin/chromium"),
            # Root in a container: Chromium's sandbox needs user namespaces.
            args=["--no-sandbox", "--disable-gpu"],
        )
        try:
            page = browser.new_page()
            page.goto(origin + "/")
            for step in steps:
                results.append(page.evaluate(FETCH, step))
        finally:
            browser.close()
            server.shutdown()
    print(json.dumps({"origin": origin, "results": results}))


if __name__ == "__main__":
    main()
