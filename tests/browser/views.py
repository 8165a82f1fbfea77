"""Where each of our views is on the page, and how tests open and drive them.

The side panel, a ``%webterm`` notebook output and JupyterLab's terminal tabs, shared by the
browser test files (none imports another test file for them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import nbformat

from .conftest import ARTIFACTS, Lab, type_into, wait_for, wait_for_lab_restored

PANEL = ".jp-WebPty-panel"


def open_panel(page: Any, lab: Lab) -> None:
    """Open JupyterLab with the Terminals side panel shown.

    The side bar's tab toggles the panel, and JupyterLab may still be putting its restored
    layout in place when the tab is first seen (a CI run once found the tab current and the
    panel hidden, or clicked it just before the restore showed the panel): so click until the
    panel shows, giving each click a few seconds to take effect.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    open_lab(page, lab)
    tab = page.locator('[data-id="jp-WebPty-panel"]')
    tab.wait_for(timeout=60_000)
    new = page.locator(f"{PANEL} .jp-WebPty-new")

    def shown() -> bool:
        if new.is_visible():
            return True
        tab.click()
        with contextlib.suppress(PlaywrightTimeout):
            new.wait_for(timeout=5_000)
        return bool(new.is_visible())

    wait_for(shown, 60, "the Terminals side panel")


OUTPUT = ".jp-OutputArea .jp-WebPty-output"


def make_notebook(lab: Lab, name: str, session: str) -> None:
    """Write notebook ``name`` whose one cell shows a ``%webterm`` of ``session``."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"%load_ext jupyter_webpty\n%webterm {session}")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, lab.root / name)


def kernel_idle(lab: Lab, notebook: str) -> bool:
    """Whether ``notebook``'s kernel runs and is idle."""
    sessions = [s for s in lab.api("api/sessions") if s["path"].endswith(notebook)]
    return bool(sessions) and sessions[0]["kernel"]["execution_state"] == "idle"


def run_first_cell(page: Any) -> None:
    """Run the open notebook's first cell (Shift+Enter)."""
    page.locator(".jp-Cell .cm-content").first.click()
    page.keyboard.press("Shift+Enter")


TERMINAL = "#jp-main-dock-panel .jp-Terminal"


def terminal_text(page: Any, scope: str = TERMINAL) -> str:
    """The screen of JupyterLab's terminal widget(s) under ``scope`` (screen reader mode)."""
    rows = page.locator(f"{scope} .xterm-accessibility-tree")
    return "\n".join(rows.all_inner_texts()).replace("\xa0", " ")


def open_lab(page: Any, lab: Lab, *, reset: bool = False, url: str | None = None) -> None:
    """Open JupyterLab (at ``url``, else the lab's own); ``reset`` starts from an empty layout.

    Without it JupyterLab restores the terminal tabs of earlier tests, and restoring a tab
    whose session was closed starts a new one of that name (JupyterLab's own behaviour).
    """
    page.goto(url or lab.page_url("lab?reset" if reset else "lab"))
    wait_for_lab_restored(page)


def close_all(lab: Lab) -> None:
    """Close every webpty session of ``lab`` and wait until none is listed."""
    for session in lab.api("webpty/api/sessions"):
        lab.api(f"webpty/api/sessions/{session['session_id']}", method="DELETE")
    wait_for(lambda: lab.api("webpty/api/sessions") == [], what="sessions closed")


def current_terminal(page: Any) -> str:
    """The scope of the terminal in the current main-area tab."""
    return "#jp-main-dock-panel .jp-MainAreaWidget:not(.lm-mod-hidden) .jp-Terminal"


def paste_event(page: Any, scope: str, text: str) -> None:
    """Dispatch a paste of ``text`` on the terminal's input, as Ctrl+V would."""
    page.locator(f"{scope} .xterm-helper-textarea").evaluate(
        """(node, text) => {
            const data = new DataTransfer();
            data.setData('text/plain', text);
            node.focus();
            node.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                              cancelable: true}));
        }""",
        text,
    )


def bracketed_paste_off(page: Any, scope: str, text: Callable[[Any, str], str]) -> None:
    """Turn bash's bracketed paste off and wait until readline says it is (``text`` reads the
    screen): output printed after the ``bind`` is no proof that the ``bind`` ran."""
    type_into(
        page,
        scope,
        "bind 'set enable-bracketed-paste off'; clear; "
        "echo paste-$(bind -v | grep -c 'bracketed-paste off$')\n",
    )
    wait_for(lambda: "paste-1" in text(page, scope), what="bracketed paste off")


def session_names(lab: Lab) -> list[str]:
    """The names of ``lab``'s webpty sessions."""
    return [s["name"] for s in lab.api("webpty/api/sessions")]


def search_counter(page: Any) -> str:
    """The document search bar's "n/m" match counter."""
    return str(page.locator(".jp-DocumentSearch-index-counter").inner_text()).strip()


def pasted_into_textarea(page: Any) -> str:
    """What the browser's own paste (Ctrl+V) puts into a fresh textarea of the page."""
    area = page.evaluate_handle(
        "() => { const a = document.createElement('textarea'); a.id = 'paste-probe';"
        " document.body.appendChild(a); a.focus(); return a; }"
    )
    page.keyboard.press("Control+V")
    value = str(area.evaluate("a => a.value"))
    area.evaluate("a => a.remove()")
    return value


def set_clipboard(page: Any, text: str) -> None:
    """Put ``text`` on the clipboard where ``navigator.clipboard`` is missing (copy command)."""
    page.evaluate(
        "text => { const a = document.createElement('textarea'); a.value = text;"
        " document.body.appendChild(a); a.select(); document.execCommand('copy'); a.remove(); }",
        text,
    )


def row_middle(page: Any, scope: str, text: str) -> tuple[float, float]:
    """The left edge and vertical middle, on the screen, of the row showing ``text``.

    JupyterLab's terminal widget pads the terminal: its screen starts 8 px right of and below
    the accessibility rows, so the middle of one of those rows can be on the screen's row above.
    """
    rows = page.locator(f"{scope} .xterm-accessibility-tree > div")
    texts = [each.replace("\xa0", " ") for each in rows.all_inner_texts()]
    index = next(i for i, each in enumerate(texts) if text in each)
    screen = page.locator(f"{scope} .xterm-screen").bounding_box()
    height = rows.first.bounding_box()["height"]
    return screen["x"], screen["y"] + (index + 0.5) * height


def no_link_at(page: Any, scope: str, point: tuple[float, float], link_moves: int) -> bool:
    """Whether the mouse, moved back and forth over two cells at ``point`` for three times the
    ``link_moves`` a real link took to show its pointer (at least 20), never got one there."""
    x, y = point
    for move in range(max(20, 3 * link_moves)):
        page.mouse.move(x + (12 if move % 2 else 22), y)
        if page.locator(f"{scope} .xterm-cursor-pointer").count():
            return False
    return True


def leave_terminal(page: Any) -> None:
    """Shift+Esc, and wait until the keyboard focus has left the terminal."""
    page.keyboard.press("Shift+Escape")
    wait_for(
        lambda: (
            not page.evaluate("document.activeElement.classList.contains('xterm-helper-textarea')")
        ),
        what="focus left the terminal",
    )


def shut_down_from_running(
    page: Any, lab: Lab, section: Any, name: str, *, keep: str, shot: str
) -> None:
    """Shut ``name`` down with its button in the Running list ``section`` (``keep`` stays),
    then check that the list follows sessions closed elsewhere too."""
    item = section.locator(f'.jp-RunningSessions-item:has-text("{name}")')
    item.hover()
    item.locator(".jp-RunningSessions-itemShutdown").click()
    wait_for(lambda: session_names(lab) == [keep], what="shut down from the Running list")
    wait_for(lambda: item.count() == 0, what="gone from the Running list")
    page.screenshot(path=str(ARTIFACTS / shot))
    close_all(lab)
    wait_for(
        lambda: section.locator(".jp-RunningSessions-item").count() == 0,
        what="the list follows sessions closed elsewhere",
    )
