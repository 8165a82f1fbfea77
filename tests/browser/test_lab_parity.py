"""What JupyterLab's built-in terminal offers, checked on webpty sessions in JupyterLab's widget.

Open Terminal Here from the file browser (and back: the file browser follows a shell's cwd),
the document search over the scrollback, and the context menu's Copy and Paste through the
system clipboard.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, Lab, start_lab, type_into, wait_for
from .views import close_all, current_terminal, open_lab, search_counter, terminal_text

DOCS = Path(__file__).resolve().parents[2] / "docs"


def listing_item(page: Any, name: str) -> Any:
    """The file browser's row for ``name`` (in the directory it shows)."""
    return page.locator(f'.jp-DirListing-item[title^="Name: {name}"]').first


def context_menu_click(page: Any, label: str) -> None:
    """Click the open context menu's item ``label``."""
    page.locator(".lm-Menu-item", has_text=label).first.click()


def test_open_terminal_here_starts_in_the_folder(page: Any, lab: Lab) -> None:
    close_all(lab)
    inner = lab.root / "project" / "src"
    inner.mkdir(parents=True, exist_ok=True)
    open_lab(page, lab, reset=True)
    # Show the file browser (clicking its tab would hide it when already shown).
    page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")

    # Right-click a folder: the terminal starts in it.
    listing_item(page, "project").dblclick()
    listing_item(page, "src").click(button="right")
    context_menu_click(page, "Open Terminal Here")
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "prompt")
    [session] = lab.api("webpty/api/sessions")
    type_into(page, scope, "pwd\n")
    wait_for(lambda: str(inner) in terminal_text(page, scope), what="pwd in the folder")
    assert session["cwd"] == str(inner)
    page.screenshot(path=str(ARTIFACTS / "open-terminal-here.png"))

    # Right-click the listing's background: the directory the browser shows.
    page.locator("#filebrowser .jp-DirListing-content").click(
        button="right", position={"x": 40, "y": 200}
    )
    context_menu_click(page, "Open Terminal Here")
    wait_for(lambda: len(lab.api("webpty/api/sessions")) == 2, what="the second session")
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "second prompt")
    type_into(page, scope, "pwd\n")
    wait_for(
        lambda: f"{lab.root / 'project'}\n" in terminal_text(page, scope) + "\n",
        what="pwd in the browser's directory",
    )

    # And back: the file browser follows the shell to where it went.
    type_into(page, scope, "mkdir -p deeper/down && cd deeper/down && touch here-marker\n")
    wait_for((lab.root / "project" / "deeper" / "down" / "here-marker").exists, what="cd")
    page.locator(f"{scope} .xterm-screen").click(button="right")
    context_menu_click(page, "Show Terminal's Directory in File Browser")
    listing_item(page, "here-marker").wait_for(timeout=20_000)
    crumbs = page.locator("#filebrowser .jp-BreadCrumbs").inner_text()
    assert "down" in crumbs

    # A Launcher opened now starts its terminal there too (JupyterLab passes the browser's path).
    page.evaluate("void window.jupyterapp.commands.execute('launcher:create')")
    launcher = "#jp-main-dock-panel .jp-MainAreaWidget:not(.lm-mod-hidden)"
    page.locator(f'{launcher} .jp-LauncherCard[title="Start a new terminal session"]').click()
    wait_for(lambda: len(lab.api("webpty/api/sessions")) == 3, what="the Launcher's session")
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "third prompt")
    type_into(page, scope, "pwd\n")
    down = lab.root / "project" / "deeper" / "down"
    wait_for(lambda: f"{down}\n" in terminal_text(page, scope) + "\n", what="the Launcher's cwd")
    close_all(lab)


@pytest.fixture(scope="module")
def deep_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab with its terminal setting ``scrollback`` raised from 1000 to 10000 lines."""
    server = start_lab(tmp_path_factory, terminal_settings={"scrollback": 10_000})
    yield server
    server.stop()


def test_document_search_finds_a_line_5000_lines_back(page: Any, deep_lab: Lab) -> None:
    lab = deep_lab
    close_all(lab)
    open_lab(page, lab, reset=True)
    page.locator('.jp-LauncherCard[title="Start a new terminal session"]').first.click()
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "prompt")
    type_into(page, scope, "echo needle-$((6*7)); seq 1 5000\n")
    wait_for(
        lambda: terminal_text(page, scope).rstrip().endswith("5000\nwebpty$"), 60, "5000 lines"
    )
    page.locator(f"{scope} .xterm-helper-textarea").focus()
    # Ctrl+F typed into the terminal is the shell's (readline's forward-char), as in JupyterLab's
    # built-in terminal: Edit > Find... opens JupyterLab's search bar over the focused terminal.
    # The shell got it: "ab", back twice, forward once, then "X" lands between a and b.
    type_into(page, scope, "echo ab")
    for key in ("Control+b", "Control+b", "Control+f"):
        page.keyboard.press(key)
    type_into(page, scope, "X\n")
    wait_for(lambda: "\naXb\n" in terminal_text(page, scope), what="Ctrl+F moved the cursor")
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.locator('.lm-Menu-item[data-command="documentsearch:start"]').click()
    search = page.locator(".jp-DocumentSearch-input")
    search.wait_for(timeout=10_000)
    search.fill("needle-42")
    wait_for(lambda: search_counter(page) == "1/1", what="one match")
    # The terminal scrolled back to it: the search bar and the match, for docs/.
    wait_for(lambda: "needle-42" in terminal_text(page, scope), what="scrolled to the match")
    page.screenshot(path=str(ARTIFACTS / "terminal-search.png"))
    shutil.copy(ARTIFACTS / "terminal-search.png", DOCS / "terminal-search.png")
    # Match case: NEEDLE matches without it, not with it.
    search.fill("NEEDLE-42")
    wait_for(lambda: search_counter(page) == "1/1", what="a match ignoring case")
    page.locator(".jp-DocumentSearch-overlay button[title*='Match Case']").click()
    wait_for(lambda: search_counter(page) in ("-/-", "0/0"), what="no match with case")
    page.locator(".jp-DocumentSearch-overlay button[title*='Match Case']").click()
    # Regular expressions, with next/previous over several matches.
    page.locator(".jp-DocumentSearch-overlay button[title*='Regular Expression']").click()
    search.fill("^49[0-9]{2}$")
    wait_for(lambda: search_counter(page) == "1/100", what="100 matches")
    page.locator(".jp-DocumentSearch-overlay button[title^='Next Match']").click()
    wait_for(lambda: search_counter(page) == "2/100", what="the next match")
    page.locator(".jp-DocumentSearch-overlay button[title^='Previous Match']").click()
    wait_for(lambda: search_counter(page) == "1/100", what="the previous match")
    close_all(lab)


def clipboard_terminal(page: Any, lab: Lab) -> str:
    """A fresh Lab with clipboard access and one new terminal tab at its prompt; its scope."""
    close_all(lab)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url[:-1])
    open_lab(page, lab, reset=True)
    page.evaluate("window.jupyterapp.commands.execute('terminal:create-new')")
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "prompt")
    return scope


def test_context_menu_copy_and_paste_round_trip(page: Any, lab: Lab) -> None:
    # JupyterLab's own menu items on a webpty session: nothing of ours is involved but the stream.
    scope = clipboard_terminal(page, lab)
    type_into(page, scope, "clear; echo copy-$((6*7))-me\n")
    wait_for(lambda: "copy-42-me" in terminal_text(page, scope), what="the text to copy")
    # Double-click selects the word (xterm.js counts "-" as part of it).
    row = page.locator(f"{scope} .xterm-accessibility-tree > div", has_text="copy-42-me").first
    box = row.bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 20, box["y"] + box["height"] / 2)
    page.locator(f"{scope} .xterm-screen").click(button="right")
    context_menu_click(page, "Copy")
    wait_for(
        lambda: page.evaluate("navigator.clipboard.readText()") == "copy-42-me",
        what="the selection in the system clipboard",
    )
    # Paste types it into the shell, after what was typed before.
    type_into(page, scope, "echo pasted:")
    page.locator(f"{scope} .xterm-screen").click(button="right")
    context_menu_click(page, "Paste")
    wait_for(lambda: "echo pasted:copy-42-me" in terminal_text(page, scope), what="pasted")
    type_into(page, scope, "\n")
    wait_for(
        lambda: "\npasted:copy-42-me" in terminal_text(page, scope), what="the pasted text ran"
    )
    close_all(lab)


def test_context_menu_select_all_takes_the_scrollback(page: Any, lab: Lab) -> None:
    scope = clipboard_terminal(page, lab)
    # 300 lines: most of them scrolled out of the screen.
    type_into(page, scope, "clear; seq -f 'all-%g' 1 300\n")
    wait_for(lambda: "all-300" in terminal_text(page, scope), what="the lines printed")
    page.evaluate("navigator.clipboard.writeText('before')")
    page.locator(f"{scope} .xterm-screen").click(button="right")
    context_menu_click(page, "Select All")
    page.locator(f"{scope} .xterm-screen").click(button="right")
    context_menu_click(page, "Copy")

    def copied() -> list[str]:
        text = str(page.evaluate("navigator.clipboard.readText()"))
        return [line.strip() for line in text.splitlines() if line.strip().startswith("all-")]

    wait_for(lambda: len(copied()) >= 300, what="the whole buffer copied")
    assert copied()[-300:] == [f"all-{i}" for i in range(1, 301)]
    close_all(lab)


def test_open_terminal_here_in_notebook7(page: Any, lab: Lab) -> None:
    close_all(lab)
    (lab.root / "nb7-folder").mkdir(exist_ok=True)
    page.goto(lab.page_url("tree"))
    listing_item(page, "nb7-folder").wait_for(timeout=60_000)
    with page.context.expect_page() as opened:
        listing_item(page, "nb7-folder").click(button="right")
        context_menu_click(page, "Open Terminal Here")
    terminal_page = opened.value
    try:
        wait_for(lambda: "webpty$" in terminal_text(terminal_page, ".jp-Terminal"), 30, "prompt")
        type_into(terminal_page, ".jp-Terminal", "pwd\n")
        folder = lab.root / "nb7-folder"
        wait_for(
            lambda: f"{folder}\n" in terminal_text(terminal_page, ".jp-Terminal") + "\n",
            what="pwd in the folder",
        )
    finally:
        terminal_page.close()
    close_all(lab)


def test_context_menu_refresh_keeps_the_session(page: Any, lab: Lab) -> None:
    # JupyterLab's Refresh Terminal reconnects (a no-op while connected: ours resumes by itself)
    # and clears the scrollback; the shell and its state are the same after it.
    scope = clipboard_terminal(page, lab)
    [before] = lab.api("webpty/api/sessions")
    type_into(page, scope, "export KEPT=$((6*7)); seq -f 'old-%g' 1 100\n")
    wait_for(lambda: "old-100" in terminal_text(page, scope), what="the lines printed")
    page.locator(f"{scope} .xterm-screen").click(button="right")
    context_menu_click(page, "Refresh Terminal")
    wait_for(lambda: "old-100" not in terminal_text(page, scope), what="the buffer cleared")
    type_into(page, scope, "echo kept=$KEPT\n")
    wait_for(lambda: "\nkept=42" in terminal_text(page, scope), what="the same shell")
    [after] = lab.api("webpty/api/sessions")
    assert after["session_id"] == before["session_id"]
    close_all(lab)
