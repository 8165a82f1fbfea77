"""The server's token stays out of websocket URLs: proxies and ingress controllers log URLs."""

from __future__ import annotations

import re
from typing import Any

from .conftest import Lab, screen_text, type_into, wait_for
from .views import PANEL, open_panel


def test_no_websocket_url_carries_the_token(page: Any, lab: Lab) -> None:
    # Record every websocket the page opens (JupyterLab's own included) and every request to
    # our routes, from the first page load on.
    sockets: list[str] = []
    requests: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.on("request", lambda request: requests.append(request.url))
    open_panel(page, lab)
    page.locator(f"{PANEL} .jp-WebPty-new").click()
    wait_for(lambda: "webpty$" in screen_text(page, PANEL), what="prompt in the panel")
    type_into(page, PANEL, "echo token-$((6*7))-free\n")
    wait_for(
        lambda: re.search(r"^token-42-free\s*$", screen_text(page, PANEL), re.MULTILINE),
        what="echo output",
    )
    ours = [url for url in sockets if "/webpty/socket.io/" in url]
    assert ours, f"no webpty websocket among {sockets}"
    # The login cookie authenticated them: the page's origin serves the API.
    assert [url for url in sockets if lab.token in url] == []
    assert [url for url in requests if "/webpty/" in url and lab.token in url] == []
    for session in lab.api("webpty/api/sessions"):
        lab.api(f"webpty/api/sessions/{session['session_id']}", method="DELETE")
