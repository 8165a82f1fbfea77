"""A server restart ends every shell. With ``revive_sessions`` off, views say so and start a
new one only when asked; with it on (the default), an open view shows the revived shell."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_core.paths import jupyter_runtime_dir

from jupyter_webpty.core.hostclient import stop_host
from jupyter_webpty.core.hostwire import host_dir

from .conftest import ARTIFACTS, Lab, screen_text, start_lab, type_into, wait_for
from .views import (
    OUTPUT,
    PANEL,
    TERMINAL,
    kernel_idle,
    make_notebook,
    open_lab,
    open_panel,
    run_first_cell,
    terminal_text,
)

BANNER = f"{PANEL} .jp-WebPty-status"


@pytest.fixture
def restartable_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab whose sessions are not revived after a restart."""
    server = start_lab(tmp_path_factory, config_lines="c.WebPtyApp.revive_sessions = False\n")
    yield server
    server.stop()


@pytest.fixture
def reviving_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    """A lab with the default ``revive_sessions``, and the directory it saves sessions in."""
    saved = tmp_path_factory.mktemp("saved")
    server = start_lab(tmp_path_factory, config_lines=f"c.WebPtyApp.revive_dir = {str(saved)!r}\n")
    yield server, saved
    server.stop()


def close_dialogs(page: Any) -> None:
    """Close JupyterLab's modal dialogs (they take the keyboard)."""
    dialogs = page.locator(".jp-Dialog")
    while count := dialogs.count():
        dialogs.first.locator(".jp-Dialog-footer button").last.click()
        wait_for(lambda count=count: dialogs.count() < count, what="the dialog closed")


def panel_shell_before_restart(page: Any, lab: Lab, keys: str) -> dict[str, Any]:
    """A new shell in the side panel that was sent ``keys`` (they print ``before-42``): the
    session as the REST API lists it, the only one."""
    open_panel(page, lab)
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), what="prompt in the panel")
    type_into(page, PANEL, keys)
    wait_for(lambda: "before-42" in screen_text(page, PANEL), what="echo before the restart")
    [session] = lab.api("webpty/api/sessions")
    return dict(session)


def banner(page: Any, scope: str = PANEL) -> str:
    """The status banner's text over the terminal under ``scope`` ("" when hidden)."""
    node = page.locator(f"{scope} .jp-WebPty-status").first
    if not node.count() or node.is_hidden():
        return ""
    return str(node.inner_text())


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
    old = panel_shell_before_restart(page, lab, "echo before-$((6*7))\n")

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


def test_notebook_output_reloaded_after_a_restart_does_not_revive_its_shell(
    page: Any, restartable_lab: Lab
) -> None:
    lab = restartable_lab
    make_notebook(lab, "restart.ipynb", "nb-shell")
    url = lab.page_url("lab/tree/restart.ipynb")
    page.goto(url)
    page.locator(".jp-Cell .cm-content").first.wait_for(timeout=60_000)
    wait_for(lambda: kernel_idle(lab, "restart.ipynb"), 60, "kernel ready")
    # A first open by name creates the shell.
    run_first_cell(page)
    wait_for(lambda: "webpty$" in screen_text(page, OUTPUT), 60, "prompt in the output")
    [old] = lab.api("webpty/api/sessions")
    # Save the notebook with its output (Shift+Escape leaves the terminal for the shortcut).
    page.keyboard.press("Shift+Escape")
    page.keyboard.press("Control+s")
    wait_for(lambda: '"display"' in (lab.root / "restart.ipynb").read_text(), what="saved")

    lab.stop()
    lab.start()
    # The live output says the server ended its shell.
    wait_for(lambda: "ended when the server stopped" in banner(page, OUTPUT), what="ended")

    # Reloaded, the output knows the id it showed: gone, and nothing is created.
    page.goto(url)
    wait_for(
        lambda: "the server restarted" in banner(page, OUTPUT) or lab.api("webpty/api/sessions"),
        what="the ended message (or a new session)",
    )
    assert lab.api("webpty/api/sessions") == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "restart-notebook-reloaded.png"))
    close_dialogs(page)
    type_into(page, OUTPUT, "\r")
    [new] = wait_for(lambda: lab.api("webpty/api/sessions"), what="the new session")
    assert (new["name"], new["session_id"] != old["session_id"]) == ("nb-shell", True)
    type_into(page, OUTPUT, "echo nb-$((6*7))\n")
    wait_for(
        lambda: re.search(r"^nb-42\s*$", screen_text(page, OUTPUT), re.MULTILINE),
        what="echo in the new shell",
    )


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_view_open_through_a_restart_shows_the_revived_shell(
    page: Any, reviving_lab: tuple[Lab, Path], how: signal.Signals
) -> None:
    lab, saved = reviving_lab
    (lab.root / "work").mkdir()
    old = panel_shell_before_restart(page, lab, "cd work && echo before-$((6*7))\n")
    wait_for(lambda: str(old["cwd"]).endswith("work"), what="cwd")
    # What a SIGKILL loses is at most the last quarter second: give the write its time.
    wait_for(
        lambda: any(b"before-42" in p.read_bytes() for p in saved.rglob("*.log")), what="saved"
    )

    lab.stop(how)
    lab.start()

    # The same view reconnects to the same id: the old screen, the restored line, a new shell.
    wait_for(lambda: "restored after restart" in screen_text(page, PANEL), 60, "restored line")
    assert banner(page) == ""
    [new] = lab.api("webpty/api/sessions")
    assert (new["session_id"], new["name"]) == (old["session_id"], old["name"])
    text = screen_text(page, PANEL)
    assert text.index("before-42") < text.index("restored after restart")
    close_dialogs(page)
    type_into(page, PANEL, "pwd; echo after-$((6*7))\n")
    wait_for(
        lambda: re.search(r"^after-42\s*$", screen_text(page, PANEL), re.MULTILINE),
        what="echo in the revived shell",
    )
    screen = screen_text(page, PANEL)
    assert f"{lab.root}/work" in screen.replace("\n", "")
    assert "[?" not in screen  # no escape sequence cut in two
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"restart-{how.name}-revived.png"))
    lab.api(f"webpty/api/sessions/{new['session_id']}", method="DELETE")


@pytest.fixture
def persisting_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab with ``persist_sessions`` on; its PTY host is stopped at the end."""
    server = start_lab(tmp_path_factory, config_lines="c.WebPtyApp.persist_sessions = True\n")
    yield server
    server.stop()
    stop_host(host_dir(jupyter_runtime_dir(), str(server.root.resolve())))


def test_a_jupyterlab_terminal_tab_keeps_its_shell_through_a_restart(
    page: Any, persisting_lab: Lab
) -> None:
    lab = persisting_lab
    open_lab(page, lab, reset=True)
    page.locator('.jp-LauncherCard[title="Start a new terminal session"]').first.click()
    wait_for(lambda: "webpty$" in terminal_text(page), 30, "prompt in the Launcher's terminal")
    type_into(page, TERMINAL, "export KEPT=v-$((6*7)); sleep 1000 &\n")
    type_into(page, TERMINAL, "for i in $(seq 1 30); do echo tick-$i; sleep 0.1; done\n")
    wait_for(lambda: "tick-3" in terminal_text(page), what="the loop printing")
    [old] = lab.api("webpty/api/sessions")

    lab.stop(signal.SIGTERM)  # while the loop prints: the host reads on
    lab.start()

    # The same tab reconnects to the same shell: the loop's lines all there, once, in order,
    # no restored line, and the variable and the job still there.
    wait_for(lambda: "tick-30" in terminal_text(page), 60, "the loop's end")
    [new] = lab.api("webpty/api/sessions")
    assert (new["session_id"], new["name"]) == (old["session_id"], old["name"])
    printed = [line.strip() for line in terminal_text(page).splitlines()]
    assert [line for line in printed if line.startswith("tick-")] == [
        f"tick-{i}" for i in range(1, 31)
    ]
    assert "restored after restart" not in terminal_text(page)
    close_dialogs(page)
    page.locator(TERMINAL).first.click()
    type_into(page, TERMINAL, "echo kept=$KEPT; jobs\n")
    wait_for(lambda: "kept=v-42" in terminal_text(page), what="the variable")
    wait_for(lambda: "sleep 1000" in terminal_text(page), what="the job")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "restart-persisted.png"))
    lab.api(f"webpty/api/sessions/{new['session_id']}", method="DELETE")
