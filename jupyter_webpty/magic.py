"""``%webterm``: open, list and close terminals from a notebook; ``%%webterm``: run a cell in one."""

from __future__ import annotations

import html
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from . import commands, protocol
from .api import ApiError, ServerNotFound, SessionsClient
from .widget import WebTerminal

_COLUMNS = ("name", "cwd", "command", "clients", "last_activity")


@magics_class
class WebTermMagics(Magics):
    """The ``%webterm`` line magic."""

    def __init__(self, shell: Any = None, client: SessionsClient | None = None) -> None:
        super().__init__(shell)
        self._client = client

    @property
    def client(self) -> SessionsClient:
        """The injected client, or one found afresh (the environment may have changed)."""
        return self._client if self._client is not None else SessionsClient()

    @magic_arguments()
    @argument(
        "words",
        nargs="*",
        help="NAME (default 'default') to show a terminal; 'list'; or 'close NAME'.",
    )
    @argument("--cwd", default=None, help="Start directory of a new session (inside root_dir).")
    @argument(
        "--height",
        type=int,
        default=20,
        help=f"Height in rows ({protocol.MIN_SIZE}..{protocol.MAX_SIZE}, default 20).",
    )
    @line_magic
    def webterm(self, line: str) -> Any:
        """Show a live terminal in this cell's output, bound by name to a server-side shell.

        ::

            %webterm                  # terminal "default" (created if missing)
            %webterm build --cwd src --height 20
            %webterm list             # my sessions
            %webterm close build      # end that shell and its jobs

        The shell runs in the Jupyter server, not in the kernel: it survives kernel restarts,
        page reloads and closed tabs. Re-running the cell re-attaches to the same shell.
        'list' and 'close' are commands, so they cannot be used as session names here.
        """
        args = parse_argstring(self.webterm, line)
        words: list[str] = args.words
        try:
            if words[:1] == ["list"]:
                if len(words) != 1:
                    msg = "usage: %webterm list"
                    raise UsageError(msg)
                return self._list()
            if words[:1] == ["close"]:
                if len(words) != 2:
                    msg = "usage: %webterm close NAME"
                    raise UsageError(msg)
                return self._close(words[1])
            if len(words) > 1:
                msg = f"one session name expected, got {' '.join(words)!r}; see %webterm?"
                raise UsageError(msg)
            if args.cwd is not None:
                # Create it now so that a bad directory is reported here, not in the output.
                self.client.ensure(words[0] if words else "default", cwd=args.cwd)
            terminal = WebTerminal(
                words[0] if words else "default",
                cwd=args.cwd,
                height=args.height,
                client=self._client,
            )
        except (ValueError, ApiError, ServerNotFound) as exc:
            raise UsageError(str(exc)) from exc
        display(terminal)
        return None

    @cell_magic("webterm")  # type: ignore[arg-type]  # IPython types the named form as Never
    def webterm_cell(self, line: str, cell: str) -> int | None:
        """Run each line of the cell as a command in terminal NAME, shown live; sum up.

        ::

            %%webterm build
            cd src
            make
            make test

        Each non-empty line that is not a ``#`` comment is one command, run in turn (a failing
        one does not stop the rest, as in a shell script). A summary with each command's exit
        code is printed; the cell's value, so ``_``, is the last exit code.
        """
        words = line.split()
        if len(words) > 1:
            msg = "usage: %%webterm [NAME] (one session name)"
            raise UsageError(msg)
        name = words[0] if words else "default"
        lines = [x for x in cell.splitlines() if x.strip() and not x.lstrip().startswith("#")]
        try:
            client = self.client
            client.ensure(name)
            display(WebTerminal(name, client=self._client))
            results = [commands.run(client, name, x) for x in lines]
        except (ValueError, ApiError, ServerNotFound, commands.SessionBusy) as exc:
            raise UsageError(str(exc)) from exc
        for result in results:
            status = "?" if result.exit_code is None else result.exit_code
            print(f"[{status:>3}] {result.command}  ({result.duration:.2f} s)")  # noqa: T201
        return results[-1].exit_code if results else None

    def _list(self) -> None:
        sessions = self.client.list()
        if not sessions:
            print("No terminal sessions. Open one with %webterm NAME.")  # noqa: T201
            return
        header = "".join(f"<th>{c}</th>" for c in _COLUMNS)
        rows = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(s.get(c) or ''))}</td>" for c in _COLUMNS)
            + "</tr>"
            for s in sessions
        )
        text = "\n".join("  ".join(str(s.get(c) or "-") for c in _COLUMNS) for s in sessions)
        display(
            {"text/html": f"<table><tr>{header}</tr>{rows}</table>", "text/plain": text}, raw=True
        )

    def _close(self, name: str) -> None:
        if not self.client.close(name):
            msg = f"no terminal session named {name!r}"
            raise UsageError(msg)
        print(f"Closed terminal session {name!r}.")  # noqa: T201


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%webterm``."""
    ipython.register_magics(WebTermMagics)
