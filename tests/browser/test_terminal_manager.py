"""JupyterLab's and Notebook 7's own terminal entry points open webpty sessions.

Our labextension replaces JupyterLab's terminal service (`ITerminalManager`), so the Launcher
tile, *File > New > Terminal*, `terminal:create-new` run by other code, the Running panel and
Notebook 7's *New > Terminal* all create, list, attach and close webpty sessions, shown in
JupyterLab's own terminal widget. The setting `builtinTerminal` brings terminado back.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ARTIFACTS, Lab, start_lab, type_into, wait_for
from .views import (
    TERMINAL,
    close_all,
    current_terminal,
    open_lab,
    session_names,
    shut_down_from_running,
    terminal_text,
)


def fresh_terminal(page: Any, lab: Lab) -> str:
    """No sessions, an empty layout, and one terminal tab opened by ``terminal:create-new``
    (as other code would) showing its prompt; the session's name."""
    close_all(lab)
    open_lab(page, lab, reset=True)
    name = page.evaluate(
        "async () => (await window.jupyterapp.commands.execute('terminal:create-new'))"
        ".content.session.name"
    )
    wait_for(lambda: "webpty$" in terminal_text(page), 30, "prompt")
    return str(name)


def test_launcher_file_menu_and_command_open_webpty_sessions(page: Any, lab: Lab) -> None:
    close_all(lab)
    builtin_before = lab.api("api/terminals")
    open_lab(page, lab, reset=True)

    # The Launcher tile.
    page.locator('.jp-LauncherCard[title="Start a new terminal session"]').first.click()
    wait_for(lambda: "webpty$" in terminal_text(page), 30, "prompt in the Launcher's terminal")
    [first] = wait_for(lambda: session_names(lab), what="the session on the server")
    type_into(page, TERMINAL, "echo tile-$((6*7))\n")
    wait_for(lambda: "tile-42" in terminal_text(page), what="echo output")
    # The tab is titled by the session (JupyterLab titles it "Terminal <name>").
    page.locator(f'.lm-TabBar-tab:has-text("{first}")').first.wait_for()
    # docs/launcher-terminal.png (the README's) is a copy of this one.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "launcher-terminal.png"))

    # File > New > Terminal.
    page.get_by_role("menuitem", name="File", exact=True).click()
    page.locator('.lm-Menu-item:has-text("New")').first.hover()
    page.locator('.lm-Menu-item[data-command="terminal:create-new"]').click()
    wait_for(lambda: len(session_names(lab)) == 2, what="File > New > Terminal's session")
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), what="prompt in the second one")

    # Other code running the command, as third-party extensions do.
    name = page.evaluate(
        "async () => (await window.jupyterapp.commands.execute('terminal:create-new'))"
        ".content.session.name"
    )
    wait_for(lambda: name in session_names(lab), what="the command's session on the server")
    assert len(session_names(lab)) == 3
    # Other code using the service itself (ITerminalManager.startNew), without a widget.
    started = page.evaluate(
        "async () => { const t = await window.jupyterapp.serviceManager.terminals.startNew();"
        " const name = t.name; t.dispose(); return name; }"
    )
    assert started in session_names(lab)
    assert len(session_names(lab)) == 4
    # None of them is a built-in (terminado) terminal.
    assert lab.api("api/terminals") == builtin_before

    # Closing a tab detaches from its session, which keeps running (shutdownOnClose is off).
    page.locator(f'.lm-TabBar-tab:has-text("Terminal {name}") .lm-TabBar-tabCloseIcon').click()
    wait_for(
        lambda: [s["clients"] for s in lab.api("webpty/api/sessions") if s["name"] == name] == [0],
        what="the closed tab's session detached and still running",
    )
    close_all(lab)
    # Their tabs close with the shells, as JupyterLab's do.
    wait_for(lambda: page.locator(TERMINAL).count() == 0, what="tabs closed with the sessions")


def test_reload_brings_back_output_and_vim(page: Any, lab: Lab) -> None:
    name = fresh_terminal(page, lab)
    type_into(page, TERMINAL, "echo before-reload-$((6*7))\n")
    wait_for(lambda: "before-reload-42" in terminal_text(page), what="echo output")
    # JupyterLab saves the layout (with the tab) to its workspace; wait for that.
    wait_for(lambda: name in str(lab.api("lab/api/workspaces/default")), what="layout saved")

    open_lab(page, lab)
    wait_for(lambda: "before-reload-42" in terminal_text(page), 30, "output after reload")
    assert session_names(lab) == [name]

    type_into(page, TERMINAL, "vim -u NONE -N -i NONE\n")
    wait_for(lambda: terminal_text(page).count("~") >= 5, what="vim's empty buffer")
    type_into(page, TERMINAL, "iwritten-in-vim\x1b")
    wait_for(lambda: "written-in-vim" in terminal_text(page), what="text typed into vim")
    open_lab(page, lab)
    wait_for(
        lambda: "written-in-vim" in terminal_text(page) and terminal_text(page).count("~") >= 5,
        30,
        "vim's screen after reload",
    )
    page.screenshot(path=str(ARTIFACTS / "terminal-manager-vim-restored.png"))
    assert session_names(lab) == [name]
    type_into(page, TERMINAL, ":q!\r")
    wait_for(lambda: lab.api("webpty/api/sessions")[0]["command"] == "bash", what="vim quit")
    close_all(lab)


def test_network_drop_resumes_without_gap_or_duplicate(page: Any, lab: Lab) -> None:
    fresh_terminal(page, lab)
    marker = lab.root / "drop-finished"
    marker.unlink(missing_ok=True)
    type_into(
        page,
        TERMINAL,
        f"clear; for i in $(seq 1 30); do echo line-$i; sleep 0.1; done; : > {marker}\n",
    )
    wait_for(lambda: "line-3" in terminal_text(page), what="the loop printing")
    page.context.set_offline(True)
    try:
        listed: list[Any] = []

        def dropped() -> bool:
            listed[:] = lab.api("webpty/api/sessions")
            return all(s["clients"] == 0 for s in listed)

        try:
            wait_for(dropped, what="the page dropped")
        except TimeoutError as error:
            msg = f"{error}; sessions: {listed}"
            raise TimeoutError(msg) from None
        # The shell prints the rest while the page is away.
        wait_for(marker.exists, what="the loop finished while offline")
    finally:
        page.context.set_offline(False)
    wait_for(lambda: "line-30" in terminal_text(page), 30, "resumed output")
    printed = [line.strip() for line in terminal_text(page).splitlines()]
    assert [line for line in printed if line.startswith("line-")] == [
        f"line-{i}" for i in range(1, 31)
    ]
    close_all(lab)


def test_flood_then_ctrl_c_in_jupyterlab_widget(page: Any, lab: Lab) -> None:
    # The adapter's acks (a macrotask after delivery) keep a flood flowing and bounded; Ctrl+C
    # brings the prompt back and what follows renders cleanly.
    fresh_terminal(page, lab)
    type_into(page, TERMINAL, "seq 1 300000 | tail -n 1; yes hello-flood\n")
    wait_for(lambda: terminal_text(page).count("hello-flood") > 10, 30, "the flood")
    page.locator(f"{TERMINAL} .xterm-helper-textarea").focus()
    page.keyboard.press("Control+c")
    wait_for(lambda: terminal_text(page).rstrip().endswith("webpty$"), 30, "prompt after Ctrl+C")
    # UTF-8 as octal escapes: the adapter's decoding is under test, not typing non-ASCII keys.
    type_into(
        page,
        TERMINAL,
        "printf '\\e[1;32mgre\\e[0men-%s\\n' \"$((6*7))\"; printf 'a\\303\\261\\342\\202\\254-ok\\n'\n",
    )
    wait_for(
        lambda: "green-42" in terminal_text(page) and "añ€-ok" in terminal_text(page),
        what="coloured and UTF-8 output after the flood",
    )
    page.screenshot(path=str(ARTIFACTS / "terminal-manager-after-flood.png"))
    close_all(lab)


def test_running_panel_lists_and_shuts_down_sessions(page: Any, lab: Lab) -> None:
    name = fresh_terminal(page, lab)
    # One created elsewhere (another page, a script) is listed too.
    created = lab.api("webpty/api/sessions", method="POST")
    other = created["name"]
    page.locator('[data-id="jp-running-sessions"]').click()
    section = page.locator(".jp-RunningSessions-section:has-text('Terminals')")
    for each in (name, other):
        section.locator(f'.jp-RunningSessions-item:has-text("{each}")').wait_for()
    shut_down_from_running(
        page, lab, section, other, keep=name, shot="terminal-manager-running.png"
    )


def test_notebook7_new_terminal_is_a_webpty_session(page: Any, lab: Lab) -> None:
    close_all(lab)
    page.goto(lab.page_url("tree"))
    page.locator(".jp-DirListing").wait_for(timeout=60_000)
    with page.context.expect_page() as opened:
        page.locator(".jp-DropdownMenu .lm-MenuBar-item", has_text="New").click()
        page.locator('.lm-Menu-item[data-command="terminal:create-new"]').click()
    terminal_page = opened.value
    try:
        wait_for(lambda: len(session_names(lab)) == 1, 30, "Notebook 7's terminal session")
        wait_for(lambda: "webpty$" in terminal_text(terminal_page, ".jp-Terminal"), 30, "prompt")
        [name] = session_names(lab)
        assert f"terminals/{name}" in terminal_page.url
        type_into(terminal_page, ".jp-Terminal", "echo nb7-$((6*7))\n")
        wait_for(lambda: "nb7-42" in terminal_text(terminal_page, ".jp-Terminal"), what="echo")
        terminal_page.screenshot(path=str(ARTIFACTS / "terminal-manager-notebook7.png"))
        # Reloading Notebook 7's terminal page attaches to the same session, output included.
        terminal_page.reload()
        wait_for(lambda: "nb7-42" in terminal_text(terminal_page, ".jp-Terminal"), 30, "reload")
        assert session_names(lab) == [name]
    finally:
        terminal_page.close()
    close_all(lab)


def test_notebook7_command_and_start_new_give_webpty_sessions(page: Any, lab: Lab) -> None:
    # What third-party code does in Notebook 7: run the command, or use the service itself.
    close_all(lab)
    builtin_before = lab.api("api/terminals")
    page.goto(lab.page_url("tree"))
    page.locator(".jp-DirListing").wait_for(timeout=60_000)
    with page.context.expect_page() as opened:
        page.evaluate("() => { void window.jupyterapp.commands.execute('terminal:create-new'); }")
    terminal_page = opened.value
    try:
        [name] = wait_for(lambda: session_names(lab), 30, "the command's session")
        wait_for(lambda: "webpty$" in terminal_text(terminal_page, ".jp-Terminal"), 30, "prompt")
        assert f"terminals/{name}" in terminal_page.url
    finally:
        terminal_page.close()
    started = page.evaluate(
        "async () => { const t = await window.jupyterapp.serviceManager.terminals.startNew();"
        " const name = t.name; t.dispose(); return name; }"
    )
    assert sorted(session_names(lab)) == sorted([name, started])
    assert lab.api("api/terminals") == builtin_before
    close_all(lab)


def test_command_palette_new_terminal_opens_a_webpty_session(page: Any, lab: Lab) -> None:
    close_all(lab)
    open_lab(page, lab, reset=True)
    # JupyterLab's shortcut for the palette (focus is on the Launcher, not in a terminal).
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette input")
    search.wait_for()
    search.fill("New Terminal")
    page.locator('.lm-CommandPalette-item[data-command="terminal:create-new"]').wait_for()
    page.keyboard.press("Enter")
    [name] = wait_for(lambda: session_names(lab), 30, "the palette's session")
    wait_for(lambda: "webpty$" in terminal_text(page), 30, "prompt")
    page.locator(f'.lm-TabBar-tab:has-text("Terminal {name}")').wait_for()
    assert lab.api("api/terminals") == []
    close_all(lab)


def test_terminal_open_attaches_to_a_session_by_name(page: Any, lab: Lab) -> None:
    close_all(lab)
    created = lab.api("webpty/api/sessions", method="POST")
    request = urllib.request.Request(  # noqa: S310
        f"{lab.url}webpty/api/sessions/{created['session_id']}/input",
        data=json.dumps({"data": "echo via-rest-$((6*7))\r"}).encode(),
        method="POST",
    )
    request.add_header("Authorization", f"token {lab.token}")
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
    open_lab(page, lab, reset=True)
    page.evaluate(
        "name => window.jupyterapp.commands.execute('terminal:open', {name})", created["name"]
    )
    wait_for(lambda: "via-rest-42" in terminal_text(page), 30, "the session's earlier output")
    assert session_names(lab) == [created["name"]]
    close_all(lab)


@pytest.fixture(scope="module")
def builtin_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = start_lab(tmp_path_factory, {"builtinTerminal": True})
    yield server
    server.stop()


def test_opt_out_brings_the_builtin_terminal_back(page: Any, builtin_lab: Lab) -> None:
    lab = builtin_lab
    open_lab(page, lab, reset=True)
    name = page.evaluate(
        "async () => (await window.jupyterapp.commands.execute('terminal:create-new'))"
        ".content.session.name"
    )
    wait_for(lambda: terminal_text(page).strip(), 30, "the built-in terminal's prompt")
    assert [t["name"] for t in lab.api("api/terminals")] == [name]
    assert lab.api("webpty/api/sessions") == []
    # The Running panel lists it through the same manager.
    page.locator('[data-id="jp-running-sessions"]').click()
    section = page.locator(".jp-RunningSessions-section:has-text('Terminals')")
    section.locator(f'.jp-RunningSessions-item:has-text("{name}")').wait_for()
    lab.api(f"api/terminals/{name}", method="DELETE")


@pytest.fixture(scope="module")
def closing_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab's terminal settings turned the other way: shutdownOnClose on, closeOnExit off."""
    server = start_lab(
        tmp_path_factory, terminal_settings={"shutdownOnClose": True, "closeOnExit": False}
    )
    yield server
    server.stop()


def test_shutdown_on_close_and_close_on_exit_settings(page: Any, closing_lab: Lab) -> None:
    lab = closing_lab
    # shutdownOnClose: closing the tab ends the session (the default only detaches).
    name = fresh_terminal(page, lab)
    page.locator(f'.lm-TabBar-tab:has-text("Terminal {name}") .lm-TabBar-tabCloseIcon').click()
    wait_for(lambda: session_names(lab) == [], what="the session ended with its tab")
    # closeOnExit off: the tab stays when the shell exits, saying so.
    name = page.evaluate(
        "async () => (await window.jupyterapp.commands.execute('terminal:create-new'))"
        ".content.session.name"
    )
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "prompt")
    type_into(page, scope, "exit\n")
    wait_for(lambda: "Finished" in terminal_text(page, scope), what="the ended session's note")
    assert session_names(lab) == []
    assert page.locator(f'.lm-TabBar-tab:has-text("Terminal {name}")').count() == 1
