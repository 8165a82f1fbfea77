"""Keystroke to paint in real Chromium: ``python -m bench.browser [--quick] [--keys N]``.

Two JupyterLab servers (``jupyter lab``, each with jupyter-webpty and jupyter-server-terminals):
on one, JupyterLab's own terminal tab is a jupyter-webpty session (our ``ITerminalManager``, the
default); on the other the plugin setting ``builtinTerminal`` brings back the built-in, terminado
one. Both tabs are the same JupyterLab ``Terminal`` widget and xterm.js: only the connection
differs. Debian's chromium (Playwright with ``executable_path``) opens one page per server.

One sample: Playwright presses ``x`` (a trusted key event through Chromium's input pipeline); a
capture-phase ``keydown`` listener in the page stamps ``performance.now()``; the sample ends in
xterm.js's ``onRender`` that follows the echoed ``x`` reaching the buffer, i.e. when the renderer
has drawn the row holding it (the compositor's frame comes after, alike for both). Ctrl+U every
59 keys, then 50 ms without output, as in ``bench.workloads.echo_block``. The targets take turns
in blocks, order rotated each round. *Beside a flood*: a second terminal tab of the same page,
behind the measured one, runs ``yes`` during the target's blocks (the page's one main thread
parses it, as for a user with a build log in another tab), stopped with Ctrl+C after each block.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/browser.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench.harness import SHELL, shell_env
from bench.server import JupyterServer
from bench.workloads import percentile

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
KEYS_PER_LINE = 59
FRAME_SECONDS = 1 / 60
PHASES = random.Random(1)  # noqa: S311 - pauses before keys, the same every run
TARGETS = ("webpty", "builtin")

# Installed once per page: `window.__bench.open(flood)` opens a terminal tab and keeps its xterm
# (JupyterLab's Terminal widget holds it in the private `_term`, as labextension/src/labxterm.ts
# says); `sample(n)` arms a probe for the n-th `x` on the cursor line; `done` resolves with the
# keydown-to-render and keydown-to-parsed milliseconds.
PROBE = """
() => {
  const bench = {
    probe: null, lastWrite: 0, terms: {},
    async open(role) {
      const widget = await window.jupyterapp.commands.execute('terminal:create-new');
      await widget.revealed;
      const started = performance.now();
      while (!widget.content._term && performance.now() - started < 30000) {
        await new Promise(r => setTimeout(r, 20));
      }
      const term = widget.content._term;
      bench.terms[role] = {widget, term};
      if (role === 'measure') {
        term.onWriteParsed(() => {
          bench.lastWrite = performance.now();
          const p = bench.probe;
          if (p && p.t0 !== null && p.tp === null && bench.count() >= p.expected) {
            p.tp = bench.lastWrite;
          }
        });
        term.onRender(() => {
          const p = bench.probe;
          if (p && p.t0 !== null && p.t1 === null && bench.count() >= p.expected) {
            p.t1 = performance.now();
            p.resolve([p.t1 - p.t0, (p.tp ?? p.t1) - p.t0]);
          }
        });
      }
      return widget.content.session.name;
    },
    line(role) {
      const buffer = bench.terms[role].term.buffer.active;
      const line = buffer.getLine(buffer.baseY + buffer.cursorY);
      return line ? line.translateToString(true) : '';
    },
    flooding(role) {
      // Under a flood the cursor line is mostly the empty one after a "y": look above it too.
      const buffer = bench.terms[role].term.buffer.active;
      const row = buffer.baseY + buffer.cursorY;
      return [row, row - 1].some(at => buffer.getLine(at)?.translateToString(true) === 'y');
    },
    count() {
      const text = bench.line('measure');
      const at = text.lastIndexOf('bench$ ');
      return at < 0 ? -1 : (text.slice(at + 7).match(/x/g) || []).length;
    },
    async close(role) {
      const {widget} = bench.terms[role];
      delete bench.terms[role];
      await widget.content.session.shutdown();
      widget.dispose();
    },
    send(role, data) { bench.terms[role].widget.content.session.send({type: 'stdin', content: [data]}); },
    focus() {
      const term = bench.terms['measure'].term;
      window.jupyterapp.shell.activateById(bench.terms['measure'].widget.id);
      term.focus();
      return document.activeElement === term.textarea;
    },
    arm(expected) {
      let resolve;
      const done = new Promise(r => { resolve = r; });
      bench.probe = {expected, t0: null, tp: null, t1: null, resolve, done};
    },
    async quiet(ms) {
      while (performance.now() - bench.lastWrite < ms) {
        await new Promise(r => setTimeout(r, ms / 5));
      }
    },
  };
  window.addEventListener('keydown', e => {
    if (bench.probe && bench.probe.t0 === null && e.key === 'x') bench.probe.t0 = performance.now();
  }, true);
  window.__bench = bench;
}
"""


class LabServer(JupyterServer):
    """``jupyter lab`` instead of ``jupyter server``, with its own user settings."""

    def __init__(self, workdir: Path, label: str, settings: dict[str, Any]) -> None:
        user = workdir / f"settings-{label}"
        for path, value in {
            "jupyter-webpty/plugin": settings,
            "@jupyterlab/apputils-extension/notification": {
                "fetchNews": "false",
                "checkForUpdates": False,
            },
        }.items():
            file = user / f"{path}.jupyterlab-settings"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(settings if path.startswith("jupyter-webpty") else value))
        options = [
            f"--LabApp.user_settings_dir={user}",
            f"--LabApp.workspaces_dir={workdir / f'workspaces-{label}'}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
        ]
        super().__init__(workdir, SHELL, shell_env(), label, options)

    def launcher(self) -> list[str]:
        """JupyterLab's entry point (its page, the same server extensions)."""
        return [sys.executable, "-m", "jupyter", "lab"]


async def _until(page: Any, expression: str, timeout: float = 30.0, what: str = "") -> Any:
    """Evaluate ``expression`` in the page until it is truthy, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"timed out waiting for {what or expression}"
            raise TimeoutError(msg)
        await asyncio.sleep(0.02)


async def open_lab(page: Any, server: LabServer, command: str, what: str, probe: str) -> None:
    """Open JupyterLab, wait until ``command`` exists (``what`` it shows), install ``probe``."""
    await page.goto(f"{server.url}lab?token={server.token}")
    await page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=90_000)
    await _until(
        page,
        f"() => !!(window.jupyterapp && window.jupyterapp.commands.hasCommand('{command}'))",
        60,
        what,
    )
    await page.evaluate(probe)


async def _open(page: Any, server: LabServer) -> None:
    await open_lab(page, server, "terminal:create-new", "JupyterLab's terminal command", PROBE)
    await page.evaluate("() => window.__bench.open('measure')")
    await _until(page, "() => window.__bench.count() === 0", 60, "the measured prompt")
    await _until(page, "() => window.__bench.focus()", 10, "focus")


async def _block(page: Any, keys: int) -> list[tuple[float, float]]:
    """``keys`` samples: (keydown to render, keydown to the echo parsed into the buffer)."""
    samples: list[tuple[float, float]] = []
    typed = 0
    while len(samples) < keys:
        if typed % KEYS_PER_LINE == 0:
            await page.keyboard.press("Control+u")
            await _until(page, "() => window.__bench.count() === 0", 30, "an empty line")
            await page.evaluate("() => window.__bench.quiet(50)")
            if not await page.evaluate("() => window.__bench.focus()"):
                msg = "the terminal lost focus"
                raise RuntimeError(msg)
            typed = 0
        await page.evaluate(f"() => window.__bench.arm({typed + 1})")
        # A random phase against the page's frames, as a user's keys have: pressed in lockstep
        # with the harness, every key came at the same point of the frame, and whether its
        # echo met the ~6 ms frame commit of a page drawing continuously (xterm.js's cursor
        # blink) depended on the target's own timing, not on its latency.
        await asyncio.sleep(PHASES.uniform(0, FRAME_SECONDS))
        await page.keyboard.press("x")
        paint, parsed = await page.evaluate("() => window.__bench.probe.done")
        samples.append((paint, parsed))
        typed += 1
    return samples


async def _flood(page: Any, on: bool) -> None:
    """Start ``yes`` in a new tab behind the measured one, or close that tab and its session.

    Closing ends the flood at once; a Ctrl+C would wait for the page to parse what the server
    had sent ahead (for the built-in, which has no flow control, minutes of it).
    """
    if on:
        await page.evaluate("() => window.__bench.open('flood')")
        await _until(page, "() => window.__bench.line('flood').includes('bench$')", 60, "prompt")
        await page.evaluate("() => window.__bench.send('flood', 'yes\\r')")
        await _until(page, "() => window.__bench.flooding('flood')", 30, "the flood")
        await _until(page, "() => window.__bench.focus()", 10, "focus")
    else:
        await page.evaluate("() => window.__bench.close('flood')")


async def _check_backends(server: LabServer, name: str) -> None:
    """The page's two terminal tabs run on the backend it is meant to measure."""
    import aiohttp  # noqa: PLC0415

    counts = {}
    async with aiohttp.ClientSession() as http:
        for api in ("webpty/api/sessions", "api/terminals"):
            async with http.get(f"{server.url}{api}", headers=server.headers) as response:
                counts[api] = len(await response.json())
    ours = name == "webpty"
    expected = {"webpty/api/sessions": 2 if ours else 0, "api/terminals": 0 if ours else 2}
    if counts != expected:
        msg = f"the tabs are not on the backends meant: {counts}"
        raise RuntimeError(msg)


def summary(samples: list[float]) -> dict[str, Any]:
    """p50/p99/mean/max of a list of milliseconds."""
    return {
        "samples": len(samples),
        "p50_ms": percentile(samples, 50),
        "p99_ms": percentile(samples, 99),
        "mean_ms": statistics.fmean(samples),
        "max_ms": max(samples),
    }


async def run(keys: int, blocks: int, warmup: int = 20, *, flood: bool = True) -> dict[str, Any]:
    """Start both labs and Chromium, measure idle and beside a flood; stop everything."""
    from playwright.async_api import async_playwright  # noqa: PLC0415

    workdir = Path(tempfile.mkdtemp(prefix="webpty-browser-"))
    servers = {
        "webpty": LabServer(workdir, "webpty", {}),
        "builtin": LabServer(workdir, "builtin", {"builtinTerminal": True}),
    }
    executable = shutil.which("chromium")
    if executable is None:
        msg = "Debian's chromium is missing (apt-get install chromium)"
        raise SystemExit(msg)
    results: dict[str, Any] = {"idle": {}, "flood": {}} if flood else {"idle": {}}
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(server.start(timeout=120) for server in servers.values()))
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS
            )
            results["chromium"] = browser.version
            pages = {}
            for name, server in servers.items():
                context = await browser.new_context(viewport={"width": 1200, "height": 800})
                pages[name] = await context.new_page()
                await _open(pages[name], server)
                await _flood(pages[name], on=True)
                await _check_backends(server, name)
                await _flood(pages[name], on=False)
                await _block(pages[name], warmup)
                print(f"[browser] {name} page ready, {time.perf_counter() - t0:.0f} s", flush=True)
            per_block = max(1, keys // blocks)
            for condition in ("idle", "flood") if flood else ("idle",):
                collected: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
                for block in range(blocks):
                    order = list(TARGETS[block % 2 :] + TARGETS[: block % 2])
                    for name in order:
                        if condition == "flood":
                            await _flood(pages[name], on=True)
                        collected[name] += await _block(pages[name], per_block)
                        if condition == "flood":
                            await _flood(pages[name], on=False)
                for name, samples in collected.items():
                    results[condition][name] = summary([paint for paint, _ in samples])
                    results[condition][name]["parsed"] = summary([parsed for _, parsed in samples])
                print(f"[browser] {condition} done, {time.perf_counter() - t0:.0f} s", flush=True)
            await browser.close()
    finally:
        for server in servers.values():
            await server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def versions() -> dict[str, str]:
    """The versions that matter for these figures."""
    from importlib.metadata import version  # noqa: PLC0415

    found = {"python": platform.python_version()}
    for package in ("jupyter_webpty", "jupyterlab", "jupyter_server", "playwright"):
        try:
            found[package] = version(package.replace("_", "-"))
        except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
            found[package] = "?"
    return found


def markdown(results: dict[str, Any]) -> str:
    """The figures as a Markdown table with ratios (webpty over built-in)."""
    lines = [
        "| keystroke to paint (ms) | jupyter-webpty | built-in terminal | x built-in |",
        "|---|---:|---:|---:|",
    ]
    for condition, label in (("idle", "idle"), ("flood", "beside a flood in another tab")):
        if condition not in results:
            continue
        for key in ("p50_ms", "p99_ms"):
            ours = results[condition]["webpty"][key]
            theirs = results[condition]["builtin"][key]
            lines.append(
                f"| {key[:3]}, {label} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} |"
            )
    # The echo in xterm.js's buffer, before the renderer's next frame: the part of the above
    # that the connection decides (results before this figure existed have no "parsed").
    for condition, label in (("idle", "idle"), ("flood", "beside a flood in another tab")):
        if condition not in results or "parsed" not in results[condition]["webpty"]:
            continue
        for key in ("p50_ms", "p99_ms"):
            ours = results[condition]["webpty"]["parsed"][key]
            theirs = results[condition]["builtin"]["parsed"][key]
            lines.append(
                f"| {key[:3]} to the buffer (parsed, before the frame), {label} "
                f"| {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} |"
            )
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 keys per target and condition")
    parser.add_argument("--keys", type=int, help="keys per target and condition (default 1000)")
    parser.add_argument("--blocks", type=int, help="turns per target (default 10)")
    parser.add_argument("--no-flood", action="store_true", help="idle only (the CI smoke run)")
    parser.add_argument("--json", type=Path, help="also write the results there")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, print machine, versions and the table."""
    from bench.report import machine  # noqa: PLC0415

    args = parse(argv)
    keys = args.keys or (100 if args.quick else 1000)
    blocks = args.blocks or (2 if args.quick else 10)
    load_before = os.getloadavg()
    started = time.perf_counter()
    warmup = 5 if args.quick else 20
    results = asyncio.run(run(keys, blocks, warmup, flood=not args.no_flood))
    results["meta"] = {
        "machine": machine(),
        "versions": {**versions(), "chromium": results.pop("chromium")},
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "keys": keys,
        "blocks": blocks,
        "seconds": time.perf_counter() - started,
    }
    print(json.dumps(results["meta"], indent=1))
    print(markdown(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
