"""``%webterm`` in a real notebook (JupyterLab 4 and Notebook 7): survive a kernel restart."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import ARTIFACTS, Lab, screen_text, type_into, wait_for
from .views import OUTPUT, kernel_idle, make_notebook, run_first_cell


def type_in_output(page: Any, text: str) -> None:
    type_into(page, OUTPUT, text)


def kernel_of(lab: Lab, notebook: str) -> dict[str, Any]:
    [session] = [s for s in lab.api("api/sessions") if s["path"].endswith(notebook)]
    kernel: dict[str, Any] = session["kernel"]
    return kernel


def restart_kernel(page: Any, lab: Lab, notebook: str) -> None:
    before = kernel_of(lab, notebook)
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.locator('.lm-Menu-item[data-command="kernelmenu:restart"]').click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    # As long as a kernel start may take on a loaded CI machine ("kernel ready" below): 20 s
    # ran out once in a clean-clone run on Notebook 7.
    wait_for(
        lambda: kernel_of(lab, notebook)["last_activity"] != before["last_activity"],
        60,
        "kernel restarted",
    )


@pytest.mark.parametrize(("app", "path"), [("lab", "lab/tree/{}"), ("notebook7", "notebooks/{}")])
def test_webterm_survives_kernel_restart(page: Any, lab: Lab, app: str, path: str) -> None:
    session = f"demo-{app}"
    make_notebook(lab, f"{app}.ipynb", session)
    page.goto(lab.page_url(path.format(f"{app}.ipynb")))
    page.locator(".jp-Cell .cm-content").first.wait_for(timeout=60_000)
    wait_for(lambda: kernel_idle(lab, f"{app}.ipynb"), 60, "kernel ready")
    run_first_cell(page)
    wait_for(lambda: "webpty$" in screen_text(page, OUTPUT), 60, "prompt in the output")
    type_in_output(page, "export WEBPTY_PROBE=$((40+2))\n")
    wait_for(lambda: "export WEBPTY_PROBE" in screen_text(page, OUTPUT), what="typed")

    restart_kernel(page, lab, f"{app}.ipynb")
    wait_for(lambda: kernel_idle(lab, f"{app}.ipynb"), 60, "kernel ready after restart")
    # The terminal in the output does not depend on the kernel: it still types and prints.
    type_in_output(page, "echo still-$((1+1))\n")
    wait_for(
        lambda: re.search(r"^still-2\s*$", screen_text(page, OUTPUT), re.MULTILINE), what="still-2"
    )

    # Re-running the cell attaches to the same shell: the variable is still set.
    run_first_cell(page)
    wait_for(lambda: page.locator(f"{OUTPUT} .xterm-rows").count() == 1, what="one terminal")
    wait_for(lambda: "still-2" in screen_text(page, OUTPUT), what="screen restored")
    # Execution count 1 again: the kernel really restarted (else this run would be [2]).
    wait_for(lambda: "[1]" in page.locator(".jp-InputPrompt").first.inner_text(), what="[1]")
    type_in_output(page, "echo probe=$WEBPTY_PROBE\n")
    wait_for(
        lambda: re.search(r"^probe=42\s*$", screen_text(page, OUTPUT), re.MULTILINE), what="42"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"notebook-{app}.png"))
    sessions = [s["name"] for s in lab.api("webpty/api/sessions")]
    assert sessions.count(session) == 1
