"""Issue 12's checks in Notebook 7, where JupyterLab's are in other files.

Notebook 7 opens each terminal in a browser tab of its own (`terminals/<name>`), shown by
JupyterLab's terminal widget over our terminal manager; its tree page has a *Running* tab. These
tests repeat, on those pages, what the JupyterLab tests check: the Running tab, a reload with
`vim` running, the search over the scrollback, the context menu's Copy and Paste (also over plain
HTTP), the shell's keys, the command palette, OSC 52 clipboard writes, printed paths that open,
and the opt-out.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ARTIFACTS, HOST, Lab, start_lab, type_into, wait_for
from .views import (
    close_all,
    leave_terminal,
    no_link_at,
    pasted_into_textarea,
    row_middle,
    search_counter,
    session_names,
    set_clipboard,
    shut_down_from_running,
    terminal_text,
)

TERMINAL = ".jp-Terminal"


def open_terminal_page(page: Any, lab: Lab) -> str:
    """No sessions but a new one, shown on its Notebook 7 terminal page at its prompt; its name."""
    close_all(lab)
    name = str(lab.api("webpty/api/sessions", method="POST")["name"])
    page.goto(lab.page_url(f"terminals/{name}"))
    wait_for(lambda: "webpty$" in terminal_text(page, TERMINAL), 60, "Notebook 7's prompt")
    return name


def test_notebook7_running_tab_lists_and_shuts_down_sessions(page: Any, lab: Lab) -> None:
    close_all(lab)
    first = lab.api("webpty/api/sessions", method="POST")["name"]
    second = lab.api("webpty/api/sessions", method="POST")["name"]
    page.goto(lab.page_url("tree"))
    page.get_by_role("tab", name="Running").click()
    section = page.locator(".jp-RunningSessions-section:has-text('Terminals')")
    for each in (first, second):
        section.locator(f'.jp-RunningSessions-item:has-text("{each}")').wait_for(timeout=30_000)
    shut_down_from_running(page, lab, section, second, keep=first, shot="notebook7-running.png")


def test_notebook7_reload_brings_back_output_and_vim(page: Any, lab: Lab) -> None:
    name = open_terminal_page(page, lab)
    type_into(page, TERMINAL, "echo before-reload-$((6*7))\n")
    wait_for(lambda: "before-reload-42" in terminal_text(page, TERMINAL), what="echo output")
    type_into(page, TERMINAL, "vim -u NONE -N -i NONE\n")
    wait_for(lambda: terminal_text(page, TERMINAL).count("~") >= 5, what="vim's empty buffer")
    type_into(page, TERMINAL, "iwritten-in-vim\x1b")
    wait_for(lambda: "written-in-vim" in terminal_text(page, TERMINAL), what="typed into vim")
    page.reload()
    wait_for(
        lambda: (
            "written-in-vim" in terminal_text(page, TERMINAL)
            and terminal_text(page, TERMINAL).count("~") >= 5
        ),
        60,
        "vim's screen after reload",
    )
    assert session_names(lab) == [name]
    type_into(page, TERMINAL, ":q!\r")
    wait_for(
        lambda: "before-reload-42" in terminal_text(page, TERMINAL), what="the shell's screen back"
    )
    close_all(lab)


@pytest.fixture(scope="module")
def deep_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Terminal setting ``scrollback`` raised to 10000 lines (JupyterLab's default is 1000)."""
    server = start_lab(tmp_path_factory, terminal_settings={"scrollback": 10_000})
    yield server
    server.stop()


def test_notebook7_search_finds_a_line_5000_lines_back(page: Any, deep_lab: Lab) -> None:
    lab = deep_lab
    open_terminal_page(page, lab)
    type_into(page, TERMINAL, "echo needle-$((6*7)); seq 1 5000\n")
    wait_for(
        lambda: terminal_text(page, TERMINAL).rstrip().endswith("5000\nwebpty$"), 60, "5000 lines"
    )
    # Notebook 7's terminal page has no Edit menu. Ctrl+F in the terminal is the shell's; after
    # Shift+Esc (which leaves the terminal) Ctrl+F is the page's Find.
    leave_terminal(page)
    page.keyboard.press("Control+f")
    search = page.locator(".jp-DocumentSearch-input")
    search.wait_for(timeout=10_000)
    search.fill("needle-42")
    wait_for(lambda: search_counter(page) == "1/1", what="one match")
    wait_for(lambda: "needle-42" in terminal_text(page, TERMINAL), what="scrolled to the match")
    page.screenshot(path=str(ARTIFACTS / "notebook7-search.png"))
    # Match case: NEEDLE matches without it, not with it.
    search.fill("NEEDLE-42")
    wait_for(lambda: search_counter(page) == "1/1", what="a match ignoring case")
    page.locator(".jp-DocumentSearch-overlay button[title*='Match Case']").click()
    wait_for(lambda: search_counter(page) in ("-/-", "0/0"), what="no match with case")
    page.locator(".jp-DocumentSearch-overlay button[title*='Match Case']").click()
    # Regular expressions, with next and previous.
    page.locator(".jp-DocumentSearch-overlay button[title*='Regular Expression']").click()
    search.fill("^49[0-9]{2}$")
    wait_for(lambda: search_counter(page) == "1/100", what="100 matches")
    page.locator(".jp-DocumentSearch-overlay button[title^='Next Match']").click()
    wait_for(lambda: search_counter(page) == "2/100", what="the next match")
    page.locator(".jp-DocumentSearch-overlay button[title^='Previous Match']").click()
    wait_for(lambda: search_counter(page) == "1/100", what="the previous match")
    close_all(lab)


def test_notebook7_context_menu_copy_and_paste_round_trip(page: Any, lab: Lab) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url[:-1])
    open_terminal_page(page, lab)
    type_into(page, TERMINAL, "clear; echo copy-$((6*7))-nb7\n")
    row = page.locator(f"{TERMINAL} .xterm-accessibility-tree > div", has_text="copy-42-nb7").last
    row.wait_for(timeout=20_000)
    box = row.bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 20, box["y"] + box["height"] / 2)
    selected = page.evaluate("window.jupyterapp.shell.currentWidget.content.getSelection()")
    assert selected == "copy-42-nb7"
    page.evaluate("navigator.clipboard.writeText('before')")
    page.locator(f"{TERMINAL} .xterm-screen").click(button="right")
    page.locator('.lm-Menu-item[data-command="terminal:copy"]').click()
    wait_for(
        lambda: page.evaluate("navigator.clipboard.readText()") == "copy-42-nb7", what="copied"
    )
    type_into(page, TERMINAL, "echo pasted:")
    page.locator(f"{TERMINAL} .xterm-screen").click(button="right")
    page.locator('.lm-Menu-item[data-command="webpty:paste"]').click()
    wait_for(lambda: "echo pasted:copy-42-nb7" in terminal_text(page, TERMINAL), what="pasted")
    type_into(page, TERMINAL, "\n")
    wait_for(lambda: "\npasted:copy-42-nb7" in terminal_text(page, TERMINAL), what="it ran")
    # Ctrl+Shift+V is the browser's own paste.
    type_into(page, TERMINAL, "echo keys:")
    page.keyboard.press("Control+Shift+V")
    wait_for(lambda: "echo keys:copy-42-nb7" in terminal_text(page, TERMINAL), what="Ctrl+Shift+V")
    type_into(page, TERMINAL, "\n")
    wait_for(lambda: "\nkeys:copy-42-nb7" in terminal_text(page, TERMINAL), what="it ran too")
    # Select All takes the scrollback too.
    type_into(page, TERMINAL, "clear; seq -f 'all-%g' 1 300\n")
    wait_for(lambda: "all-300" in terminal_text(page, TERMINAL), what="the lines printed")
    page.locator(f"{TERMINAL} .xterm-screen").click(button="right")
    page.locator('.lm-Menu-item[data-command="webpty:select-all"]').click()
    page.locator(f"{TERMINAL} .xterm-screen").click(button="right")
    page.locator('.lm-Menu-item[data-command="terminal:copy"]').click()

    def copied() -> list[str]:
        text = str(page.evaluate("navigator.clipboard.readText()"))
        return [line.strip() for line in text.splitlines() if line.strip().startswith("all-")]

    wait_for(lambda: len(copied()) >= 300, what="the whole buffer copied")
    assert copied()[-300:] == [f"all-{i}" for i in range(1, 301)]
    close_all(lab)


def test_notebook7_shell_keys_and_shift_esc(page: Any, lab: Lab) -> None:
    open_terminal_page(page, lab)
    # Ctrl+B and Alt+B move readline's cursor (a char, a word) instead of running shortcuts.
    type_into(page, TERMINAL, "echo ab")
    page.keyboard.press("Control+b")
    type_into(page, TERMINAL, "X\n")
    wait_for(lambda: "\naXb\n" in terminal_text(page, TERMINAL), what="Ctrl+B moved the cursor")
    type_into(page, TERMINAL, "echo one two")
    page.keyboard.press("Alt+b")
    type_into(page, TERMINAL, "Y\n")
    wait_for(lambda: "\none Ytwo\n" in terminal_text(page, TERMINAL), what="Alt+B moved a word")
    # Ctrl+R is readline's reverse search, not the browser's reload.
    type_into(page, TERMINAL, "echo find-me-$((6*7))\n")
    wait_for(lambda: "\nfind-me-42" in terminal_text(page, TERMINAL), what="the line to find")
    type_into(page, TERMINAL, "clear\n")
    wait_for(lambda: "find-me" not in terminal_text(page, TERMINAL), what="cleared")
    page.keyboard.press("Control+r")
    type_into(page, TERMINAL, "find-me")
    wait_for(lambda: "reverse-i-search" in terminal_text(page, TERMINAL), what="readline's search")
    page.keyboard.press("Enter")
    wait_for(lambda: "\nfind-me-42" in terminal_text(page, TERMINAL), what="found and ran")
    # Shift+Esc leaves: Notebook 7's Ctrl+Shift+C opens its command palette again.
    leave_terminal(page)
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette").wait_for(timeout=10_000)
    close_all(lab)


@pytest.fixture(scope="module")
def builtin_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = start_lab(tmp_path_factory, {"builtinTerminal": True})
    yield server
    server.stop()


def test_notebook7_opt_out_brings_the_builtin_terminal_back(page: Any, builtin_lab: Lab) -> None:
    lab = builtin_lab
    page.goto(lab.page_url("tree"))
    page.locator(".jp-DirListing").wait_for(timeout=60_000)
    with page.context.expect_page() as opened:
        page.locator(".jp-DropdownMenu .lm-MenuBar-item", has_text="New").click()
        page.locator('.lm-Menu-item[data-command="terminal:create-new"]').click()
    terminal_page = opened.value
    try:
        wait_for(lambda: terminal_text(terminal_page, TERMINAL).strip(), 30, "a prompt")
        [builtin] = wait_for(lambda: lab.api("api/terminals"), what="a built-in terminal")
        assert f"terminals/{builtin['name']}" in terminal_page.url
        assert lab.api("webpty/api/sessions") == []
    finally:
        terminal_page.close()
    for terminal in lab.api("api/terminals"):
        lab.api(f"api/terminals/{terminal['name']}", method="DELETE")


def test_notebook7_network_drop_resumes_without_gap_or_duplicate(page: Any, lab: Lab) -> None:
    open_terminal_page(page, lab)
    marker = lab.root / "nb7-drop-finished"
    marker.unlink(missing_ok=True)
    type_into(
        page,
        TERMINAL,
        f"clear; for i in $(seq 1 30); do echo line-$i; sleep 0.1; done; : > {marker.name}\n",
    )
    wait_for(lambda: "line-3" in terminal_text(page, TERMINAL), what="the loop printing")
    page.context.set_offline(True)
    try:
        wait_for(
            lambda: all(s["clients"] == 0 for s in lab.api("webpty/api/sessions")),
            what="the page dropped",
        )
        wait_for(marker.exists, what="the loop finished while offline")
    finally:
        page.context.set_offline(False)
    wait_for(lambda: "line-30" in terminal_text(page, TERMINAL), 30, "resumed output")
    printed = [line.strip() for line in terminal_text(page, TERMINAL).splitlines()]
    assert [line for line in printed if line.startswith("line-")] == [
        f"line-{i}" for i in range(1, 31)
    ]
    close_all(lab)


def test_notebook7_show_terminal_directory_opens_the_tree_there(page: Any, lab: Lab) -> None:
    open_terminal_page(page, lab)
    type_into(page, TERMINAL, "mkdir -p nb7-cwd/down && cd nb7-cwd/down && touch cwd-marker\n")
    wait_for((lab.root / "nb7-cwd" / "down" / "cwd-marker").exists, what="cd")
    wait_for(
        lambda: lab.api("webpty/api/sessions")[0]["cwd"] == str(lab.root / "nb7-cwd" / "down"),
        what="the shell's cwd",
    )
    with page.context.expect_page() as opened:
        page.locator(f"{TERMINAL} .xterm-screen").click(button="right")
        page.locator('.lm-Menu-item[data-command="webpty:show-terminal-cwd"]').click()
    tree = opened.value
    try:
        tree.locator('.jp-DirListing-item[title^="Name: cwd-marker"]').wait_for(timeout=60_000)
        assert "/tree/nb7-cwd/down" in tree.url
    finally:
        tree.close()
    close_all(lab)


def test_notebook7_refresh_and_title(page: Any, lab: Lab) -> None:
    # Refresh Terminal from the context menu keeps the shell (as in JupyterLab); the browser
    # tab's title follows the program's (OSC 2), since Notebook 7 has no tab bar of its own.
    name = open_terminal_page(page, lab)
    type_into(page, TERMINAL, "export KEPT=$((6*7)); seq -f 'old-%g' 1 100\n")
    wait_for(lambda: "old-100" in terminal_text(page, TERMINAL), what="the lines printed")
    page.locator(f"{TERMINAL} .xterm-screen").click(button="right")
    page.locator('.lm-Menu-item[data-command="terminal:refresh"]').click()
    wait_for(lambda: "old-100" not in terminal_text(page, TERMINAL), what="the buffer cleared")
    type_into(page, TERMINAL, "echo kept=$KEPT\n")
    wait_for(lambda: "\nkept=42" in terminal_text(page, TERMINAL), what="the same shell")
    assert session_names(lab) == [name]
    type_into(page, TERMINAL, "printf '\\033]2;%s\\033\\\\' nb7-title-$((6*7))\n")
    wait_for(lambda: "nb7-title-42" in page.title(), what="the page title from OSC 2")
    close_all(lab)


def double_click_word(page: Any, word: str) -> None:
    """Select ``word``, printed at the start of a row, with a double click."""
    row = page.locator(f"{TERMINAL} .xterm-accessibility-tree > div", has_text=word).last
    row.wait_for(timeout=20_000)
    box = row.bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 20, box["y"] + box["height"] / 2)
    assert page.evaluate("window.jupyterapp.shell.currentWidget.content.getSelection()") == word
    page.locator(f"{TERMINAL} .xterm-helper-textarea").focus()


def test_notebook7_copy_over_plain_http(plain_http_page: Any, named_lab: Lab) -> None:
    page, lab = plain_http_page, named_lab
    close_all(lab)
    name = lab.api("webpty/api/sessions", method="POST")["name"]
    page.goto(lab.page_url(f"terminals/{name}").replace("127.0.0.1", HOST))
    wait_for(lambda: "webpty$" in terminal_text(page, TERMINAL), 60, "Notebook 7's prompt")
    assert page.evaluate("window.isSecureContext") is False
    assert page.evaluate("navigator.clipboard === undefined")
    for word, menu in (("nb7-http-42-keys", False), ("nb7-menu-42-http", True)):
        # Something else on the clipboard first: the probe must see the copy replace it.
        set_clipboard(page, "before")
        assert pasted_into_textarea(page) == "before"
        type_into(page, TERMINAL, f"clear; echo {word.replace('42', '$((6*7))')}\n")
        wait_for(
            lambda w=word: w in terminal_text(page, TERMINAL).split(),
            what=f"{word} printed",
        )
        double_click_word(page, word)
        if menu:
            # JupyterLab's own Copy (Notebook 7 shows JupyterLab's terminal widget).
            page.locator(f"{TERMINAL} .xterm-screen").click(button="right")
            page.locator('.lm-Menu-item[data-command="terminal:copy"]').click()
        else:
            page.keyboard.press("Control+Shift+C")
        wait_for(lambda w=word: pasted_into_textarea(page) == w, what=f"{word} copied")
    # Ctrl+Shift+C copied rather than opening Notebook 7's command palette.
    assert page.locator(".lm-CommandPalette:visible").count() == 0
    close_all(lab)


def test_notebook7_command_palette_new_terminal_is_a_webpty_session(page: Any, lab: Lab) -> None:
    first = open_terminal_page(page, lab)
    # In the terminal Ctrl+Shift+C is copy: Shift+Esc leaves it, then it opens the palette.
    leave_terminal(page)
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette input")
    search.wait_for(timeout=10_000)
    search.fill("New Terminal")
    page.locator('.lm-CommandPalette-item[data-command="terminal:create-new"]').wait_for()
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    terminal_page = opened.value
    try:
        wait_for(lambda: len(session_names(lab)) == 2, 30, "the palette's session")
        [second] = [each for each in session_names(lab) if each != first]
        wait_for(lambda: f"terminals/{second}" in terminal_page.url, what="its page")
        wait_for(lambda: "webpty$" in terminal_text(terminal_page, TERMINAL), 60, "its prompt")
        assert lab.api("api/terminals") == []
    finally:
        terminal_page.close()
    close_all(lab)


@pytest.fixture(scope="module")
def osc_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Notebook 7 with OSC 52 clipboard writes allowed."""
    server = start_lab(tmp_path_factory, webpty_settings={"osc52Clipboard": True})
    yield server
    server.stop()


def test_notebook7_osc52_writes_the_clipboard_only_when_allowed(
    page: Any, lab: Lab, osc_lab: Lab
) -> None:
    for server, allowed in ((lab, False), (osc_lab, True)):
        page.context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=server.url[:-1]
        )
        open_terminal_page(page, server)
        page.evaluate("navigator.clipboard.writeText('before')")
        payload = base64.b64encode(f"nb7-osc-{allowed}".encode()).decode()
        type_into(page, TERMINAL, f"printf '\\033]52;c;{payload}\\a'; echo after-osc\n")
        wait_for(lambda: "\nafter-osc" in terminal_text(page, TERMINAL), what="the printf ran")
        expected = f"nb7-osc-{allowed}" if allowed else "before"
        wait_for(
            lambda e=expected: page.evaluate("navigator.clipboard.readText()") == e,
            what=f"clipboard {expected!r}",
        )
        # A query never reads the clipboard back into the terminal.
        type_into(page, TERMINAL, "printf '\\033]52;c;?\\a'; echo asked\n")
        wait_for(lambda: "\nasked" in terminal_text(page, TERMINAL), what="the query ran")
        assert page.evaluate("navigator.clipboard.readText()") == expected
        close_all(server)


def test_notebook7_printed_paths_open_the_files_page(page: Any, lab: Lab) -> None:
    folder = lab.root / "nb7-linked"
    folder.mkdir(exist_ok=True)
    (folder / "nb7-notes.txt").write_text("opened through a link\n")
    open_terminal_page(page, lab)
    type_into(page, TERMINAL, "cd nb7-linked; clear; echo nb7-notes.txt; echo no-such-file.txt\n")
    # Hovered before `clear`, the row would hold the command line (see the JupyterLab test).
    wait_for(
        lambda: terminal_text(page, TERMINAL).rstrip().endswith("no-such-file.txt\nwebpty$"),
        what="the paths printed",
    )
    # Notebook 7 pads the terminal: its screen starts 8 px right of and below the accessibility
    # rows, so a point in the middle of one of those rows can be in the row above on the
    # screen. Aim at the screen's cells instead.
    x, y = row_middle(page, TERMINAL, "nb7-notes.txt")
    # xterm.js asks the link provider on moves to another cell: keep moving between two.
    moves = iter(range(10_000))

    def hovered() -> bool:
        page.mouse.move(x + (12 if next(moves) % 2 else 22), y)
        return bool(page.locator(f"{TERMINAL} .xterm-cursor-pointer").count())

    wait_for(hovered, what="the link under the mouse")
    link_moves = next(moves)
    # A name that does not exist is no link: hovering it leaves the plain cursor.
    missing = row_middle(page, TERMINAL, "no-such-file.txt")
    assert no_link_at(page, TERMINAL, missing, link_moves)
    wait_for(hovered, what="the link under the mouse again")
    # Notebook 7 opens a file in a browser tab of its own: its editor page, `edit/<path>`.
    with page.context.expect_page() as opened:
        page.mouse.click(x + 12, y)
    editor = opened.value
    try:
        wait_for(lambda: "/edit/nb7-linked/nb7-notes.txt" in editor.url, what="the file's page")
        editor.locator(".cm-content", has_text="opened through a link").wait_for(timeout=60_000)
    finally:
        editor.close()
    close_all(lab)
