"""What our plugin adds to JupyterLab's terminal tabs (labextension/src/labterminal.ts).

Shell keys (Ctrl/Alt combinations reach the shell, Shift+Esc leaves), bell and activity
marks on background tabs, OSC 52 clipboard writes (opt-in), multi-line paste confirmation,
clickable file paths and file drops that upload into the shell's directory.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ARTIFACTS, Lab, start_lab, type_into, wait_for
from .views import (
    bracketed_paste_off,
    close_all,
    current_terminal,
    leave_terminal,
    no_link_at,
    open_lab,
    paste_event,
    row_middle,
    terminal_text,
)


@pytest.fixture(scope="module")
def osc_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab with OSC 52 clipboard writes allowed."""
    server = start_lab(tmp_path_factory, webpty_settings={"osc52Clipboard": True})
    yield server
    server.stop()


def new_terminal(page: Any, lab: Lab, count: int) -> str:
    """Open a terminal with JupyterLab's command; wait for its prompt (``count`` sessions then)."""
    page.evaluate("window.jupyterapp.commands.execute('terminal:create-new')")
    wait_for(lambda: len(lab.api("webpty/api/sessions")) == count, what=f"session {count}")
    scope = current_terminal(page)
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 30, "prompt")
    return scope


def left_area_collapsed(page: Any) -> bool:
    return bool(page.evaluate("window.jupyterapp.shell.leftCollapsed"))


def test_shell_keys_reach_the_shell_and_shift_esc_leaves(page: Any, lab: Lab) -> None:
    close_all(lab)
    open_lab(page, lab, reset=True)
    page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
    wait_for(lambda: not left_area_collapsed(page), what="the file browser shown")
    scope = new_terminal(page, lab, 1)
    # Ctrl+B is JupyterLab's "toggle left sidebar" and readline's backward-char: the shell wins
    # (xterm.js stops the keys it sends; JupyterLab matches shortcuts while they bubble).
    type_into(page, scope, "echo ab")
    page.keyboard.press("Control+b")
    type_into(page, scope, "X\n")
    wait_for(lambda: "\naXb\n" in terminal_text(page, scope), what="Ctrl+B moved the cursor")
    assert not left_area_collapsed(page), "JupyterLab's shortcut ran too"
    # Alt+B (backward-word) as well.
    type_into(page, scope, "echo one two")
    page.keyboard.press("Alt+b")
    type_into(page, scope, "Y\n")
    wait_for(lambda: "\none Ytwo\n" in terminal_text(page, scope), what="Alt+B moved a word")
    # Ctrl+Shift+C copies the selection (no ^C to the shell), Ctrl+Shift+V pastes it.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url[:-1])
    type_into(page, scope, "clear; echo copy-$((6*7))-keys\n")
    row = page.locator(f"{scope} .xterm-accessibility-tree > div", has_text="copy-42-keys").first
    row.wait_for(timeout=20_000)
    box = row.bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 20, box["y"] + box["height"] / 2)
    page.locator(f"{scope} .xterm-helper-textarea").focus()
    page.keyboard.press("Control+Shift+C")
    wait_for(
        lambda: page.evaluate("navigator.clipboard.readText()") == "copy-42-keys",
        what="Ctrl+Shift+C copied the selection",
    )
    type_into(page, scope, "echo pasted:")
    page.keyboard.press("Control+Shift+V")
    wait_for(lambda: "echo pasted:copy-42-keys" in terminal_text(page, scope), what="pasted")
    type_into(page, scope, "\n")
    wait_for(lambda: "\npasted:copy-42-keys" in terminal_text(page, scope), what="it ran")
    # JupyterLab's setting pasteWithCtrlV (on by default): Ctrl+V pastes too, no ^V.
    type_into(page, scope, "echo again:")
    page.keyboard.press("Control+v")
    wait_for(lambda: "echo again:copy-42-keys" in terminal_text(page, scope), what="Ctrl+V")
    type_into(page, scope, "\n")
    wait_for(lambda: "\nagain:copy-42-keys" in terminal_text(page, scope), what="it ran too")
    # Shift+Esc leaves the terminal: JupyterLab's shortcuts work again.
    leave_terminal(page)
    page.keyboard.press("Control+b")
    wait_for(lambda: left_area_collapsed(page), what="JupyterLab's Ctrl+B after Shift+Esc")
    close_all(lab)


def tab_classes(page: Any, label: str) -> str:
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=label).first
    return str(tab.get_attribute("class") or "")


def test_background_tab_shows_activity_and_bell(page: Any, lab: Lab) -> None:
    close_all(lab)
    open_lab(page, lab, reset=True)
    first = new_terminal(page, lab, 1)
    flag, bell = lab.root / "print-now", lab.root / "ring-now"
    flag.unlink(missing_ok=True)
    bell.unlink(missing_ok=True)
    type_into(
        page,
        first,
        f"clear; while [ ! -e {flag} ]; do sleep 0.05; done; echo printed; "
        f"while [ ! -e {bell} ]; do sleep 0.05; done; printf 'rang\\a\\n'\n",
    )
    # The command's echo and `clear` are output too: let them land before the tab goes away.
    wait_for(lambda: "print-now" in terminal_text(page, first), what="the command typed")
    wait_for(lambda: "print-now" not in terminal_text(page, first), what="the screen cleared")
    new_terminal(page, lab, 2)  # The first tab is in the background now.
    assert "jp-webpty-mod" not in tab_classes(page, "Terminal 1")
    flag.touch()
    wait_for(
        lambda: "jp-webpty-mod-activity" in tab_classes(page, "Terminal 1"), what="activity mark"
    )
    bell.touch()
    wait_for(lambda: "jp-webpty-mod-bell" in tab_classes(page, "Terminal 1"), what="bell mark")
    page.screenshot(path=str(ARTIFACTS / "terminal-bell-tab.png"))
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Terminal 1").first.click()
    wait_for(lambda: "jp-webpty-mod" not in tab_classes(page, "Terminal 1"), what="marks cleared")
    close_all(lab)


def osc52(text: str) -> str:
    payload = base64.b64encode(text.encode()).decode()
    return f"printf '\\033]52;c;{payload}\\a'\n"


def test_osc52_writes_the_clipboard_only_when_allowed(page: Any, lab: Lab, osc_lab: Lab) -> None:
    for server, allowed in ((lab, False), (osc_lab, True)):
        close_all(server)
        page.context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=server.url[:-1]
        )
        open_lab(page, server, reset=True)
        scope = new_terminal(page, server, 1)
        page.evaluate("navigator.clipboard.writeText('before')")
        type_into(page, scope, osc52(f"from-vim-{allowed}") + "echo after-osc\n")
        wait_for(lambda s=scope: "\nafter-osc" in terminal_text(page, s), what="the printf ran")
        expected = f"from-vim-{allowed}" if allowed else "before"
        wait_for(
            lambda e=expected: page.evaluate("navigator.clipboard.readText()") == e,
            what=f"clipboard {expected!r}",
        )
        # A query never reads the clipboard back into the terminal.
        type_into(page, scope, "printf '\\033]52;c;?\\a'; echo asked\n")
        wait_for(lambda s=scope: "\nasked" in terminal_text(page, s), what="the query ran")
        assert page.evaluate("navigator.clipboard.readText()") == expected
        close_all(server)


def test_osc52_writes_over_the_size_cap_are_refused(page: Any, osc_lab: Lab) -> None:
    # The cap (MAX_OSC52, 1 MiB of base64 as xterm.js's clipboard addon): 786,000 bytes of
    # text are 1,048,000 base64 characters, 787,000 are 1,049,336.
    lab = osc_lab
    close_all(lab)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url[:-1])
    open_lab(page, lab, reset=True)
    scope = new_terminal(page, lab, 1)
    clipboard_length = "navigator.clipboard.readText().then(t => t.length)"
    for size, written in ((787_000, False), (786_000, True)):
        page.evaluate("navigator.clipboard.writeText('before')")
        payload = f"$(head -c {size} /dev/zero | tr '\\0' x | base64 -w0)"
        type_into(
            page, scope, f"printf '\\033]52;c;%s\\a' \"{payload}\"; echo sent-$((1+{size}))\n"
        )
        wait_for(lambda s=size: f"sent-{1 + s}" in terminal_text(page, scope), 30, "the printf")
        if written:
            wait_for(lambda s=size: page.evaluate(clipboard_length) == s, what="the write")
        else:
            assert page.evaluate("navigator.clipboard.readText()") == "before"
    close_all(lab)


def test_multiline_paste_asks_unless_bracketed(page: Any, lab: Lab) -> None:
    close_all(lab)
    open_lab(page, lab, reset=True)
    scope = new_terminal(page, lab, 1)
    # Bash turns bracketed paste on: a pasted block cannot run by itself, no question.
    paste_event(page, scope, "echo bracketed-$((1+1))\necho second")
    wait_for(lambda: "bracketed-$((1+1))" in terminal_text(page, scope), what="pasted as is")
    assert page.locator(".jp-Dialog").count() == 0
    page.keyboard.press("Control+c")
    # Keys that reach bash while it handles the SIGINT join the pasted line instead of a new
    # one (readline redisplays it and goes on), so that line, with `bind` in it, would run:
    # wait for the prompt that follows ^C before typing.
    wait_for(
        lambda: terminal_text(page, scope).rstrip().endswith("second^C\nwebpty$"),
        what="the pasted line abandoned",
    )
    # Without bracketed paste each line would run at once: the user is asked first.
    bracketed_paste_off(page, scope, terminal_text)
    paste_event(page, scope, "echo first-$((2+2))\necho second-$((3+3))\n")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=10_000)
    assert "Paste 2 lines" in dialog.inner_text()
    page.screenshot(path=str(ARTIFACTS / "paste-confirmation.png"))
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached", timeout=10_000)
    assert "first-4" not in terminal_text(page, scope)
    paste_event(page, scope, "echo first-$((2+2))\necho second-$((3+3))\n")
    dialog.wait_for(timeout=10_000)
    dialog.get_by_role("button", name="Paste").click()
    wait_for(
        lambda: (
            "\nfirst-4\n" in terminal_text(page, scope)
            and "\nsecond-6" in terminal_text(page, scope)
        ),
        what="both pasted lines ran",
    )
    close_all(lab)


def test_printed_paths_open_in_jupyterlab(page: Any, lab: Lab) -> None:
    close_all(lab)
    folder = lab.root / "linked"
    folder.mkdir(exist_ok=True)
    (folder / "notes-to-open.txt").write_text("opened through a link\n")
    open_lab(page, lab, reset=True)
    scope = new_terminal(page, lab, 1)
    type_into(page, scope, "cd linked; clear; echo notes-to-open.txt; echo no-such-file.txt\n")
    # The command line names the file too, on the row the output takes after `clear`: hovered
    # before the clear, that row has no link where the mouse is, and xterm.js keeps a row's
    # answer while the mouse stays on it. Wait for the output.
    wait_for(
        lambda: terminal_text(page, scope).rstrip().endswith("no-such-file.txt\nwebpty$"),
        what="the paths printed",
    )
    # Aim at the screen's rows, not the accessibility rows above them (see row_middle).
    x, y = row_middle(page, scope, "notes-to-open.txt")
    # Hover the path's first cells: xterm.js asks our provider (which asks the server) and
    # underlines the link. It asks on moves to another cell, so keep moving between two.
    moves = iter(range(10_000))

    def hovered() -> bool:
        page.mouse.move(x + (12 if next(moves) % 2 else 22), y)
        return bool(page.locator(f"{scope} .xterm-cursor-pointer").count())

    wait_for(hovered, what="the link under the mouse")
    link_moves = next(moves)
    page.mouse.click(x + 12, y)
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="notes-to-open.txt")
    tab.first.wait_for(timeout=20_000)
    # A name that does not exist is no link: hovering it leaves the plain cursor.
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Terminal 1").first.click()
    missing = row_middle(page, scope, "no-such-file.txt")
    assert no_link_at(page, scope, missing, link_moves)
    close_all(lab)


def test_dropped_files_upload_into_the_shells_directory(page: Any, lab: Lab) -> None:
    close_all(lab)
    target = lab.root / "drops"
    target.mkdir(exist_ok=True)
    open_lab(page, lab, reset=True)
    scope = new_terminal(page, lab, 1)
    type_into(page, scope, "cd drops; clear\n")
    wait_for(
        lambda: lab.api("webpty/api/sessions")[0]["cwd"] == str(target), what="the shell in drops"
    )
    # 2.5 MB with bytes of every value: three chunks of the contents API's chunked upload.
    big = bytes(range(256)) * 10_000
    transfer = page.evaluate_handle(
        """(b64) => {
            const data = new DataTransfer();
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            data.items.add(new File([bytes], "big file.bin"));
            data.items.add(new File(["small\\n"], "it's.txt"));
            return data;
        }""",
        base64.b64encode(big).decode(),
    )
    page.locator(f"{scope} .xterm-screen").dispatch_event("drop", {"dataTransfer": transfer})
    # The progress notification (JupyterLab's toast) shows during the upload, then says done.
    page.locator(".Toastify__toast", has_text="Uploading 2 file(s) to /drops").wait_for()
    page.locator(".Toastify__toast", has_text="Uploaded 2 file(s) to /drops").wait_for(
        timeout=60_000
    )
    wait_for((target / "it's.txt").exists, 60, "the upload")
    wait_for(
        lambda: (
            (target / "big file.bin").exists()
            and hashlib.sha256((target / "big file.bin").read_bytes()).hexdigest()
            == hashlib.sha256(big).hexdigest()
        ),
        60,
        "the big file, byte-exact",
    )
    assert (target / "it's.txt").read_text() == "small\n"
    # Their quoted names are typed at the prompt: running them as arguments finds both files.
    wait_for(
        lambda: "'big file.bin' 'it'\\''s.txt'" in terminal_text(page, scope), what="typed names"
    )
    page.keyboard.press("Home")
    type_into(page, scope, "ls -l ")
    page.keyboard.press("End")
    type_into(page, scope, "&& echo both-listed\n")
    wait_for(lambda: "\nboth-listed" in terminal_text(page, scope), what="ls found both")
    close_all(lab)


@pytest.fixture(scope="module")
def styled_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab whose terminal settings a user changed: our views must follow them."""
    server = start_lab(
        tmp_path_factory,
        terminal_settings={
            "theme": "dark",
            "lineHeight": 1.6,
            "fontSize": 20,
            # Each the other way from both defaults (ours and xterm.js's).
            "fontFamily": "'Liberation Mono', monospace",
            "cursorBlink": False,
            "macOptionIsMeta": True,
        },
    )
    yield server
    server.stop()


def test_side_panel_follows_jupyterlabs_terminal_settings(page: Any, styled_lab: Lab) -> None:
    lab = styled_lab
    close_all(lab)
    page.goto(lab.page_url("lab"))
    panel = ".jp-WebPty-panel"
    tab = page.locator('[data-id="jp-WebPty-panel"]')
    tab.wait_for(timeout=60_000)
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    page.locator(f"{panel} .jp-WebPty-new").click()
    wait_for(lambda: len(lab.api("webpty/api/sessions")) == 1, what="the panel's session")
    view = page.locator(f"{panel} .jp-WebPty-view").first
    view.wait_for(timeout=20_000)
    # The page's theme is light; JupyterLab's terminal theme says dark: the view is dark.
    assert page.evaluate("document.body.dataset.jpThemeLight") == "true"
    wait_for(lambda: view.get_attribute("data-theme") == "dark", what="the dark terminal theme")
    # 20 px at line height 1.6: rows at least 30 px apart (13 px at 1.0 gives about 17).
    row = page.locator(f"{panel} .xterm-rows > div").first
    box = row.bounding_box()
    assert box is not None
    assert box["height"] >= 30, box
    # fontFamily, cursorBlink, macOptionIsMeta reach xterm.js, in the panel's view and in a
    # JupyterLab tab.
    expected = {"fontFamily": "'Liberation Mono', monospace", "cursorBlink": False}
    expected["macOptionIsMeta"] = True
    assert xterm_options(page, PANEL_XTERM, list(expected)) == expected
    page.evaluate("window.jupyterapp.commands.execute('terminal:create-new')")
    wait_for(lambda: len(lab.api("webpty/api/sessions")) == 2, what="the tab's session")
    tab_xterm = "window.jupyterapp.shell.currentWidget.content._term"
    wait_for(lambda: page.evaluate(f"!!({tab_xterm})"), what="the tab's xterm.js")
    assert xterm_options(page, tab_xterm, list(expected)) == expected
    close_all(lab)


PANEL_XTERM = (
    "[...window.jupyterapp.shell.widgets('left')]"
    ".find(w => w.id === 'jp-WebPty-panel')._handle.view.terminal"
)


def xterm_options(page: Any, terminal: str, keys: list[str]) -> dict[str, Any]:
    """The xterm.js options ``keys`` of the terminal that script expression ``terminal`` names
    (private fields: what the settings must reach is xterm.js itself, not our wrappers)."""
    return dict(
        page.evaluate(
            f"keys => Object.fromEntries(keys.map(k => [k, ({terminal}).options[k]]))", keys
        )
    )


def test_notebook7_terminal_has_the_same_extras(page: Any, lab: Lab) -> None:
    # Notebook 7's terminal page is JupyterLab's widget too: paste confirmation, Ctrl+Shift+C
    # and file drops work there the same way.
    close_all(lab)
    created = lab.api("webpty/api/sessions", method="POST")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url[:-1])
    page.goto(lab.page_url(f"terminals/{created['name']}"))
    scope = ".jp-Terminal"
    wait_for(lambda: "webpty$" in terminal_text(page, scope), 60, "Notebook 7's prompt")
    bracketed_paste_off(page, scope, terminal_text)
    paste_event(page, scope, "echo nb7-a\necho nb7-b\n")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=10_000)
    dialog.get_by_role("button", name="Paste").click()
    wait_for(lambda: "\nnb7-b" in terminal_text(page, scope), what="the pasted lines ran")
    row = page.locator(f"{scope} .xterm-accessibility-tree > div", has_text="nb7-b").last
    box = row.bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 10, box["y"] + box["height"] / 2)
    page.locator(f"{scope} .xterm-helper-textarea").focus()
    page.keyboard.press("Control+Shift+C")
    # (Where the double-click lands differs from Lab's layout; what counts is that the
    # selection, whatever it is, reached the clipboard and no command palette opened.)
    selected = page.evaluate("window.jupyterapp.shell.currentWidget.content.getSelection()")
    assert selected
    wait_for(lambda: page.evaluate("navigator.clipboard.readText()") == selected, what="copied")
    assert page.locator(".lm-CommandPalette:visible").count() == 0
    transfer = page.evaluate_handle(
        "() => { const d = new DataTransfer(); d.items.add(new File(['x'], 'nb7-drop.txt'));"
        " return d; }"
    )
    page.locator(f"{scope} .xterm-screen").dispatch_event("drop", {"dataTransfer": transfer})
    wait_for((lab.root / "nb7-drop.txt").exists, 30, "the upload from Notebook 7")
    close_all(lab)


def test_tab_title_follows_the_programs_title(page: Any, lab: Lab) -> None:
    # JupyterLab's widget does this for any connection; checked on ours (OSC 0 and OSC 2).
    close_all(lab)
    open_lab(page, lab, reset=True)
    scope = new_terminal(page, lab, 1)
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    wait_for(lambda: tab.inner_text() == "Terminal 1", what="the session's name as the title")
    type_into(page, scope, "printf '\\033]0;%s\\007' title-$((6*7))\n")
    wait_for(lambda: tab.inner_text() == "title-42", what="OSC 0 title")
    type_into(page, scope, "printf '\\033]2;%s\\033\\\\' other-$((6*7))\n")
    wait_for(lambda: tab.inner_text() == "other-42", what="OSC 2 title")
    close_all(lab)
