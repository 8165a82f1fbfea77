"""The extension's web endpoints: the Socket.IO server with its events, the REST API, and
Jupyter's terminal API when asked for. Plain arguments only: the app owns the config
(``app.py``) and mounts what ``mount`` returns."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from jupyter_server.utils import url_path_join
from tornado import web
from tornado.escape import url_unescape

from . import fastpath, protocol, terminado
from .core import SessionManager
from .rest import rest_handlers
from .sioserver import BoundedJson, TerminalServer
from .sockethandler import identify, socket_handler, wire
from .transport import TerminalEvents


class Endpoints(NamedTuple):
    """What ``mount`` built: the app keeps ``sio`` and ``events`` to stop them."""

    sio: TerminalServer
    events: TerminalEvents
    #: Relative to base_url: the ExtensionApp's ``handlers``, which jupyter-server prefixes.
    routes: list[tuple[Any, ...]]


def mount(
    web_app: web.Application,
    base_url: str,
    manager: SessionManager,
    session_owner: str,
    *,
    fast_path: bool,
    terminals_api: bool,
) -> Endpoints:
    """Build the Socket.IO server and the routes to ``manager``'s sessions.

    The routes are returned for the app's ``handlers``; what those cannot express is added to
    ``web_app`` here: Jupyter's terminal API (``terminals_api``) and a copy of the routes under
    ``base_url`` decoded.
    """
    sio = TerminalServer(
        async_mode="tornado",
        json=BoundedJson,
        transports=["websocket"],
        cors_allowed_origins=[],  # Jupyter's origin check runs instead
        max_http_buffer_size=protocol.MAX_MESSAGE_BYTES,
        logger=False,
        engineio_logger=False,
    )
    if fast_path:
        fastpath.use_direct_websocket(sio.eio)
    events = TerminalEvents(sio, manager, identify, wire if fast_path else None)
    events.register()
    handler: Any = socket_handler(sio, session_owner, whole_reads=fast_path)
    routes: list[tuple[Any, ...]] = [
        (f"/{protocol.SOCKETIO_PATH}/", handler),
        *rest_handlers(manager, session_owner),
    ]
    base_urls = list(dict.fromkeys([base_url, url_unescape(base_url, plus=False)]))
    if terminals_api:
        # In front of jupyter_server_terminals' routes (docs/terminado.md); the UI then
        # offers terminals even without that extension.
        terminado.mount(web_app, base_urls, manager, session_owner)
        web_app.settings["terminals_available"] = True
    # Tornado routes on the path as sent. Browsers keep a base_url's escapes ("/a%40b/"), but
    # some clients (yarl, so python-socketio) send them decoded ("/a@b/"): accept both.
    if url_unescape(base_url, plus=False) != base_url:
        decoded = url_unescape(base_url, plus=False)
        web_app.add_handlers(
            ".*$", [(url_path_join(re.escape(decoded), r[0]), *r[1:]) for r in routes]
        )
    return Endpoints(sio, events, routes)
