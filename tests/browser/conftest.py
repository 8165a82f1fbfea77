"""Real JupyterLab / Notebook 7 in a subprocess, driven in Debian's headless chromium.

A missing chromium is a failure, never a skip: ``scripts/install`` installs it, and CI must
exercise the browser. Each test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..conftest import PROMPT, SHELL_ARGV

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@dataclass
class Lab:
    """A running jupyter server with JupyterLab and Notebook 7."""

    url: str
    token: str
    root: Path
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def page_url(self, path: str) -> str:
        return f"{self.url}{path}{'&' if '?' in path else '?'}token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method)  # noqa: S310
        request.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = response.read()
        return json.loads(body) if body else None

    def start(self) -> None:
        """Start the server process (again, after ``stop``: same port, token, root, config)."""
        env = dict(os.environ, PS1=PROMPT, HISTFILE="/dev/null")
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                self.argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root
            )
        self.process = process
        deadline = time.monotonic() + 60
        while True:
            try:
                self.api("api/status")
                return
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"jupyter lab did not start; see {self.log}")
                time.sleep(0.1)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server process by its PID (``sig``, then SIGKILL after 30 s)."""
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_lab(
    tmp_path_factory: pytest.TempPathFactory,
    webpty_settings: dict[str, Any] | None = None,
    terminal_settings: dict[str, Any] | None = None,
    config_lines: str = "",
) -> Lab:
    """Start JupyterLab on a free port, with its own root, settings and workspaces.

    ``webpty_settings`` are added to our plugin's settings (e.g. ``builtinTerminal``),
    ``terminal_settings`` to JupyterLab's terminal settings (e.g. ``scrollback``), ``config_lines``
    (Python) to the server's config file after the shell command.
    """
    root = tmp_path_factory.mktemp("lab-root")
    settings = tmp_path_factory.mktemp("lab-settings")
    # The DOM renderer puts the screen's text in the page, where the tests can read it.
    plugin = settings / "jupyter-webpty" / "plugin.jupyterlab-settings"
    plugin.parent.mkdir(parents=True)
    # Our views read their text from the DOM renderer; screen reader mode (set below for
    # JupyterLab's widget, which our views would follow) would slow them under floods.
    plugin.write_text(
        json.dumps({"renderer": "dom", "screenReaderMode": False, **(webpty_settings or {})})
    )
    # JupyterLab's own terminal draws on a canvas; screen reader mode puts its text in the page.
    terminal = settings / "@jupyterlab" / "terminal-extension" / "plugin.jupyterlab-settings"
    terminal.parent.mkdir(parents=True)
    terminal.write_text(json.dumps({"screenReaderMode": True, **(terminal_settings or {})}))
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    config = root.parent / f"{root.name}-config.py"
    # Saved sessions (revive_sessions) go to a directory of the test's, not the home's data dir.
    saved = tmp_path_factory.mktemp("revive")
    # The built-in terminal's shell too: its default (the user's shell, reading ~/.bashrc) made
    # those tests depend on the machine's rc files, which here ran `pyenv rehash`, and a stale
    # lock of that held every such shell for 60 s (2026-12-04).
    config.write_text(
        f"c.WebPtyApp.shell_command = {SHELL_ARGV!r}\n"
        f"c.ServerApp.terminado_settings = {{'shell_command': {SHELL_ARGV!r}}}\n"
        f"c.WebPtyApp.revive_dir = {str(saved)!r}\n{config_lines}"
    )
    port, token = _free_port(), secrets.token_hex(16)
    argv = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp_path_factory.mktemp('ws')}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--config={config}",
        # `window.jupyterapp`: tests run commands from page script, as other extensions do.
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = root.parent / f"lab-{port}.log"
    server = Lab(f"http://127.0.0.1:{port}/", token, root, argv, log)
    server.start()
    return server


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = start_lab(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Replace pytest-jupyter's loop fixture: it would close Playwright's own running loop."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is missing: run scripts/install (apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    context.close()
    assert [e for e in errors if "webpty" in e.lower()] == []


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"timed out waiting for {what or predicate}"
            raise TimeoutError(msg)
        time.sleep(0.05)


def screen_text(page: Any, scope: str) -> str:
    """The text of the terminal screen(s) under ``scope`` (DOM renderer)."""
    rows = page.locator(f"{scope} .xterm-rows")
    return "\n".join(rows.all_inner_texts()).replace("\xa0", " ")


def wait_for_lab_restored(page: Any) -> None:
    """Wait until JupyterLab restored its layout (it focuses the main area when it does)."""
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=60_000)
    page.locator("#jp-main-dock-panel .lm-TabBar-tab").first.wait_for(timeout=60_000)
    wait_for(
        lambda: page.evaluate("document.activeElement !== document.body"),
        what="JupyterLab's initial focus",
    )


def type_into(page: Any, scope: str, text: str) -> None:
    """Type ``text`` into the terminal under ``scope``, one key at a time.

    JupyterLab may move focus while it restores its layout after a page load (the launcher
    takes it); re-focusing before each key keeps a keystroke from landing elsewhere.
    """
    textarea = page.locator(f"{scope} .xterm-helper-textarea").first
    for char in text:
        focused = textarea.evaluate("node => node === document.activeElement")
        if not focused:
            textarea.focus()
        page.keyboard.type(char)


HOST = "webpty.test"


@pytest.fixture(scope="module")
def named_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab that accepts the host name ``webpty.test`` (mapped to 127.0.0.1 below)."""
    server = start_lab(
        tmp_path_factory, config_lines=f"c.ServerApp.local_hostnames = ['localhost', '{HOST}']\n"
    )
    yield server
    server.stop()


@pytest.fixture
def plain_http_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a chromium that resolves ``webpty.test`` to 127.0.0.1: plain HTTP by name."""
    executable = shutil.which("chromium")
    instance = browser.browser_type.launch(
        executable_path=executable,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"],
    )
    page = instance.new_context(viewport={"width": 1400, "height": 900}).new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    instance.close()
