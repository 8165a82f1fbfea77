"""A server restart ends every shell: the view says so and starts a new one only when asked."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ARTIFACTS, Lab, screen_text, start_lab, type_into, wait_for
from .test_lab_panel import PANEL, open_panel

BANNER = f"{PANEL} .jp-WebPty-status"


@pytest.fixture
def restartable_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = start_lab(tmp_path_factory)
    yield server
    server.stop()


def close_dialogs(page: Any) -> None:
    """Close JupyterLab's modal dialogs (they take the keyboard)."""
    dialogs = page.locator(".jp-Dialog")
    while count := dialogs.count():
        dialogs.first.locator(".jp-Dialog-footer button").last.click()
        wait_for(lambda count=count: dialogs.count() < count, what="the dialog closed")


def banner(page: Any) -> str:
    node = page.locator(BANNER)
    return "" if node.is_hidden() else node.inner_text()


@pytest.mark.parametrize(
    ("how", "message"),
    [
        # A clean stop ends every shell and says so on the way out.
        (signal.SIGTERM, "This terminal ended when the server stopped"),
        # A crash says nothing: the new server does not know the id.
        (signal.SIGKILL, "the server restarted"),
    ],
    ids=["stopped", "killed"],
)
def test_server_restart_ends_the_view_until_the_user_asks(
    page: Any, restartable_lab: Lab, how: signal.Signals, message: str
) -> None:
    lab = restartable_lab
    open_panel(page, lab)
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), what="prompt in the panel")
    type_into(page, PANEL, "echo before-$((6*7))\n")
    wait_for(lambda: "before-42" in screen_text(page, PANEL), what="echo before the restart")
    [old] = lab.api("webpty/api/sessions")

    # Stop the server by its PID and start another on the same port, token and root.
    lab.stop(how)
    lab.start()

    # The view reconnects, finds its session gone, and says so instead of creating one.
    wait_for(
        lambda: message in banner(page) or lab.api("webpty/api/sessions"),
        what="the ended message (or a new session)",
    )
    assert lab.api("webpty/api/sessions") == []
    assert page.locator(BANNER).get_attribute("data-state") == "gone"
    assert "Press Enter to start a new shell" in banner(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"restart-{how.name}-ended.png"))
    # The socket is back (the panel lists the new server's sessions: none).
    page.locator(f"{PANEL} .jp-WebPty-note").filter(has_text="No terminals yet").wait_for()
    assert lab.api("webpty/api/sessions") == []
    # Other keys do not start a shell either.
    type_into(page, PANEL, "ls")
    assert lab.api("webpty/api/sessions") == []
    assert message in banner(page)

    # Enter starts a new shell, under the old name, and it works. JupyterLab's own "Server
    # Connection Error" dialog (shown while the server was down) would take the key: close it.
    close_dialogs(page)
    type_into(page, PANEL, "\r")
    [new] = wait_for(lambda: lab.api("webpty/api/sessions"), what="the new session")
    assert new["session_id"] != old["session_id"]
    assert new["name"] == old["name"]
    wait_for(lambda: page.locator(BANNER).is_hidden(), what="the banner hidden")
    type_into(page, PANEL, "echo after-$((6*7))\n")
    wait_for(
        lambda: re.search(r"^after-42\s*$", screen_text(page, PANEL), re.MULTILINE),
        what="echo in the new shell",
    )
    lab.api(f"webpty/api/sessions/{new['session_id']}", method="DELETE")
