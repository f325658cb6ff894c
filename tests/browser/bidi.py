"""A minimal WebDriver BiDi client, enough to drive Debian's Firefox ESR in tests.

Playwright cannot drive a stock Firefox and geckodriver is not packaged, but Firefox
speaks WebDriver BiDi (https://w3c.github.io/webdriver-bidi/) itself: started with
`--remote-debugging-port`, it listens for a WebSocket at ws://127.0.0.1:PORT/session
(Firefox 153 has no other remote protocol left, so there is no pref to switch it on).

    with Firefox() as browser:              # headless, throwaway profile
        tab = browser.new_tab()
        tab.navigate("http://127.0.0.1:9002/")
        tab.click(tab.wait_for_node(role("button", "Log in")))
        tab.screenshot("after-login")

Everything is synchronous and single-threaded: a command sends one message and reads
until its answer arrives; events read on the way (the ones subscribed to) are kept in
`browser.events`, in order. Every wait has a timeout.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from websockets.sync.client import connect

# Written to the throwaway profile's user.js, on top of the preferences Firefox's remote
# agent sets itself (remote.prefs.recommended: no updates, telemetry, safe browsing...):
# no first-run pages and no speculative or background traffic, so that every request the
# browser makes comes from the page under test.
PREFS = {
    "browser.aboutwelcome.enabled": False,
    "browser.startup.page": 0,
    "browser.newtabpage.enabled": False,
    "app.normandy.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.urlbar.speculativeConnect.enabled": False,
}


def screenshot_dir():
    """Where screenshots go: COFFER_SCREENSHOTS, or target/console-firefox in this
    repository."""
    default = Path(__file__).resolve().parents[2] / "target" / "console-firefox"
    return Path(os.environ.get("COFFER_SCREENSHOTS", default))


class BiDiError(Exception):
    """A command's error answer, or a script that threw."""


def css(selector):
    """A locator: elements matching a CSS selector."""
    return {"type": "css", "value": selector}


def role(role, name):
    """A locator: elements with this ARIA role and accessible name (exact match)."""
    return {"type": "accessibility", "value": {"role": role, "name": name}}


def text(value):
    """A locator: elements whose whole text (spaces trimmed and collapsed) is `value`.
    (Firefox does not support BiDi's innerText locator: this is XPath.)"""
    return {"type": "xpath", "value": f"//body//*[normalize-space()={xpath_string(value)}]"}


def xpath_string(value):
    """`value` as an XPath string literal (XPath has no escapes: quotes are concat()ed)."""
    if '"' not in value:
        return f'"{value}"'
    return "concat(" + ", '\"', ".join(f'"{part}"' for part in value.split('"')) + ")"


def wait_until(check, what, timeout=10.0, interval=0.1):
    """Calls check() until it returns something truthy, which is returned; raises
    TimeoutError naming `what` after `timeout` seconds. A BiDiError counts as "not yet":
    while a page is replaced by the next, scripts and elements of the old one fail."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = check()
            if value:
                return value
        except BiDiError as e:
            last_error = e
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)


class Firefox:
    """A headless Firefox with a fresh profile and one BiDi session; a context manager.

    `binary`: COFFER_FIREFOX or /usr/bin/firefox-esr. `log`: where Firefox's own output
    goes (it is chatty). `timeout`: seconds any one command may take.
    """

    def __init__(self, binary=None, log=None, timeout=30.0):
        self.binary = binary or os.environ.get("COFFER_FIREFOX", "/usr/bin/firefox-esr")
        self.log_path = log
        self.timeout = timeout
        self.events = []  # (method, params) of every event received, in order
        self._next_id = 0
        self.process = self.ws = None

    def __enter__(self):
        self.profile = tempfile.mkdtemp(prefix="coffer-firefox-")
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            for name, value in PREFS.items():
                f.write(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n")
        self._log = open(self.log_path or os.devnull, "wb")
        try:
            # Port 0: Firefox picks a free port and writes it to WebDriverBiDiServer.json
            # in the profile, so concurrent tests never race for one.
            self.process = subprocess.Popen(
                [self.binary, "--headless", "--no-remote", "--remote-debugging-port=0",
                 "--profile", self.profile, "about:blank"],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
            port = wait_until(self._bidi_port, "Firefox to open its BiDi port", timeout=60)
            self.ws = connect(f"ws://127.0.0.1:{port}/session", max_size=None,
                              open_timeout=self.timeout)
            self.version = self.command("session.new", {"capabilities": {}})[
                "capabilities"]["browserVersion"]
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc):
        self._stop()

    def _bidi_port(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"Firefox exited with status {self.process.returncode} "
                               f"(its output: {self.log_path or 'not kept'})")
        try:
            with open(os.path.join(self.profile, "WebDriverBiDiServer.json")) as f:
                return json.load(f)["ws_port"]
        except (OSError, ValueError, KeyError):
            return None

    def _stop(self):
        if self.ws is not None:
            try:
                self.command("browser.close", {}, timeout=10)
            except Exception:
                pass  # closing anyway
            self.ws.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def command(self, method, params, timeout=None):
        """Sends a command and returns its result; events read meanwhile go to
        self.events. Raises BiDiError on an error answer, TimeoutError without one."""
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {method} within {timeout or self.timeout} s")
            try:
                message = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                raise TimeoutError(
                    f"no answer to {method} within {timeout or self.timeout} s") from None
            if message.get("type") == "event":
                self.events.append((message["method"], message["params"]))
            elif message.get("id") == ident:
                if message.get("type") == "error":
                    raise BiDiError(f"{method}: {message['error']}: {message.get('message')}")
                return message["result"]

    def subscribe(self, *events):
        """Subscribes to events (e.g. "log.entryAdded") in every browsing context."""
        self.command("session.subscribe", {"events": list(events)})

    def events_of(self, method):
        """The parameters of every event `method` received so far."""
        return [params for m, params in self.events if m == method]

    def new_tab(self):
        """A new top-level browsing context."""
        return Tab(self, self.command("browsingContext.create", {"type": "tab"})["context"])


class Tab:
    """One browsing context: navigate, find elements, run scripts, click, type, capture."""

    def __init__(self, browser, context):
        self.browser = browser
        self.context = context
        self.screenshots = screenshot_dir()

    def _command(self, method, params, **kw):
        return self.browser.command(method, {"context": self.context, **params}, **kw)

    def navigate(self, url):
        """Loads url and waits for the load event; returns the URL finally shown (after
        redirects)."""
        self._command("browsingContext.navigate", {"url": url, "wait": "complete"})
        return self.url()

    def url(self):
        """The document's current URL."""
        return self.evaluate("location.href")

    def evaluate(self, expression):
        """The value of a JavaScript expression (awaited if a promise), as Python."""
        return self._script("script.evaluate", {"expression": expression})

    def call(self, function, *args):
        """Calls a JavaScript function (source text) with arguments: Python values, or
        nodes as returned by find()."""
        return self._script("script.callFunction", {
            "functionDeclaration": function,
            "arguments": [serialize(a) for a in args],
        })

    def _script(self, method, params):
        result = self.browser.command(method, {
            **params, "target": {"context": self.context}, "awaitPromise": True})
        if result["type"] == "exception":
            raise BiDiError(f"script threw: {result['exceptionDetails']['text']}")
        return deserialize(result["result"])

    def find(self, locator, within=None):
        """Every element the locator matches now (perhaps none); `within`: only inside
        this element."""
        params = {"locator": locator}
        if within is not None:
            params["startNodes"] = [node_ref(within)]
        return self._command("browsingContext.locateNodes", params)["nodes"]

    def visible(self, nodes):
        """The elements that are rendered (not hidden, not display:none)."""
        return [n for n in nodes if self.call(IS_VISIBLE, n)]

    def wait_for_node(self, locator, timeout=10.0, visible=True):
        """The first element the locator matches, waiting for one to appear (and, with
        `visible`, to be rendered: not hidden, not display:none)."""
        def check():
            nodes = self.find(locator)
            return (self.visible(nodes) if visible else nodes)[:1]
        return wait_until(check, f"an element matching {json.dumps(locator)}", timeout)[0]

    def wait_for_path(self, path, timeout=10.0):
        """Waits until the document's path (without the query) is `path`."""
        wait_until(lambda: self.evaluate("location.pathname") == path,
                   f"the page {path}", timeout)

    def click(self, node, timeout=10.0):
        """Clicks the middle of the element, as a mouse would: real pointer events, so
        focus, form submission and handlers run as for a user. First scrolls it into view
        and waits until nothing covers its middle (a toast, a dialog's backdrop), which a
        mouse would click instead."""
        self.call("(e) => e.scrollIntoView({block: 'center'})", node)
        wait_until(lambda: self.call(IS_HIT, node), "the element to be clickable "
                   "(rendered, enabled and not covered)", timeout)
        self._command("input.performActions", {"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "x": 0, "y": 0,
                 "origin": {"type": "element", "element": node_ref(node)}},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
            ]}]})

    def type(self, node, text):
        """Clicks the (empty) field, then types text into it key by key; checks that the
        field then holds exactly the text."""
        self.click(node)
        keys = []
        for ch in text:
            keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self._command("input.performActions", {"actions": [
            {"type": "key", "id": "keyboard", "actions": keys}]})
        value = self.call("(e) => e.value", node)
        if value != text:
            # Lengths only: the text may be a secret.
            raise BiDiError(f"typed {len(text)} characters but the field holds "
                            f"another value ({len(value or '')} characters)")

    def press_enter(self):
        """Presses and releases Enter (WebDriver's key code \\uE007)."""
        self._command("input.performActions", {"actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{"type": "keyDown", "value": "\uE007"},
                        {"type": "keyUp", "value": "\uE007"}]}]})

    def screenshot(self, name):
        """Saves the viewport as NAME.png under the screenshot directory; returns its
        path."""
        data = self._command("browsingContext.captureScreenshot", {})["data"]
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        path.write_bytes(base64.b64decode(data))
        return str(path)

    def cookies(self):
        """The cookies this tab's document would send (HttpOnly ones too), as
        {name: value}."""
        result = self.browser.command("storage.getCookies", {
            "partition": {"type": "context", "context": self.context}})
        return {c["name"]: c["value"]["value"] for c in result["cookies"]}


# Whether an element is rendered: it has a box and is not visibility:hidden.
IS_VISIBLE = """(e) => e.getClientRects().length > 0
  && getComputedStyle(e).visibility !== "hidden" """


# Whether a click at the element's middle reaches it (or something inside it), and it
# is not a disabled control.
IS_HIT = """(e) => {
  const r = e.getBoundingClientRect();
  const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
  return r.width > 0 && r.height > 0 && !e.disabled && (hit === e || e.contains(hit));
}"""


def die_with_parent():
    """In the child, before exec: be killed when this script dies, however it dies
    (a test harness's timeout kills the script, not its children). Linux only."""
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # elsewhere Firefox may outlive a killed script


def is_node(value):
    return isinstance(value, dict) and value.get("type") == "node"


def node_ref(node):
    """The reference BiDi takes for an element found earlier."""
    return {"sharedId": node["sharedId"]}


def serialize(value):
    """A Python value as a BiDi LocalValue (script arguments)."""
    if is_node(value):
        return node_ref(value)
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, (int, float)):
        return {"type": "number", "value": value}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, (list, tuple)):
        return {"type": "array", "value": [serialize(v) for v in value]}
    if isinstance(value, dict):
        return {"type": "object", "value": [[k, serialize(v)] for k, v in value.items()]}
    raise TypeError(f"cannot pass {type(value).__name__} to a script")


def deserialize(remote):
    """A BiDi RemoteValue as Python: primitives, lists and dicts; nodes stay as they
    are (to pass back to call() or click()), other objects become their type name."""
    kind, value = remote["type"], remote.get("value")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return value
    if kind == "number":
        return float(value) if isinstance(value, str) else value  # "NaN", "-0"...
    if kind in ("array", "set"):
        return [deserialize(v) for v in value or []]
    if kind in ("object", "map"):
        return {k if isinstance(k, str) else json.dumps(deserialize(k)): deserialize(v)
                for k, v in value or []}
    if kind == "node":
        return remote
    return kind
