"""Which shells get our init files, and how: the argv and environment of an integrated shell.

The rule (README, "Shell integration"): a bash or zsh started as a bare interactive shell, that
is its program with no arguments but ``-l``/``--login``/``-i``, gets the marks. Anything else
(a script, ``-c``, ``--norc``, ``--rcfile``, ``-f``, another shell) runs exactly as configured:
such a command asked for a particular start-up, and ours would change it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

_LOGIN = frozenset({"-l", "--login"})
_ALLOWED = _LOGIN | {"-i"}


def integrate(
    argv: Sequence[str], env: Mapping[str, str], shell_dir: str
) -> tuple[list[str], dict[str, str]] | None:
    """``(argv, env)`` that start ``argv`` with our init files from ``shell_dir``, or ``None``.

    bash: ``--rcfile <dir>/bash/webpty.bash -i``, with ``WEBPTY_BASH_LOGIN=1`` when a login
    shell was asked for (the init file then reads the profile files, in bash's order).
    zsh: the same argv, with ``ZDOTDIR=<dir>/zsh``; the user's own ZDOTDIR, if any, is kept in
    ``WEBPTY_USER_ZDOTDIR`` for our files to read the user's from.
    """
    if not argv or not set(argv[1:]) <= _ALLOWED:
        return None
    shell = Path(argv[0]).name
    new_env = dict(env)
    if shell == "bash":
        new_env.pop("WEBPTY_BASH_LOGIN", None)
        if _LOGIN & set(argv[1:]):
            new_env["WEBPTY_BASH_LOGIN"] = "1"
        rcfile = str(Path(shell_dir, "bash", "webpty.bash"))
        return [argv[0], "--rcfile", rcfile, "-i"], new_env
    if shell == "zsh":
        new_env.pop("WEBPTY_USER_ZDOTDIR", None)
        if "ZDOTDIR" in env:
            new_env["WEBPTY_USER_ZDOTDIR"] = env["ZDOTDIR"]
        new_env["ZDOTDIR"] = str(Path(shell_dir, "zsh"))
        return list(argv), new_env
    return None
