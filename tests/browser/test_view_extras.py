"""The terminal extras (labextension/src/extras.ts) in our own views: the side panel and a
notebook output terminal, and copying over plain HTTP (not a secure context).

The same module serves JupyterLab's terminal tabs (tests in test_lab_extras.py); these tests
check that the panel and a notebook output have the same keys, paste confirmation, bell and
file drops, and that copy works where ``navigator.clipboard`` does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import ARTIFACTS, HOST, Lab, screen_text, type_into, wait_for
from .views import (
    OUTPUT,
    PANEL,
    bracketed_paste_off,
    close_all,
    current_terminal,
    kernel_idle,
    leave_terminal,
    make_notebook,
    open_lab,
    paste_event,
    pasted_into_textarea,
    run_first_cell,
    set_clipboard,
    terminal_text,
)

PANEL_TAB = '[data-id="jp-WebPty-panel"]'


def open_panel_terminal(page: Any, lab: Lab, url: str | None = None) -> None:
    """Open JupyterLab (at ``url``, else the lab's own), show the panel, start a session."""
    open_lab(page, lab, reset=True, url=url)
    # Our build is the one served (the copy command is new with the shared extras).
    assert page.evaluate("window.jupyterapp.commands.hasCommand('webpty:copy')")
    page.evaluate("window.jupyterapp.shell.activateById('jp-WebPty-panel')")
    # Wider (drag the split handle): the commands typed below fit on one line.
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:visible").first
    box = handle.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 500, box["y"] + 200, steps=5)
    page.mouse.up()
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: len(lab.api("webpty/api/sessions")) == 1, what="the panel's session")
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), 30, "the panel's prompt")


def select_word(page: Any, scope: str, word: str) -> None:
    """Double-click ``word`` on the screen of the (DOM-rendered) view under ``scope``."""
    row = page.locator(f"{scope} .xterm-rows > div", has_text=word).last
    row.wait_for(timeout=20_000)
    text = row.inner_text().replace("\xa0", " ")
    box = row.bounding_box()
    assert box is not None
    cell = box["width"] / max(len(text), 1)
    x = box["x"] + cell * (text.index(word) + 1.5)
    page.mouse.dblclick(x, box["y"] + box["height"] / 2)
    page.locator(f"{scope} .xterm-helper-textarea").focus()


def clipboard(page: Any) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def has_class(page: Any, selector: str, cls: str) -> bool:
    return cls in str(page.locator(selector).first.get_attribute("class") or "")


def drop_file(page: Any, scope: str, name: str, text: str) -> None:
    transfer = page.evaluate_handle(
        "([name, text]) => { const d = new DataTransfer(); d.items.add(new File([text], name));"
        " return d; }",
        [name, text],
    )
    page.locator(f"{scope} .xterm-screen").dispatch_event("drop", {"dataTransfer": transfer})


def check_copy(page: Any, scope: str, word: str, copied: Callable[[], str], *, menu: bool) -> None:
    """Print ``word`` (its "42" computed by the shell), select it, copy it with Ctrl+Shift+C
    or, with ``menu``, the context menu's Copy; ``copied()`` reads what the clipboard got."""
    type_into(page, scope, f"clear; echo {word.replace('42', '$((6*7))')}\n")
    wait_for(lambda: word in screen_text(page, scope), what=f"{word} printed")
    select_word(page, scope, word)
    if menu:
        page.locator(f"{scope} .xterm-screen").click(button="right")
        page.locator('.lm-Menu-item[data-command="webpty:copy"]').click()
    else:
        page.keyboard.press("Control+Shift+C")
    wait_for(lambda: copied() == word, what=f"{word} copied")


def check_drop(page: Any, lab: Lab, scope: str, folder: str, name: str, text: str) -> None:
    """A file dropped on the terminal uploads into the shell's directory (``folder``)."""
    target = lab.root / folder
    target.mkdir(exist_ok=True)
    type_into(page, scope, f"cd {folder}; clear\n")
    wait_for(
        lambda: lab.api("webpty/api/sessions")[0]["cwd"] == str(target), what="the shell's cwd"
    )
    drop_file(page, scope, name, text)
    # The file exists (empty) before its contents are written: wait for them.
    wait_for(lambda: read_or_none(target / name) == text, 30, "the upload")


def ring_when_flagged(page: Any, lab: Lab, scope: str, name: str) -> Path:
    """Have the shell ring the bell once the returned file exists (the test creates it)."""
    flag = lab.root / name
    flag.unlink(missing_ok=True)
    # Relative to the shell's cwd (the root): an absolute path can wrap in a narrow output,
    # splitting the name the next line waits for.
    type_into(page, scope, f"clear; while [ ! -e {name} ]; do sleep 0.05; done; printf 'r\\a\\n'\n")
    wait_for(lambda: name in screen_text(page, scope), what="the command typed")
    return flag


def read_or_none(path: Path) -> str | None:
    """The file's text, or None while it does not exist."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def check_multiline_paste(page: Any, scope: str, tag: str) -> None:
    """Bracketed paste off: a pasted block asks first; Paste runs both lines."""
    bracketed_paste_off(page, scope, screen_text)
    paste_event(page, scope, f"echo {tag}-a$((1+1))\necho {tag}-b$((2+2))\n")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=10_000)
    assert "Paste 2 lines" in dialog.inner_text()
    assert f"{tag}-a2" not in screen_text(page, scope)  # Nothing ran before the answer.
    dialog.get_by_role("button", name="Paste").click()
    wait_for(
        lambda: (
            f"\n{tag}-a2" in screen_text(page, scope) and f"\n{tag}-b4" in screen_text(page, scope)
        ),
        what="both pasted lines ran",
    )


def test_side_panel_has_the_extras(page: Any, lab: Lab) -> None:
    close_all(lab)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url[:-1])
    open_panel_terminal(page, lab)
    # Ctrl+Shift+C copies the selection (xterm.js alone would send ^C and copy nothing).
    page.evaluate("navigator.clipboard.writeText('before')")
    check_copy(page, PANEL, "copy-42-panel", lambda: clipboard(page), menu=False)
    # Ctrl+Shift+V pastes (the browser's own paste into xterm.js).
    type_into(page, PANEL, "echo pasted:")
    page.keyboard.press("Control+Shift+V")
    wait_for(lambda: "echo pasted:copy-42-panel" in screen_text(page, PANEL), what="pasted")
    type_into(page, PANEL, "\n")
    wait_for(lambda: "\npasted:copy-42-panel" in screen_text(page, PANEL), what="it ran")
    # The context menu's Copy.
    page.evaluate("navigator.clipboard.writeText('before')")
    check_copy(page, PANEL, "menu-42-copy", lambda: clipboard(page), menu=True)
    # The menu's Paste reads the clipboard itself here (a secure context): no dialog.
    type_into(page, PANEL, "echo menu:")
    page.locator(f"{PANEL} .xterm-screen").click(button="right")
    page.locator('.lm-Menu-item[data-command="webpty:paste"]').click()
    wait_for(lambda: "echo menu:menu-42-copy" in screen_text(page, PANEL), what="the menu's Paste")
    assert page.locator(".jp-webpty-paste-input").count() == 0
    type_into(page, PANEL, "\n")
    wait_for(lambda: "\nmenu:menu-42-copy" in screen_text(page, PANEL), what="it ran")

    check_multiline_paste(page, PANEL, "panel")

    # A bell while the panel is collapsed marks its side bar tab; showing it clears the mark.
    flag = ring_when_flagged(page, lab, PANEL, "ring-panel")
    page.evaluate("window.jupyterapp.shell.collapseLeft()")
    wait_for(lambda: page.evaluate("window.jupyterapp.shell.leftCollapsed"), what="collapsed")
    assert not has_class(page, PANEL_TAB, "jp-webpty-mod-bell")
    flag.touch()
    wait_for(lambda: has_class(page, PANEL_TAB, "jp-webpty-mod-bell"), what="the bell mark")
    page.screenshot(path=str(ARTIFACTS / "panel-bell.png"))
    page.evaluate("window.jupyterapp.shell.activateById('jp-WebPty-panel')")
    wait_for(lambda: not has_class(page, PANEL_TAB, "jp-webpty-mod"), what="marks cleared")

    # A dropped file goes into the shell's directory; its name is typed.
    check_drop(page, lab, PANEL, "panel-drops", "panel drop.txt", "dropped\n")
    wait_for(lambda: "'panel drop.txt'" in screen_text(page, PANEL), what="the typed name")
    close_all(lab)


def test_notebook_output_terminal_has_the_extras(page: Any, lab: Lab) -> None:
    close_all(lab)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url[:-1])
    make_notebook(lab, "extras.ipynb", "nb-extras")
    page.goto(lab.page_url("lab/tree/extras.ipynb"))
    page.locator(".jp-Cell .cm-content").first.wait_for(timeout=60_000)
    wait_for(lambda: kernel_idle(lab, "extras.ipynb"), 60, "kernel ready")
    run_first_cell(page)
    wait_for(lambda: "webpty$" in screen_text(page, OUTPUT), 60, "prompt in the output")

    check_copy(page, OUTPUT, "copy-42-output", lambda: clipboard(page), menu=False)

    check_multiline_paste(page, OUTPUT, "out")

    # No tab to mark: a bell rung while the terminal is not in use shows on the terminal until
    # the user comes back to it. One rung while typing in it shows nothing.
    view = f"{OUTPUT} .jp-WebPty-view"
    type_into(page, OUTPUT, "clear; printf 'typing\\a\\n'\n")
    wait_for(lambda: "typing" in screen_text(page, OUTPUT), what="the bell while typing")
    assert not has_class(page, view, "jp-webpty-mod-bell")
    flag = ring_when_flagged(page, lab, OUTPUT, "ring-output")
    leave_terminal(page)
    flag.touch()
    wait_for(lambda: has_class(page, view, "jp-webpty-mod-bell"), what="the bell on the output")
    page.screenshot(path=str(ARTIFACTS / "output-bell.png"))
    page.locator(f"{OUTPUT} .xterm-screen").click()
    wait_for(lambda: not has_class(page, view, "jp-webpty-mod-bell"), what="the bell cleared")

    check_drop(page, lab, OUTPUT, "output-drops", "out.txt", "from the notebook\n")
    close_all(lab)


def test_copy_over_plain_http(plain_http_page: Any, named_lab: Lab) -> None:
    page, lab = plain_http_page, named_lab
    close_all(lab)
    url = lab.page_url("lab?reset").replace("127.0.0.1", HOST)
    open_panel_terminal(page, lab, url)
    assert page.evaluate("window.isSecureContext") is False
    assert page.evaluate("navigator.clipboard === undefined")
    # Something else on the clipboard first: the probe must see the copy replace it.
    page.evaluate(
        "() => { const a = document.createElement('textarea'); a.value = 'before';"
        " document.body.appendChild(a); a.select(); document.execCommand('copy'); a.remove(); }"
    )
    assert pasted_into_textarea(page) == "before"
    check_copy(page, PANEL, "http-42-copy", lambda: pasted_into_textarea(page), menu=False)
    check_copy(page, PANEL, "menu-42-http", lambda: pasted_into_textarea(page), menu=True)
    close_all(lab)


def paste_from_menu(page: Any, scope: str) -> None:
    """The context menu's Paste where the page may not read the clipboard: a dialog whose box
    has the keyboard; a real Ctrl+V pastes the clipboard into it, which closes it."""
    page.locator(f"{scope} .xterm-screen").click(button="right")
    # JupyterLab's own Paste (which reads navigator.clipboard) is not in the menu: ours is.
    assert page.locator('.lm-Menu-item[data-command="terminal:paste"]').count() == 0
    page.locator('.lm-Menu-item[data-command="webpty:paste"]').click()
    box = page.locator(".jp-Dialog .jp-webpty-paste-input")
    box.wait_for(timeout=10_000)
    wait_for(lambda: box.evaluate("n => n === document.activeElement"), what="the box focused")
    page.keyboard.press("Control+V")
    box.wait_for(state="detached", timeout=10_000)


def test_context_menu_paste_over_plain_http(plain_http_page: Any, named_lab: Lab) -> None:
    page, lab = plain_http_page, named_lab
    close_all(lab)
    url = lab.page_url("lab?reset").replace("127.0.0.1", HOST)
    open_panel_terminal(page, lab, url)
    assert page.evaluate("window.isSecureContext") is False
    # The side panel: copied with Ctrl+Shift+C (the copy command's fallback), pasted with the menu.
    type_into(page, PANEL, "clear; echo http-$((6*7))-paste\n")
    wait_for(lambda: "http-42-paste" in screen_text(page, PANEL), what="the word to copy")
    select_word(page, PANEL, "http-42-paste")
    page.keyboard.press("Control+Shift+C")
    wait_for(lambda: pasted_into_textarea(page) == "http-42-paste", what="Ctrl+Shift+C copied")
    type_into(page, PANEL, "echo pasted:")
    paste_from_menu(page, PANEL)
    wait_for(lambda: "echo pasted:http-42-paste" in screen_text(page, PANEL), what="pasted")
    type_into(page, PANEL, "\n")
    wait_for(lambda: "\npasted:http-42-paste" in screen_text(page, PANEL), what="it ran")
    page.screenshot(path=str(ARTIFACTS / "paste-over-http-panel.png"))
    # Cancel pastes nothing and gives the terminal the keyboard back.
    page.locator(f"{PANEL} .xterm-screen").click(button="right")
    page.locator('.lm-Menu-item[data-command="webpty:paste"]').click()
    box = page.locator(".jp-Dialog .jp-webpty-paste-input")
    box.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "paste-dialog.png"))
    page.locator(".jp-Dialog").get_by_role("button", name="Cancel").click()
    box.wait_for(state="detached", timeout=10_000)
    panel_input = page.locator(f"{PANEL} .xterm-helper-textarea")
    wait_for(
        lambda: panel_input.evaluate("n => n === document.activeElement"),
        what="the terminal has the keyboard again",
    )
    type_into(page, PANEL, "echo after-$((6*7))-cancel\n")
    wait_for(lambda: "\nafter-42-cancel" in screen_text(page, PANEL), what="typed after Cancel")
    assert "pasted:http-42-pastehttp" not in screen_text(page, PANEL)

    # JupyterLab's terminal tab: the same dialog, then the multi-line check.
    page.evaluate("window.jupyterapp.commands.execute('terminal:create-new')")
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "the tab's prompt")
    bracketed_paste_off(page, scope, terminal_text)
    set_clipboard(page, "echo tab-a$((1+1))\necho tab-b$((2+2))\n")
    paste_from_menu(page, scope)
    confirm = page.locator(".jp-Dialog", has_text="Paste 2 lines")
    confirm.wait_for(timeout=10_000)
    assert "tab-a2" not in terminal_text(page, scope)
    confirm.get_by_role("button", name="Paste").click()
    wait_for(
        lambda: (
            "\ntab-a2" in terminal_text(page, scope) and "\ntab-b4" in terminal_text(page, scope)
        ),
        what="both pasted lines ran",
    )
    close_all(lab)


def test_context_menu_paste_over_plain_http_in_notebook7(
    plain_http_page: Any, named_lab: Lab
) -> None:
    page, lab = plain_http_page, named_lab
    close_all(lab)
    created = lab.api("webpty/api/sessions", method="POST")
    page.goto(lab.page_url(f"terminals/{created['name']}").replace("127.0.0.1", HOST))
    scope = ".jp-Terminal"
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 60, "Notebook 7's prompt")
    assert page.evaluate("window.isSecureContext") is False
    set_clipboard(page, "echo nb7-http-$((6*7))")
    type_into(page, scope, "clear\n")
    paste_from_menu(page, scope)
    wait_for(lambda: "echo nb7-http-$((6*7))" in terminal_text(page, scope), what="pasted")
    type_into(page, scope, "\n")
    wait_for(lambda: "\nnb7-http-42" in terminal_text(page, scope), what="it ran")
    close_all(lab)
