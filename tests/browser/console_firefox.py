#!/usr/bin/env python3
"""Logs into the web console in headless Firefox, creates a bucket, logs out; reports.

Usage: console_firefox.py ARGS_JSON

ARGS_JSON: {"console": "http://127.0.0.1:PORT", "access_key", "secret_key", "bucket"}

Firefox is Debian's Firefox ESR (/usr/bin/firefox-esr, COFFER_FIREFOX overrides), driven
over WebDriver BiDi by bidi.py beside this file. Only the console's stable handles are
used: the login inputs named access_key and secret_key and the form's submit button; then
elements by ARIA role and accessible name ("Create bucket", the field labelled "Bucket
name", "Log out"), never CSS classes.

Prints one JSON object on stdout:
{"firefox": "153.8.0",
 "steps": [{"step": "open", "ok": true, "path": "/login", "screenshot": "..."}, ...],
 "session_cookie": "...",        # the console's cookie while logged in, if it got one
 "cookies_after_logout": [...],  # cookie names left after logging out
 "js_errors": [...],             # log entries of level "error" (console.error, throws)
 "foreign_requests": [...]}      # requests to anything but 127.0.0.1
The steps stop at the first that fails; that one has "ok": false, "error" and the start of
the page's text. Screenshots: target/console-firefox/NN-STEP.png (COFFER_SCREENSHOTS
overrides the directory), Firefox's own output: firefox.log there.
"""

import json
import sys
from urllib.parse import urlsplit

from bidi import Firefox, css, role, screenshot_dir, text

COOKIE = "coffer_console"  # the session cookie's name (host/src/front/console/session.rs)
APP_TIMEOUT = 15.0  # seconds for the console to answer a step

CREATE = role("button", "Create bucket")
BUCKET_NAME = role("textbox", "Bucket name")
LOG_OUT = role("button", "Log out")

# The container a field belongs to (a dialog if it is in one, else its form), in which
# the button that confirms it is looked for.
CONTAINER = """(field) => field.closest("dialog, [role=dialog], [role=alertdialog]")
  || field.form || document.body"""


def log_in(tab, args):
    """Fills the login form by its inputs' names and submits it with its button."""
    tab.type(tab.wait_for_node(css("input[name=access_key]")), args["access_key"])
    tab.type(tab.wait_for_node(css("input[name=secret_key]")), args["secret_key"])
    tab.click(tab.wait_for_node(
        css("form:has(input[name=access_key]) :is(button, input)[type=submit]")))


def create_bucket(tab, name):
    """Types the name into the field labelled "Bucket name" and activates "Create
    bucket". Where the field is not on the page, "Create bucket" opens a dialog asking
    for it: the name goes there and the dialog's own "Create bucket" (or "Create")
    button confirms it, or Enter when it has neither."""
    fields = tab.visible(tab.find(BUCKET_NAME))
    if not fields:
        tab.click(tab.wait_for_node(CREATE, APP_TIMEOUT))
    field = fields[0] if fields else tab.wait_for_node(BUCKET_NAME, APP_TIMEOUT)
    tab.type(field, name)
    container = tab.call(CONTAINER, field)
    for label in ("Create bucket", "Create"):
        buttons = tab.visible(tab.find(role("button", label), within=container))
        if buttons:
            tab.click(buttons[0])
            return
    tab.press_enter()


def main():
    args = json.loads(sys.argv[1])
    base = args["console"].rstrip("/")
    out = screenshot_dir()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    report = {"steps": [], "js_errors": [], "foreign_requests": []}

    with Firefox(log=out / "firefox.log") as browser:
        report["firefox"] = browser.version
        browser.subscribe("log.entryAdded", "network.beforeRequestSent")
        tab = browser.new_tab()

        # The steps, in order; each raises when what it waits for does not happen.
        def open_console():
            tab.navigate(base + "/")
            tab.wait_for_path("/login")  # no session yet: redirected

        def submit_login():
            log_in(tab, args)

        def app_shown():
            tab.wait_for_path("/", APP_TIMEOUT)
            tab.wait_for_node(CREATE, APP_TIMEOUT)
            report["session_cookie"] = tab.cookies().get(COOKIE)

        def bucket_created():
            create_bucket(tab, args["bucket"])
            tab.wait_for_node(text(args["bucket"]), APP_TIMEOUT)  # the new bucket is listed

        def logged_out():
            tab.click(tab.wait_for_node(LOG_OUT, APP_TIMEOUT))
            tab.wait_for_path("/login", APP_TIMEOUT)
            tab.wait_for_node(css("input[name=access_key]"), APP_TIMEOUT)
            report["cookies_after_logout"] = sorted(tab.cookies())

        steps = [("open", open_console), ("login", submit_login), ("app", app_shown),
                 ("create-bucket", bucket_created), ("logout", logged_out)]
        for number, (name, run) in enumerate(steps, 1):
            step = {"step": name}
            report["steps"].append(step)
            try:
                run()
                step["ok"] = True
            except Exception as e:  # reported, and the run stops here
                step["ok"] = False
                step["error"] = f"{type(e).__name__}: {e}"
                try:
                    step["page_text"] = tab.evaluate("document.body.innerText")[:1000]
                except Exception:
                    pass
            try:
                step["path"] = tab.evaluate("location.pathname")
                step["screenshot"] = tab.screenshot(f"{number:02}-{name}")
            except Exception as e:
                step["screenshot_error"] = str(e)
            if not step["ok"]:
                break

        for entry in browser.events_of("log.entryAdded"):
            if entry["level"] == "error":
                report["js_errors"].append({
                    "type": entry["type"], "text": entry.get("text"),
                    "source": (entry.get("stackTrace") or {}).get("callFrames", [])[:3]})
        for event in browser.events_of("network.beforeRequestSent"):
            url = urlsplit(event["request"]["url"])
            if url.scheme in ("http", "https", "ws", "wss") and url.hostname != "127.0.0.1":
                report["foreign_requests"].append(event["request"]["url"])

    print(json.dumps(report))


if __name__ == "__main__":
    main()
