"""Workloads 4 and 5: Ctrl+C during a flood with the server's memory, a client that stops
reading, and many concurrent sessions (create time, memory per session, CPU when idle)."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from .server import cpu_seconds, rss_bytes
from .targets import Session, Target
from .workloads import PROMPT, Context, close_all, open_all, percentile, prompt_after_ctrl_c

SAMPLE_EVERY = 0.05  # seconds between RSS readings during a flood


async def peak_rss(pid: int, seconds: float) -> int:
    """The highest RSS of ``pid`` seen over ``seconds``."""
    peak = rss_bytes(pid)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        await asyncio.sleep(SAMPLE_EVERY)
        peak = max(peak, rss_bytes(pid))
    return peak


async def _interrupt_trial(
    target: Target, session: Session, seconds: float, *, sample_rss: bool = True
) -> tuple[float, int, int]:
    before = rss_bytes(target.pid)
    started = session.output.expect(b"y\r\ny\r\n")
    await session.send("yes\n")
    await started.wait(30)
    if sample_rss:
        peak = await peak_rss(target.pid, seconds)
    else:
        await asyncio.sleep(seconds)  # the flood runs; a fixed length, not a synchronisation
        peak = before
    prompt = session.output.expect(PROMPT)
    sent_at = session.output.total
    t0 = time.perf_counter()
    await session.send("\x03")
    seconds = await prompt_after_ctrl_c(prompt, target.name) - t0
    # Output still delivered after the interrupt: what the server had read ahead of the client.
    return seconds, peak - before, session.output.total - sent_at


#: Between the two modes of Ctrl+C's time to the prompt (~0.5-2.5 ms, or 4-9 ms when the
#: kernel's input worker waits for a CPU): a trial slower than this is in the slow one.
SLOW_CTRL_C = 0.003


async def interrupt(ctx: Context) -> dict[str, Any]:
    """Ctrl+C after a flood of `yes`: time to the prompt, and the server's RSS growth.

    Each target keeps one session for all trials: the first trial's growth includes filling the
    session's retained output (a fixed, documented bound for webpty), the later ones do not.
    The time is the median over these trials and ``ctrlc_quick_trials`` more after shorter
    floods (no RSS sampling), interleaved the same way.
    """
    sessions = await open_all(ctx)
    times: dict[str, list[float]] = {t.name: [] for t in ctx.targets}
    growth: dict[str, list[int]] = {t.name: [] for t in ctx.targets}
    drained: dict[str, list[int]] = {t.name: [] for t in ctx.targets}
    sizes = ctx.sizes
    try:
        for order in ctx.rotations(sizes.ctrlc_trials):
            for target in order:
                seconds, grown, after = await _interrupt_trial(
                    target, sessions[target.name], sizes.flood_seconds
                )
                times[target.name].append(seconds)
                growth[target.name].append(grown)
                drained[target.name].append(after)
        for order in ctx.rotations(sizes.ctrlc_quick_trials):
            for target in order:
                seconds, _, after = await _interrupt_trial(
                    target, sessions[target.name], sizes.quick_flood_seconds, sample_rss=False
                )
                times[target.name].append(seconds)
                drained[target.name].append(after)
    finally:
        await close_all(sessions)
    result = {}
    for name, values in times.items():
        later = growth[name][1:] or growth[name]
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        result[name] = {
            "ctrl_c_ms": statistics.median(values) * 1e3,
            "ctrl_c_q1_ms": quartiles[0] * 1e3,
            "ctrl_c_q3_ms": quartiles[2] * 1e3,
            # Its two modes (bench/README.md, "Ctrl+C under a flood, traced"): how often the slow one.
            "ctrl_c_over_3ms_percent": 100 * sum(t > SLOW_CTRL_C for t in values) / len(values),
            "ctrl_c_ms_all": [t * 1e3 for t in values],
            "rss_growth_first_mb": growth[name][0] / 1e6,
            "rss_growth_steady_mb": statistics.median(later) / 1e6,
            "rss_growth_all_mb": [g / 1e6 for g in growth[name]],
            "drained_after_ctrl_c_kb": statistics.median(drained[name]) / 1e3,
        }
    return result


async def stalled(ctx: Context) -> dict[str, Any]:
    """A client that stops reading its socket while `yes` runs: the server's RSS growth."""
    result: dict[str, Any] = {}
    for target in ctx.rotations(1)[0]:
        before = rss_bytes(target.pid)
        session = await target.open_stalled("yes\n")
        try:
            peak = await peak_rss(target.pid, ctx.sizes.stall_seconds)
        finally:
            await session.close()
        result[target.name] = {
            "rss_growth_mb": (peak - before) / 1e6,
            "seconds": ctx.sizes.stall_seconds,
        }
    return result


def _rotations(targets: list[Target], count: int) -> list[list[Target]]:
    return [targets[i % len(targets) :] + targets[: i % len(targets)] for i in range(count)]


async def _create(
    target: Target,
    count: int,
    created: dict[str, list[float]],
    sessions: dict[str, list[Session]],
) -> None:
    for _ in range(count):
        session = await target.open(shared=True)
        sessions[target.name].append(session)
        created[target.name].append(session.create_seconds)


async def scale(ctx: Context) -> dict[str, Any]:
    """Many concurrent sessions: create time, server RSS per idle session, idle CPU.

    Sessions are created one at a time, the servers taking turns, and all stay open. webpty's
    share one Socket.IO connection, as the JupyterLab extension's terminals in one page do; the
    built-in terminal needs a websocket per terminal.
    """
    count = ctx.sizes.sessions
    await asyncio.sleep(1.0)  # let the previous workload's sessions finish closing
    before = {t.name: rss_bytes(t.pid) for t in ctx.targets}
    after: dict[str, int] = {}
    created: dict[str, list[float]] = {t.name: [] for t in ctx.targets}
    sessions: dict[str, list[Session]] = {t.name: [] for t in ctx.targets}
    servers = [t for t in ctx.targets if t.name != "raw"]
    try:
        # The raw PTY's shells live in this process, whose RSS the clients of the other targets
        # would blur: create them first, alone.
        for target in ctx.targets:
            if target.name == "raw":
                await _create(target, count, created, sessions)
                await asyncio.sleep(0.5)
                after["raw"] = rss_bytes(target.pid)
        for order in _rotations(servers, count):
            for target in order:
                await _create(target, 1, created, sessions)
        await asyncio.sleep(1.0)
        after.update({t.name: rss_bytes(t.pid) for t in servers})
        cpu0 = {t.name: cpu_seconds(t.pid) for t in ctx.targets}
        t0 = time.perf_counter()
        await asyncio.sleep(ctx.sizes.idle_seconds)
        elapsed = time.perf_counter() - t0
        cpu1 = {t.name: cpu_seconds(t.pid) for t in ctx.targets}
    finally:
        # The servers close theirs when they stop (not part of the measurement).
        raw = sessions.pop("raw", [])
        await close_all({str(i): s for i, s in enumerate(raw)})
    result = {}
    for target in ctx.targets:
        name = target.name
        result[name] = {
            "sessions": count,
            "create_p50_ms": percentile(created[name], 50) * 1e3,
            "create_p99_ms": percentile(created[name], 99) * 1e3,
            "rss_per_session_kb": (after[name] - before[name]) / count / 1e3,
            "idle_cpu_percent": (cpu1[name] - cpu0[name]) / elapsed * 100,
        }
    return result
