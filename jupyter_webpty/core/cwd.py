"""Where a shell starts: a directory inside the server's root directory that exists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import InvalidCwd


def resolve_cwd(root_dir: str, requested: str | None) -> str:
    """``requested`` (relative to ``root_dir``, ``~`` expanded) resolved, or ``root_dir`` if
    none; raises ``InvalidCwd`` when it is outside ``root_dir`` or no directory."""
    if requested is None or requested == "":
        return root_dir
    try:
        path = Path(root_dir, Path(requested).expanduser()).resolve()
    except (ValueError, OSError) as exc:  # a NUL byte, a symlink loop
        raise InvalidCwd(requested, str(exc)) from exc
    if path != Path(root_dir) and Path(root_dir) not in path.parents:
        raise InvalidCwd(requested, "it is outside the server's root directory")
    try:
        is_dir = path.is_dir()
    except OSError as exc:  # a name too long: pathlib only hides "no such file" errors
        raise InvalidCwd(requested, exc.strerror or str(exc)) from exc
    if not is_dir:
        raise InvalidCwd(requested, "no such directory")
    return str(path)


def revival_cwd(cwd: str | None, root_dir: str, resolve: Callable[[str], str]) -> str:
    """The saved directory if still valid, else its nearest valid parent, else the root."""
    if not cwd:
        return root_dir
    for candidate in (Path(cwd), *Path(cwd).parents):
        try:
            return resolve(str(candidate))
        except InvalidCwd:
            continue
    return root_dir
