#!/usr/bin/env python3
"""Opens one URL in headless Chromium over HTTPS, with certificate checks on, and reports
what the browser got.

Usage: https_get.py URL [SPKI_SHA256_BASE64]

With SPKI_SHA256_BASE64 (the base64 SHA-256 of a certificate's SubjectPublicKeyInfo, here
the test CA's, which the server sends in its chain), Chromium accepts a chain holding that
key (--ignore-certificate-errors-spki-list): the test's way of trusting its own CA without
touching a system or NSS store. Without it, the chain must validate against the system
roots, so a test certificate is refused. Playwright's `ignore_https_errors` stays False.

Prints one JSON object: {"ok": true, "status": 200, "body": "...", "protocol": "TLS 1.3",
"issuer": "..."} or {"ok": false, "error": "..."}.

Chromium is Debian's (/usr/bin/chromium, COFFER_CHROMIUM overrides), driven by
Playwright; Playwright's own browser download is never used.
"""

import json
import os
import sys

from playwright.sync_api import Error, sync_playwright


def main():
    url = sys.argv[1]
    spki = sys.argv[2] if len(sys.argv) > 2 else ""
    # Root in a container: Chromium's sandbox needs user namespaces.
    args = ["--no-sandbox", "--disable-gpu"]
    if spki:
        args.append(f"--ignore-certificate-errors-spki-list={spki}")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("COFFER_CHROMIUM", "/usr/bin/chromium"),
            args=args,
        )
        try:
            context = browser.new_context(ignore_https_errors=False)
            page = context.new_page()
            try:
                response = page.goto(url)
            except Error as e:
                print(json.dumps({"ok": False, "error": str(e).splitlines()[0]}))
                return
            security = response.security_details() or {}
            print(
                json.dumps(
                    {
                        "ok": True,
                        "status": response.status,
                        "body": response.text(),
                        "protocol": security.get("protocol"),
                        "issuer": security.get("issuer"),
                    }
                )
            )
        finally:
            browser.close()


if __name__ == "__main__":
    main()
