"""Our ``TerminalView`` against JupyterLab's ``Terminal`` widget on webpty: ``python -m bench.views``.

The measurement behind "one terminal view everywhere" (docs/views.md). One JupyterLab with
jupyter-webpty, Debian's chromium, one page, three terminal tabs of the same size, each a
webpty session: JupyterLab's widget with exact acknowledgements (the write callback behind the
widget's own write, ``WebPtyTerminalConnection.ackAfter``), the same widget acknowledging from
a macrotask after delivery (the adapter's fallback, forced by clearing its writer), and our
``TerminalView`` in a tab (``webpty:open-in-main``; write-callback acks).

Per target: *keystroke to paint* as in ``bench/browser.py`` (a trusted ``x`` key press until
xterm.js's ``onRender`` after the echo reached the buffer), and a flood (``yes | head -c N``):
wall time until the marker after it is parsed, how long each output chunk waited from
``write`` to xterm.js's write callback (= when an exact ack leaves), and the peak of bytes
written to xterm.js but not yet parsed (what flow control is meant to bound).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.browser import CHROMIUM_ARGS, LabServer, _until, open_lab
from bench.workloads import percentile

TARGETS = ("lab-exact", "lab-macrotask", "view")

PROBE = """
() => {
  const app = window.jupyterapp;
  const B = { t: {}, probe: null };
  const wait = async (f, what) => {
    const t0 = performance.now();
    while (!f()) {
      if (performance.now() - t0 > 30000) throw new Error('timeout: ' + what);
      await new Promise(r => setTimeout(r, 20));
    }
  };
  B.open = async role => {
    let widget, term, send;
    if (role === 'view') {
      widget = await app.commands.execute('webpty:open-in-main', {});
      await wait(() => widget.content.handle.view.terminal, 'view xterm');
      term = widget.content.handle.view.terminal;
      send = d => widget.content.handle.connection.write(d);
    } else {
      widget = await app.commands.execute('terminal:create-new');
      await widget.revealed;
      await wait(() => widget.content._term, 'lab xterm');
      term = widget.content._term;
      send = d => widget.content.session.send({type: 'stdin', content: [d]});
      if (role === 'lab-macrotask') {
        await wait(() => widget.content.session._writer, 'exact acks set up');
        widget.content.session._writer = null;  // The adapter's fallback.
      }
    }
    const t = { widget, term, send, chunks: [], pending: 0, peak: 0, marker: null };
    const write = term.write.bind(term);
    term.write = (data, cb) => {
      const n = data.length;
      if (!n) return write(data, cb);
      const rec = [performance.now(), 0];
      t.pending += n;
      t.peak = Math.max(t.peak, t.pending);
      const marked = typeof data === 'string' ? data.includes('flood-done') :
        new TextDecoder().decode(data).includes('flood-done');
      write(data, () => {
        rec[1] = performance.now();
        t.pending -= n;
        if (t.recording) t.chunks.push(rec[1] - rec[0]);
        if (marked && t.recording) t.marker = rec[1];
        if (cb) cb();
      });
    };
    term.onRender(() => {
      const p = B.probe;
      if (p && p.role === role && p.t0 !== null && p.t1 === null && B.count(role) >= p.expected) {
        p.t1 = performance.now();
        p.resolve(p.t1 - p.t0);
      }
    });
    B.t[role] = t;
  };
  B.count = role => {
    const b = B.t[role].term.buffer.active;
    const line = b.getLine(b.baseY + b.cursorY);
    const text = line ? line.translateToString(true) : '';
    const at = text.lastIndexOf('$ ');
    return at < 0 ? -1 : (text.slice(at + 2).match(/x/g) || []).length;
  };
  B.focus = role => {
    const t = B.t[role];
    app.shell.activateById(t.widget.id);
    t.term.focus();
    return document.activeElement === t.term.textarea;
  };
  B.arm = (role, expected) => {
    let resolve;
    const done = new Promise(r => { resolve = r; });
    B.probe = { role, expected, t0: null, t1: null, resolve, done };
  };
  B.flood = async (role, bytes) => {
    const t = B.t[role];
    t.chunks = []; t.peak = t.pending; t.marker = null; t.recording = true;
    const t0 = performance.now();
    t.send(`yes | head -c ${bytes}; echo flood-""done\\r`);
    await wait(() => t.marker !== null, 'flood marker');
    t.recording = false;
    return { seconds: (t.marker - t0) / 1000, chunks: t.chunks, peak: t.peak };
  };
  window.addEventListener('keydown', e => {
    if (B.probe && B.probe.t0 === null && e.key === 'x') B.probe.t0 = performance.now();
  }, true);
  window.__views = B;
}
"""


async def _keys(page: Any, role: str, keys: int) -> list[float]:
    samples: list[float] = []
    await _until(page, f"() => window.__views.focus('{role}')", 10, "focus")
    typed = 0
    for _ in range(keys):
        if typed == 50:
            await page.keyboard.press("Control+u")
            await _until(page, f"() => window.__views.count('{role}') === 0", 10, "line cleared")
            typed = 0
        await page.evaluate(f"() => window.__views.arm('{role}', {typed + 1})")
        await page.keyboard.press("x")
        samples.append(await page.evaluate("() => window.__views.probe.done"))
        typed += 1
    await page.keyboard.press("Control+u")
    return samples


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(percentile(ordered, 50), 2),
        "p99": round(percentile(ordered, 99), 2),
        "max": round(ordered[-1], 2) if ordered else 0.0,
    }


async def run(keys: int, flood_bytes: int, rounds: int) -> dict[str, Any]:
    """One JupyterLab, one page, the three targets; keys then floods, ``rounds`` times each."""
    from playwright.async_api import async_playwright  # noqa: PLC0415

    workdir = Path(tempfile.mkdtemp(prefix="webpty-views-"))
    # Our views on the DOM renderer would be unfair against JupyterLab's canvas/WebGL: auto.
    server = LabServer(workdir, "views", {"renderer": "auto"})
    if "JUPYTER_PATH" in os.environ:  # A labextension build of a worktree (shell_env drops it).
        server.env["JUPYTER_PATH"] = os.environ["JUPYTER_PATH"]
    results: dict[str, Any] = {"keys": {}, "flood": {}}
    try:
        await server.start(timeout=120)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            results["chromium"] = browser.version
            page = await (
                await browser.new_context(viewport={"width": 1200, "height": 800})
            ).new_page()
            await open_lab(page, server, "webpty:copy", "this tree's labextension", PROBE)
            for role in TARGETS:
                await page.evaluate(f"() => window.__views.open('{role}')")
                await _until(page, f"() => window.__views.count('{role}') === 0", 60, "prompt")
            collected: dict[str, list[float]] = {role: [] for role in TARGETS}
            floods: dict[str, list[dict[str, Any]]] = {role: [] for role in TARGETS}
            for index in range(rounds):
                order = TARGETS[index % 3 :] + TARGETS[: index % 3]
                for role in order:
                    collected[role] += await _keys(page, role, keys)
                for role in order:
                    await page.evaluate(f"() => window.__views.focus('{role}')")
                    floods[role].append(
                        await page.evaluate(f"() => window.__views.flood('{role}', {flood_bytes})")
                    )
                print(f"[views] round {index + 1} done", flush=True)
            for role in TARGETS:
                results["keys"][role] = _summary(collected[role])
                chunks = [c for f in floods[role] for c in f["chunks"]]
                results["flood"][role] = {
                    "seconds": [round(f["seconds"], 2) for f in floods[role]],
                    "ack_delay_ms": _summary(chunks),
                    "peak_unparsed_kib": [round(f["peak"] / 1024) for f in floods[role]],
                }
            await browser.close()
    finally:
        await server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100, help="key presses per target and round")
    parser.add_argument("--bytes", type=int, default=20_000_000, help="flood size per target")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    results = asyncio.run(run(args.keys, args.bytes, args.rounds))
    results["wall_seconds"] = round(time.perf_counter() - t0)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
