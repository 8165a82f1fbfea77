"""The command a new session runs: ``shell_command`` as operators write it, or the user's shell.

Plain values in, an argv out; the trait itself lives in ``app.py`` (config lives at the edge).
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shlex
import shutil
from collections.abc import Mapping


def default_shell() -> list[str]:
    """The user's login shell as a login shell, falling back to ``/bin/sh``."""
    shell = os.environ.get("SHELL")
    if not shell:
        try:
            shell = pwd.getpwuid(os.getuid()).pw_shell
        except KeyError:
            shell = None
    if not shell or not shutil.which(shell):
        shell = "/bin/sh"
    return [shell, "-l"]


def parse_command(value: str | list[str], path: str | None = None) -> list[str]:
    """The argv of ``shell_command``: a list, a JSON list, or a string split like a shell would.

    Checks that the program exists on ``path`` (raises ``ValueError`` with a message for the
    operator). On the command line, traitlets makes ``--WebPtyApp.shell_command='["a","b"]'``
    one string (and, for a List trait, one element), so a JSON list in a string is read as one.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                msg = f"shell_command {value!r} starts with '[' but is not a JSON list: {exc}"
                raise ValueError(msg) from exc
            if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
                msg = f"shell_command {value!r} must be a JSON list of strings"
                raise ValueError(msg)
            return parse_command(parsed, path)
        try:
            argv = shlex.split(text)
        except ValueError as exc:  # an unclosed quote
            msg = f"shell_command {value!r} cannot be split like a shell would: {exc}"
            raise ValueError(msg) from exc
        return parse_command(argv, path)
    argv = list(value)
    if len(argv) == 1 and argv[0].lstrip().startswith("["):
        return parse_command(argv[0], path)
    if not argv or not argv[0]:
        msg = "shell_command is empty"
        raise ValueError(msg)
    if shutil.which(argv[0], path=path) is None:
        msg = f"shell_command: {argv[0]!r} is not an executable program (command: {argv!r})"
        raise ValueError(msg)
    return argv


def shell_argv(
    command: str | list[str] | None, extra_env: Mapping[str, str], log: logging.Logger
) -> list[str]:
    """``command`` checked, or the default; a bad one stops the server now.

    Every terminal would fail with it, and jupyter-server only logs a warning for an
    extension that fails to load: exiting with the reason is the clearer failure.
    """
    if command is None:
        return default_shell()
    path = extra_env.get("PATH", os.environ.get("PATH"))
    try:
        return parse_command(command, path)
    except ValueError as exc:
        log.critical("jupyter-webpty: %s", exc)
        raise SystemExit(1) from exc
