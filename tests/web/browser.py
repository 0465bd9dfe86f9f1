"""Headless Chromium (Debian's, driven by Playwright) against a real server process.

Every page opened here fails its test on any request to a host other than the
app: each request (and each websocket) is checked against the app's origin,
and anything else is aborted and recorded.
"""
from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.factories import PASSWORD
from tests.servers import ROOT, free_port, start_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 360, "height": 740}


@dataclass
class AppServer:
    """One uvicorn process on a fixed port, so it can be restarted where the pages expect it."""

    url: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)  # extra ZHIJIAO_* settings of this server
    # Its own checkpoint file: another test database's audit chain must not be mixed into it.
    checkpoints: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="zj-web-audit-") + "/checkpoints.jsonl")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # Generous: a loaded shared machine can take long to import and migrate-check.
        self.proc, _ = start_server(self.url, port=self.port, startup=120, ZHIJIAO_ALLOWED_ORIGINS=f'["{self.base}"]',
                                    ZHIJIAO_AUDIT_CHECKPOINT_PATH=self.checkpoints, **self.env)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)
            self.proc = None


@contextmanager
def app_server(url: str) -> Iterator[AppServer]:
    server = AppServer(url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Browser:
    """A Chromium with a fresh profile; ``foreign`` lists every off-app request any page tried."""

    def __init__(self, base: str, allow: tuple[str, ...] = ()) -> None:
        """``allow``: other origins a test configured on purpose (a loopback tile server)."""
        self.base = base
        self.origin = urlsplit(base).netloc
        self.allowed = {self.origin, *(urlsplit(a).netloc for a in allow)}
        self.foreign: list[str] = []
        self.errors: list[str] = []  # uncaught page errors (a broken page fails its test)
        self._pw = sync_playwright().start()
        # launch() gives Chromium a fresh temporary profile (user-data-dir) of its own
        # each time (Playwright refuses a --user-data-dir argument here).
        self._chromium = self._pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)

    def context(self, viewport: dict[str, int] = DESKTOP, **options) -> BrowserContext:
        ctx = self._chromium.new_context(viewport=viewport, **{"locale": "zh-CN", "timezone_id": "Asia/Shanghai", **options})
        ctx.route("**/*", self._guard)
        ctx.on("page", self._watch_sockets)
        return ctx

    def _guard(self, route, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob") or parts.netloc in self.allowed:
            route.continue_()
        else:
            self.foreign.append(request.url)
            route.abort()

    def _watch_sockets(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("websocket", lambda ws: None if urlsplit(ws.url).netloc == self.origin else self.foreign.append(ws.url))

    def close(self) -> None:
        self._chromium.close()
        self._pw.stop()


def login(ctx: BrowserContext, base: str, username: str, password: str = PASSWORD, hash_: str = "") -> Page:
    """Open the console (at page ``hash_``, e.g. "#/map") and log in through its form."""
    page = ctx.new_page()
    page.goto(f"{base}/console/{hash_}")
    submit_login(page, username, password)
    return page


def submit_login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form#login button[type=submit]")
    page.wait_for_selector("#bar:not([hidden])")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
