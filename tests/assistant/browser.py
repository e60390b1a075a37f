"""A real headless Chromium (Debian's) driven over the Chrome DevTools Protocol: navigate, run script in the
page, wait for what it shows, take screenshots."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

_LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")


class Page:
    """One browser tab."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._next = 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        call_id = self._next
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never satisfied: {expression}")
            time.sleep(0.2)

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        time.sleep(0.2)
        self.wait_for("document.readyState === 'complete'")

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data


@contextmanager
def chromium_page(*, width: int = 1600, height: int = 1000) -> Iterator[Page]:
    """A headless Chromium with one blank tab; everything it started is stopped on exit."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium is needed for this test: `make test` installs it (apt-get install chromium)"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert proc.stderr is not None
            endpoint = None
            deadline = time.monotonic() + 60
            while endpoint is None and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line and proc.poll() is not None:
                    break
                match = _LISTENING.search(line)
                endpoint = match.group(1) if match else None
            assert endpoint, "chromium did not start its DevTools endpoint"
            port = endpoint.split("/")[2].rsplit(":", 1)[1]
            targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
            tab = next(t for t in targets if t["type"] == "page")
            with connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
                page = Page(ws)
                page.send("Page.enable")
                page.send("Runtime.enable")
                page.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                          mobile=False)
                yield page
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
