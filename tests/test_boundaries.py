"""Architecture guards: the PTY core imports nothing from the web or Jupyter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path


def test_core_is_web_free() -> None:
    code = "import sys, jupyter_webpty.core; print(sorted({m.split('.')[0] for m in sys.modules}))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for name in ("tornado", "socketio", "engineio", "jupyter_server", "traitlets", "ipywidgets"):
        assert f"'{name}'" not in out


def test_protocol_module_is_pure() -> None:
    code = (
        "import sys, jupyter_webpty.protocol; print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for name in ("tornado", "socketio", "jupyter_server", "traitlets", "asyncio"):
        assert f"'{name}'" not in out


def test_protocol_module_imports_no_package_module_at_run_time() -> None:
    # protocol.describe() names core types for mypy only (TYPE_CHECKING).
    code = "import sys, jupyter_webpty.protocol; print(sorted(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "'jupyter_webpty.core'" not in out


def test_fast_path_internals_live_in_fastpath_module_only() -> None:
    # jupyter_webpty/fastpath.py lists every private detail of python-socketio, python-engineio,
    # tornado and asyncio that the fast path relies on; tests/test_fastpath_contract.py pins each.
    package = Path(__file__).resolve().parent.parent / "jupyter_webpty"
    markers = ("_unfinished_tasks", "51-[", "eio.sockets", "!BBH", "_placeholder")
    for path in package.rglob("*.py"):
        if path.name == "fastpath.py":
            continue
        text = path.read_text()
        for marker in markers:
            assert marker not in text, f"{path.name} uses {marker!r}: move it to fastpath.py"


#: The Socket.IO transport's modules: they translate events to SessionManager calls and know
#: nothing of HTTP (STYLE.md, "who may import whom"). Importing socketio pulls tornado in, so
#: this reads their import statements rather than sys.modules.
EVENT_MODULES = ("transport.py", "dispatch.py", "connections.py", "news.py", "outbox.py")


def test_event_modules_import_no_http_layer() -> None:
    package = Path(__file__).resolve().parent.parent / "jupyter_webpty"
    for name in EVENT_MODULES:
        tree = ast.parse((package / name).read_text())
        imported = {
            alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
        }
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        for module in imported:
            top = module.split(".")[0]
            assert top not in {"tornado", "jupyter_server", "traitlets"}, f"{name} imports {module}"
            assert module.lstrip(".") not in {"app", "rest", "auth", "sockethandler"}, (
                f"{name} imports {module}"
            )
