"""The Terminals side panel in a real JupyterLab: create, type, reload, restore, vim, close."""

from __future__ import annotations

import json
import re
from typing import Any

from .conftest import ARTIFACTS, Lab, screen_text, type_into, wait_for
from .views import PANEL, open_lab, open_panel


def open_session(page: Any, name: str) -> None:
    entry = page.locator(f'{PANEL} .jp-WebPty-session[data-name="{name}"]')
    entry.wait_for()
    entry.locator(".jp-WebPty-sessionText").click()


def type_in_terminal(page: Any, text: str) -> None:
    type_into(page, PANEL, text)


def test_panel_create_type_reload_vim_close(page: Any, lab: Lab) -> None:
    open_panel(page, lab)
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), what="prompt in the panel")
    type_in_terminal(page, "echo hello-$RANDOM\n")
    found = wait_for(
        lambda: re.search(r"^hello-(\d+)\s*$", screen_text(page, PANEL), re.MULTILINE),
        what="echo output",
    )
    hello = found.group(0).strip()
    [session] = lab.api("webpty/api/sessions")

    # Rename it from the panel.
    page.locator(
        f'{PANEL} .jp-WebPty-session[data-name="{session["name"]}"] .jp-WebPty-rename'
    ).click()
    page.locator(".jp-Dialog input").fill("renamed")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    name = "renamed"
    wait_for(lambda: lab.api("webpty/api/sessions")[0]["name"] == name, what="renamed on server")
    # The open session stays highlighted under its new name.
    page.locator(f'{PANEL} .jp-WebPty-session.jp-mod-selected[data-name="{name}"]').wait_for()

    # Reload: the session is listed again, and opening it restores the earlier output.
    open_panel(page, lab)
    open_session(page, name)
    wait_for(lambda: hello in screen_text(page, PANEL), what="restored output after reload")

    # A full-screen program survives a reload with its screen.
    type_in_terminal(page, "vim -u NONE -N -i NONE\n")
    wait_for(lambda: screen_text(page, PANEL).count("~") >= 5, what="vim's empty buffer")
    type_in_terminal(page, "iwritten-in-vim\x1b")
    wait_for(lambda: "written-in-vim" in screen_text(page, PANEL), what="text typed into vim")
    open_panel(page, lab)
    open_session(page, name)
    wait_for(
        lambda: "written-in-vim" in screen_text(page, PANEL) and "~" in screen_text(page, PANEL),
        what="vim's screen restored after reload",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "panel-vim-restored.png"))

    # The same session in a main-area tab: a second view of the same shell.
    page.locator(f'{PANEL} .jp-WebPty-session[data-name="{name}"] .jp-WebPty-openMain').click()
    wait_for(lambda: "written-in-vim" in screen_text(page, ".jp-WebPty-main"), what="tab view")
    page.screenshot(path=str(ARTIFACTS / "panel-and-tab.png"))
    type_in_terminal(page, ":q!\r")
    wait_for(lambda: lab.api("webpty/api/sessions")[0]["command"] == "bash", what="vim quit")

    # Close it from the panel; it disappears from the list and from the server.
    page.locator(f'{PANEL} .jp-WebPty-session[data-name="{name}"] .jp-WebPty-close').click()
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    if accept.count():
        accept.click()
    wait_for(lambda: lab.api("webpty/api/sessions") == [], what="session closed on the server")
    wait_for(
        lambda: page.locator(f'{PANEL} .jp-WebPty-session[data-name="{name}"]').count() == 0,
        what="session gone from the panel",
    )
    # Its tab closes with it, as JupyterLab's terminal tabs do when the shell ends.
    wait_for(lambda: page.locator(".jp-WebPty-main").count() == 0, what="its tab closed")


def test_restored_tab_of_a_closed_session_does_not_revive_it(page: Any, lab: Lab) -> None:
    open_panel(page, lab)
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), what="prompt in the panel")
    [session] = lab.api("webpty/api/sessions")
    name = session["name"]
    page.locator(f'{PANEL} .jp-WebPty-session[data-name="{name}"] .jp-WebPty-openMain').click()
    wait_for(lambda: "webpty$" in screen_text(page, ".jp-WebPty-main"), what="tab view")
    # JupyterLab saves the layout (with the tab) to its workspace; wait for that.
    wait_for(
        lambda: f'"name": "{name}"' in json.dumps(lab.api("lab/api/workspaces/default")),
        what="the tab in the saved layout",
    )
    page.goto("about:blank")
    lab.api(f"webpty/api/sessions/{session['session_id']}", method="DELETE")
    wait_for(lambda: lab.api("webpty/api/sessions") == [], what="session closed")
    # Reload: the restored tab finds no session and closes; no new shell is started.
    open_lab(page, lab)
    wait_for(lambda: page.locator(".jp-WebPty-main").count() == 0, what="restored tab closed")
    assert lab.api("webpty/api/sessions") == []


def test_panel_ctrl_c_stops_a_flood_and_renders_after(page: Any, lab: Lab) -> None:
    # A user's view of flow control: xterm.js acknowledges what it rendered, `yes` floods,
    # Ctrl+C brings the prompt back, and what follows renders cleanly (colour, UTF-8).
    open_panel(page, lab)
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), what="prompt in the panel")
    type_in_terminal(page, "seq 1 2000000 | tail -n 1; yes hello-flood\n")
    wait_for(lambda: screen_text(page, PANEL).count("hello-flood") > 10, what="the flood")
    type_in_terminal(page, "\x03")
    wait_for(
        lambda: screen_text(page, PANEL).rstrip().endswith("webpty$"), what="prompt after Ctrl+C"
    )
    type_in_terminal(page, "printf '\\e[1;32mgre\\e[0men-%s\\n' \"$((6*7))\"; echo 'añ€-ok'\n")
    wait_for(
        lambda: "green-42" in screen_text(page, PANEL) and "añ€-ok" in screen_text(page, PANEL),
        what="coloured and UTF-8 output after the flood",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "panel-after-flood.png"))
    for session in lab.api("webpty/api/sessions"):
        lab.api(f"webpty/api/sessions/{session['session_id']}", method="DELETE")
