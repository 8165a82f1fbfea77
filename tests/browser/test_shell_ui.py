"""Shell integration in the browser: panel status, command marks, jumps, copy output, %%webterm.

The lab here starts a bare ``bash -i`` (integrated by the rule in docs/protocol.md) with a HOME
of its own whose ``.bashrc`` sets the prompt, so the marks come from our real init files.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest

from .conftest import ARTIFACTS, Lab, screen_text, start_lab, type_into, wait_for
from .views import PANEL, kernel_idle, open_lab, open_panel, terminal_text

MARK = ".jp-WebPty-commandMark"
GREEN = "rgb(46, 160, 67)"
RED = "rgb(241, 76, 76)"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("home")
    (home / ".bashrc").write_text("PS1='webpty$ '\n")
    bash = shutil.which("bash") or "/bin/bash"
    config = (
        f"c.WebPtyApp.shell_command = [{bash!r}, '-i']\n"
        f"c.WebPtyApp.extra_env = {{'HOME': {str(home)!r}, 'HISTFILE': '/dev/null'}}\n"
    )
    server = start_lab(tmp_path_factory, config_lines=config)
    yield server
    server.stop()


def marks(page: Any, scope: str, state: str) -> Any:
    """The drawn (on-screen) command marks in ``state`` under ``scope``."""
    return page.locator(f"{scope} {MARK}.jp-mod-{state}:visible")


def mark_colour(locator: Any) -> str:
    colour: str = locator.evaluate("node => getComputedStyle(node, '::before').backgroundColor")
    return colour


def top_row(page: Any, scope: str) -> str:
    text: str = page.locator(f"{scope} .xterm-rows > div").first.inner_text()
    return text.replace("\xa0", " ").strip()


def run_in_panel(page: Any, lab: Lab, command: str, *, finished: int) -> None:
    """Type ``command``; wait until the server logged ``finished`` commands and the prompt is back.

    (A mark's element exists only once its line was on screen: a command whose output scrolls
    its prompt away at once has none yet, so the server's log is what says it finished.)
    """
    [session] = lab.api("webpty/api/sessions")
    url = f"webpty/api/sessions/{session['session_id']}/commands"
    type_into(page, PANEL, command + "\n")
    wait_for(
        lambda: (
            sum(c["end"] is not None for c in lab.api(url)["commands"]) >= finished
            and screen_text(page, PANEL).rstrip().endswith("webpty$")
        ),
        what=f"{command!r} finished",
    )


def session_row(page: Any, name: str) -> Any:
    return page.locator(f'{PANEL} .jp-WebPty-session[data-name="{name}"]')


def test_panel_status_marks_jumps_and_copy_output(page: Any, lab: Lab) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url)
    open_panel(page, lab)
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), what="prompt in the panel")
    [session] = lab.api("webpty/api/sessions")
    assert session["shell_integration"] is True
    row = session_row(page, session["name"])

    # true and false: a green and a red mark, in the gutter left of each prompt line.
    run_in_panel(page, lab, "true", finished=1)
    run_in_panel(page, lab, "false", finished=2)
    wait_for(lambda: marks(page, PANEL, "success").count() == 1, what="one green mark")
    wait_for(lambda: marks(page, PANEL, "failure").count() == 1, what="one red mark")
    assert mark_colour(marks(page, PANEL, "success")) == GREEN
    assert mark_colour(marks(page, PANEL, "failure")) == RED
    failed = marks(page, PANEL, "failure").bounding_box()
    line = page.locator(f"{PANEL} .xterm-rows > div", has_text="webpty$ false").bounding_box()
    assert failed["x"] + failed["width"] <= line["x"]  # in the gutter, not over the text
    assert abs(failed["y"] - line["y"]) < 2  # on the prompt line of `false`
    assert marks(page, PANEL, "failure").get_attribute("title") == '"false" exited with 1'
    # Nothing covers it: the mouse reaches it (its title is the tooltip).
    x, y = failed["x"] + failed["width"] / 2, failed["y"] + failed["height"] / 2
    hit = page.evaluate(f"document.elementFromPoint({x}, {y}).className")
    assert "jp-WebPty-commandMark" in hit

    # The panel's row: the last exit code, then the running command, live.
    wait_for(
        lambda: row.locator(".jp-WebPty-sessionExit.jp-mod-failure").inner_text() == "\u2717 1",
        what="exit code 1 in the panel",
    )
    type_into(page, PANEL, "sleep 30\n")
    wait_for(
        lambda: (
            row.locator(".jp-WebPty-sessionRunning").count()
            and row.locator(".jp-WebPty-sessionRunning").inner_text() == "\u25b6 sleep 30"
        ),
        what="running command in the panel",
    )
    running = marks(page, PANEL, "running")
    wait_for(lambda: running.count() == 1, what="neutral mark while it runs")
    assert running.evaluate("n => getComputedStyle(n, '::before').borderTopColor") == (
        "rgb(138, 138, 138)"
    )
    page.screenshot(path=str(ARTIFACTS / "shell-ui-running.png"))
    # The panel alone (README's docs/shell-integration.png).
    panel = page.locator(PANEL).bounding_box()
    clip = {"x": panel["x"], "y": panel["y"], "width": panel["width"], "height": 200}
    page.screenshot(path=str(ARTIFACTS / "shell-ui-running-panel.png"), clip=clip)
    type_into(page, PANEL, "\x03")
    wait_for(
        lambda: (
            row.locator(".jp-WebPty-sessionRunning").count() == 0
            and row.locator(".jp-WebPty-sessionExit").inner_text() == "\u2717 130"
        ),
        what="Ctrl+C'd command ended in the panel",
    )
    wait_for(lambda: marks(page, PANEL, "failure").count() == 2, what="the sleep's mark red")

    # Ctrl+Up / Ctrl+Down jump between commands' prompts.
    run_in_panel(page, lab, "seq 1 200", finished=4)
    run_in_panel(page, lab, "printf 'alpha\\n  beta gamma\\n'", finished=5)
    assert "webpty$ seq" not in screen_text(page, PANEL)
    # The last command is on the screen already: it is selected (outlined), nothing scrolls.
    selected = page.locator(f"{PANEL} {MARK}.jp-mod-selected:visible")
    page.keyboard.press("Control+ArrowUp")
    wait_for(lambda: selected.count() == 1, what="printf selected")
    assert selected.get_attribute("title") == "\"printf 'alpha\\n  beta gamma\\n'\" exited with 0"
    page.keyboard.press("Control+ArrowUp")
    wait_for(lambda: top_row(page, PANEL) == "webpty$ seq 1 200", what="jump to seq")
    page.keyboard.press("Control+ArrowUp")
    wait_for(lambda: top_row(page, PANEL) == "webpty$ sleep 30", what="jump to sleep")
    assert selected.get_attribute("title") == '"sleep 30" exited with 130'
    page.screenshot(path=str(ARTIFACTS / "shell-ui-jump.png"))
    page.keyboard.press("Control+ArrowDown")
    wait_for(lambda: top_row(page, PANEL) == "webpty$ seq 1 200", what="back down to seq")
    page.keyboard.press("Control+ArrowDown")
    page.keyboard.press("Control+ArrowDown")
    wait_for(lambda: "webpty$ printf" in screen_text(page, PANEL), what="back at the bottom")
    # The keys did not reach the shell (bash would print ;5A / ;5B).
    assert ";5A" not in screen_text(page, PANEL)

    # Copy Output of Last Command, from the terminal's context menu: the exact text.
    page.evaluate("navigator.clipboard.writeText('before')")
    page.locator(f"{PANEL} .xterm-screen").click(button="right")
    page.locator(".lm-Menu-item", has_text="Copy Output of Last Command").click()
    wait_for(
        lambda: page.evaluate("navigator.clipboard.readText()") == "alpha\n  beta gamma\n",
        what="the output on the clipboard",
    )
    # And from the palette's command, for the terminal that had the keyboard.
    run_in_panel(page, lab, "echo second-output", finished=6)
    page.evaluate("window.jupyterapp.commands.execute('webpty:copy-last-output')")
    wait_for(
        lambda: page.evaluate("navigator.clipboard.readText()") == "second-output\n",
        what="the next command's output on the clipboard",
    )
    page.screenshot(path=str(ARTIFACTS / "shell-ui-panel.png"))

    # A full reset (ESC c, as when a screen is restored) drops the marks with the old screen;
    # later commands are marked and jumped to as before.
    run_in_panel(page, lab, "printf '\\033c'", finished=7)
    wait_for(lambda: page.locator(f"{PANEL} {MARK}").count() == 0, what="marks gone with reset")
    run_in_panel(page, lab, "false", finished=8)
    page.keyboard.press("Control+ArrowUp")
    wait_for(lambda: selected.count() == 1, what="jump after the reset")
    assert selected.get_attribute("title") == '"false" exited with 1'
    assert page.locator(f"{PANEL} {MARK}").count() == 1


def test_webterm_cell_magic_in_a_notebook(page: Any, lab: Lab) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_webpty"),
        nbformat.v4.new_code_cell(
            "%%webterm cellrun\ntrue\n# a comment\nfalse\necho hi-from-$((6*7))\n(exit 3)"
        ),
        nbformat.v4.new_code_cell('print("underscore", _)'),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, lab.root / "magic.ipynb")
    page.goto(lab.page_url("lab/tree/magic.ipynb"))
    page.locator(".jp-Cell .cm-content").first.wait_for(timeout=60_000)
    wait_for(lambda: kernel_idle(lab, "magic.ipynb"), 60, "kernel ready")
    page.locator(".jp-Cell .cm-content").first.click()
    for _ in range(3):
        page.keyboard.press("Shift+Enter")

    cells = page.locator(".jp-Notebook .jp-CodeCell")
    output = cells.nth(1).locator(".jp-OutputArea")
    # The live terminal shows the commands and their output.
    wait_for(
        lambda: re.search(r"^hi-from-42\s*$", screen_text(page, ".jp-Notebook"), re.MULTILINE),
        60,
        "the command's output in the cell's terminal",
    )
    # The summary: each command with its exit code; the cell's value is the last one.
    printed = output.locator('[data-mime-type="application/vnd.jupyter.stdout"]')
    summary = wait_for(
        lambda: printed.count() and "(exit 3)" in printed.inner_text() and printed.inner_text(),
        60,
        "the summary",
    )
    expected = [(0, "true"), (1, "false"), (0, "echo hi-from-$((6*7))"), (3, "(exit 3)")]
    lines = summary.strip().splitlines()
    assert len(lines) == len(expected), summary
    for line, (code, command) in zip(lines, expected, strict=True):
        assert re.fullmatch(rf"\[\s*{code}\] {re.escape(command)}  \(\d+\.\d\d s\)", line), line
    assert "a comment" not in summary
    wait_for(
        lambda: "underscore 3" in cells.nth(2).locator(".jp-OutputArea").inner_text(),
        60,
        "_ holds the last exit code",
    )
    # The terminal in the output (the notebook's only one) marks the four commands too.
    scope = ".jp-Notebook"
    wait_for(lambda: marks(page, scope, "success").count() == 2, what="two green marks")
    assert marks(page, scope, "failure").count() == 2
    page.screenshot(path=str(ARTIFACTS / "shell-ui-cell-magic.png"))


def test_marks_jumps_and_copy_in_jupyterlab_terminal(page: Any, lab: Lab) -> None:
    """JupyterLab's own terminal widget (Launcher, File > New > Terminal) gets them too."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url)
    open_lab(page, lab)
    name = page.evaluate(
        "async () => (await window.jupyterapp.commands.execute('terminal:create-new'))"
        ".content.session.name"
    )
    scope = "#jp-main-dock-panel .jp-Terminal"
    [session] = [s for s in lab.api("webpty/api/sessions") if s["name"] == name]
    url = f"webpty/api/sessions/{session['session_id']}/commands"

    def run(command: str, finished: int) -> None:
        type_into(page, scope, command + "\n")
        wait_for(
            lambda: sum(c["end"] is not None for c in lab.api(url)["commands"]) >= finished,
            what=f"{command!r} finished",
        )

    wait_for(lambda: "webpty$" in terminal_text(page, scope), what="prompt")
    run("true", 1)
    run("false", 2)
    wait_for(lambda: marks(page, scope, "failure").count() == 1, what="a red mark")
    assert marks(page, scope, "success").count() == 1
    assert mark_colour(marks(page, scope, "success")) == GREEN
    assert mark_colour(marks(page, scope, "failure")) == RED
    # In the widget's left padding, not over the text.
    mark = marks(page, scope, "failure").bounding_box()
    screen = page.locator(f"{scope} .xterm-screen").bounding_box()
    assert mark["x"] + mark["width"] <= screen["x"] + 1
    page.screenshot(path=str(ARTIFACTS / "shell-ui-jupyterlab-terminal.png"))

    run("seq 1 300", 3)
    wait_for(lambda: marks(page, scope, "failure").count() == 0, what="false's mark off screen")
    selected = page.locator(f"{scope} {MARK}.jp-mod-selected:visible")
    page.keyboard.press("Control+ArrowUp")
    wait_for(lambda: selected.count() == 1, what="jump to seq")
    assert selected.get_attribute("title") == '"seq 1 300" exited with 0'
    page.keyboard.press("Control+ArrowUp")
    wait_for(
        lambda: (
            selected.count() == 1 and selected.get_attribute("title") == '"false" exited with 1'
        ),
        what="jump to false",
    )
    assert marks(page, scope, "failure").count() == 1  # scrolled back into view
    page.keyboard.press("Control+ArrowDown")
    page.keyboard.press("Control+ArrowDown")
    wait_for(lambda: selected.count() == 0, what="back at the bottom")
    assert ";5A" not in terminal_text(page, scope)

    page.locator(f"{scope} .xterm-screen").click(button="right")
    page.locator(".lm-Menu-item", has_text="Copy Output of Last Command").click()
    expected = "".join(f"{n}\n" for n in range(1, 301))
    wait_for(
        lambda: page.evaluate("navigator.clipboard.readText()") == expected,
        what="seq's output on the clipboard",
    )


def test_run_answered_from_the_browser(page: Any, lab: Lab) -> None:
    # WebTerminal.run()'s machinery from Python while a user answers the prompt in Chromium.
    from jupyter_webpty.api import Server, SessionsClient  # noqa: PLC0415
    from jupyter_webpty.commands import run  # noqa: PLC0415

    for session in lab.api("webpty/api/sessions"):
        lab.api(f"webpty/api/sessions/{session['session_id']}", method="DELETE")
    client = SessionsClient(Server(lab.url, lab.token))
    client.ensure("asked")
    results: list[Any] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            results.append(run(client, "asked", "read -p 'na''me? ' n; echo \"hi $n\"", timeout=90))
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    open_panel(page, lab)
    session_row(page, "asked").locator(".jp-WebPty-sessionText").click()
    # "name? " is not in the echoed command line (quotes split it): read printed it.
    wait_for(lambda: "name? " in screen_text(page, PANEL), 60, "the prompt in the panel")
    type_into(page, PANEL, "web-user\n")
    thread.join(120)
    assert not errors, errors
    [result] = results
    assert (result.exit_code, result.output) == (0, "name? web-user\nhi web-user\n")
    wait_for(lambda: "hi web-user" in screen_text(page, PANEL), what="the answer's echo")
