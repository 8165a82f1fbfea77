"""Binder's path, reproduced: an environment built only from binder/ runs the demo.

mybinder.org (repo2docker) clones the repository, builds a conda environment from
binder/environment.yml, runs binder/postBuild from the repository root and starts Jupyter. Here
a fresh virtual environment stands in for the conda one (see ``stand_ins``), in a copy of the
working tree as a commit of it would hold it (git-ignored build output such as
jupyter_webpty/labextension and node_modules left out), so postBuild must build the
labextension itself. Slow (pip into a fresh venv, npm install and build: 1-3 min with warm pip
and npm caches), still run in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"

#: Conda packages that are not installed from PyPI (see ``stand_ins``).
NOT_FROM_PYPI = {"python", "nodejs", "pip"}


def prerequisite_or_skip(ok: bool, reason: str) -> None:
    """Skip when ``ok`` is false, except in CI, where a missing prerequisite is a failure."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def conda_dependencies() -> tuple[dict[str, str], list[str]]:
    """environment.yml's conda dependencies (name -> version spec) and its pip list."""
    environment = yaml.safe_load((BINDER / "environment.yml").read_text())
    conda: dict[str, str] = {}
    pip: list[str] = []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry.get("pip", []))
            continue
        found = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", entry.strip())
        assert found, f"cannot read conda dependency {entry!r}"
        conda[found[1].lower()] = found[2].strip()
    return conda, pip


def pip_spec(name: str, conda_spec: str) -> str:
    """A conda match spec as a pip requirement: ``=3.11`` (fuzzy) becomes ``==3.11.*``."""
    if re.fullmatch(r"=[^=<>!,]+", conda_spec):
        return f"{name}=={conda_spec[1:]}.*"
    return f"{name}{conda_spec}"


def stand_ins(conda: dict[str, str]) -> list[str]:
    """Map environment.yml's conda packages to what stands in for them here; return pip specs.

    conda is not available on this machine or in CI, so:
    * ``python``: the fresh virtual environment's interpreter (this one's), same minor version;
    * ``nodejs``: the system Node on PATH, at least the pinned major version;
    * ``pip``: the virtual environment's own pip;
    * every other package: the same name and version spec, from PyPI (jupyterlab, notebook).
    """
    python = conda.get("python", "").lstrip("=")
    prerequisite_or_skip(
        not python or f"{sys.version_info[0]}.{sys.version_info[1]}" == python,
        f"environment.yml pins python {python}; this is {sys.version.split()[0]}",
    )
    node = shutil.which("node")
    prerequisite_or_skip(node is not None and shutil.which("npm") is not None, "node/npm missing")
    assert node is not None
    if "nodejs" in conda:
        pinned = int(re.sub(r"\D.*", "", conda["nodejs"].lstrip("=><")) or 0)
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=True
        ).stdout
        major = int(version.strip().lstrip("v").split(".")[0])
        prerequisite_or_skip(
            major >= pinned, f"environment.yml pins nodejs {pinned}; have {version}"
        )
    return [pip_spec(name, spec) for name, spec in conda.items() if name not in NOT_FROM_PYPI]


def copy_worktree(destination: Path) -> None:
    """Copy the working tree as a commit of it would hold it: tracked and new, not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in sorted(set(listed.split(b"\0")) - {b""}):
        source = ROOT / os.fsdecode(name)
        if source.is_file():  # skips files deleted in the working tree but still in the index
            target = destination / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)  # keeps postBuild's executable bit


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run ``cmd``; return its output (stdout and stderr), failing with its tail."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{cmd} timed out after {timeout} s:\n{str(exc.output)[-3000:]}")
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)  # jupyter's colours
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{output[-3000:]}"
    print(f"{' '.join(cmd[:4])}: {time.monotonic() - started:.1f} s")  # noqa: T201 - timing, -s
    return output


def clean_environment(venv: Path, tmp: Path) -> dict[str, str]:
    """The environment of an activated fresh venv, with Jupyter's user dirs in ``tmp``.

    HOME stays, so that pip's and npm's caches keep the test within minutes.
    """
    outer_bins = {str(Path(sys.executable).parent), str(Path(sys.prefix, "bin"))}
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p not in outer_bins]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV", "CONDA", "IPYTHON"))
    }
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), *path]),
        VIRTUAL_ENV=str(venv),
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, token: str) -> tuple[int, bytes]:
    """GET ``url`` with ``token``; (status, body)."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextlib.contextmanager
def jupyterlab(venv: Path, repo: Path, env: dict[str, str], log: Path) -> Iterator[tuple[str, str]]:
    """``jupyter lab`` from the venv, as Binder starts it; yields (base URL, token)."""
    port, token = free_port(), secrets.token_hex(16)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(venv / "bin" / "jupyter"),
                "lab",
                "--no-browser",
                "--allow-root",  # the tests run as root here; harmless otherwise
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={repo}",
            ],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(OSError):
                if fetch(f"{url}/api/status", token)[0] == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        yield url, token
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def page_config(html: str) -> dict[str, Any]:
    """The ``jupyter-config-data`` JSON of a JupyterLab page."""
    found = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.DOTALL
    )
    assert found, html[:2000]
    return dict(json.loads(found[1]))


def test_binder_environment_runs_jupyterlab_and_the_demo(tmp_path: Path) -> None:
    prerequisite_or_skip((ROOT / ".git").exists(), f"{ROOT} is not a git checkout")
    conda, pip_list = conda_dependencies()
    requirements = stand_ins(conda) + pip_list
    assert any(r.startswith("jupyterlab") for r in requirements), requirements

    repo = tmp_path / "repo"
    copy_worktree(repo)
    assert not (repo / "jupyter_webpty" / "labextension").exists()  # postBuild must build it
    assert os.access(repo / "binder" / "postBuild", os.X_OK), "binder/postBuild not executable"

    venv = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = clean_environment(venv, tmp_path)
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", *requirements], cwd=repo, env=env, timeout=600)
    # repo2docker runs postBuild from the repository root, the environment active.
    run(["./binder/postBuild"], cwd=repo, env=env, timeout=900)

    jupyter = str(venv / "bin" / "jupyter")
    extensions = run([jupyter, "server", "extension", "list"], cwd=repo, env=env, timeout=120)
    assert re.search(r"jupyter_webpty\s+enabled", extensions), extensions
    assert re.search(r"jupyter_webpty\s+\S+\s+OK", extensions), extensions
    labextensions = run([jupyter, "labextension", "list"], cwd=repo, env=env, timeout=120)
    assert re.search(r"jupyter-webpty\s+v\S+\s+enabled\s+OK", labextensions), labextensions

    with jupyterlab(venv, repo, env, tmp_path / "jupyterlab.log") as (url, token):
        status, body = fetch(f"{url}/webpty/api/sessions", token)
        assert (status, json.loads(body)) == (200, []), body
        status, body = fetch(f"{url}/lab", token)
        assert status == 200
        federated = page_config(body.decode())["federated_extensions"]
        webpty = [e for e in federated if e["name"] == "jupyter-webpty"]
        assert webpty, federated
        entry = f"{url}/lab/extensions/jupyter-webpty/{webpty[0]['load']}"
        assert fetch(entry, token)[0] == 200, entry

        # Headless, but with the server running, as on Binder: the demo's kernel-side client
        # finds it as the only server in the (test's own) Jupyter runtime dir.
        out = tmp_path / "executed"
        execute = [jupyter, "nbconvert", "--to", "notebook", "--execute", "examples/demo.ipynb"]
        execute += [f"--output-dir={out}", "--ExecutePreprocessor.timeout=120"]
        run(execute, cwd=repo, env=env, timeout=300)
    notebook = json.loads((out / "demo.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code, "the demo notebook has no code cell"
    for cell in code:
        assert cell["execution_count"] is not None, cell["source"]
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        assert not errors, errors
