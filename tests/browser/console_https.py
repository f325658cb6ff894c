#!/usr/bin/env python3
"""Logs into the web console over HTTPS in headless Chromium, certificate checks on, and
reports what the browser kept.

Usage: console_https.py CONSOLE_URL ACCESS_KEY SECRET_KEY SPKI_SHA256_BASE64

The test CA is trusted through --ignore-certificate-errors-spki-list, as in https_get.py.
Prints one JSON object: {"ok": true, "app": true, "cookies": [{"name", "secure",
"httpOnly", "sameSite"}], "errors": [...]}, or {"ok": false, "error": "..."}.
"""

import json
import os
import sys

from playwright.sync_api import Error, sync_playwright


def main():
    url, access_key, secret_key, spki = sys.argv[1:5]
    args = ["--no-sandbox", "--disable-gpu", f"--ignore-certificate-errors-spki-list={spki}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("COFFER_CHROMIUM", "/usr/bin/chromium"), args=args
        )
        try:
            context = browser.new_context(ignore_https_errors=False)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                page.goto(url + "/")
                page.fill("input[name=access_key]", access_key)
                page.fill("input[name=secret_key]", secret_key)
                page.keyboard.press("Enter")
                page.get_by_role("button", name="Create bucket").wait_for(timeout=30_000)
            except Error as e:
                print(json.dumps({"ok": False, "error": str(e).splitlines()[0], "errors": errors}))
                return
            cookies = [
                {k: c.get(k) for k in ("name", "secure", "httpOnly", "sameSite")}
                for c in context.cookies()
            ]
            print(json.dumps({"ok": True, "app": True, "cookies": cookies, "errors": errors}))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
