"""Workloads 1-3: throughput of ``cat``, echo latency idle, echo latency beside a flood.

Every workload runs the targets in turn, round after round, rotating the order each round, so
that slow drifts of the machine (other load, frequency changes) hit all targets alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .server import cpu_seconds
from .targets import Session, Target

PROMPT = b"bench$ "
START_MARK, END_MARK = b"S2S\r\n", b"E3E\r\n"  # printed by `echo S$((1+1))S`: not in the echo
KILL_LINE = "\x15"  # Ctrl+U: empties readline's line, echoes no 'x'


@dataclass
class Sizes:
    """How much of each workload to run."""

    cat_bytes: int = 64 * 1024 * 1024
    rounds: int = 5  # the median of 5: one disturbed round on a shared machine moves it little
    echo_samples: int = 2000
    blocks: int = 4
    #: Keys typed into every echo workload's new sessions before any is measured, target by
    #: target, and not counted: without them the first target of the first rotation (webpty in
    #: ``bench.run``) took the keys of a shell just started, on servers still settling, and only
    #: its p99 paid (bench/README.md, "Caveats").
    warmup_keys: int = 30
    #: Keystrokes typed with a pause before each (workload 2, "typing").
    typing_samples: int = 300
    typing_pause: float = 0.05
    ctrlc_trials: int = 5
    flood_seconds: float = 2.0
    #: More Ctrl+C trials, after a shorter flood, for the time alone: its distribution has two
    #: modes (~1 ms, or 5-9 ms when the kernel's worker that turns the ^C into a signal waits
    #: for a CPU on a saturated machine), so five trials gave medians from either, and 25 in
    #: all still moved ttyd's median between its modes from run to run (0.86-2.86 ms in three
    #: runs on 2026-12-03): 55 in all since 2026-12-04.
    ctrlc_quick_trials: int = 50
    quick_flood_seconds: float = 0.3
    stall_seconds: float = 3.0
    sessions: int = 200
    idle_seconds: float = 5.0
    attach_trials: int = 5
    history_bytes: int = 2 * 1024 * 1024

    @classmethod
    def quick(cls) -> Sizes:
        """The smoke-test sizes: seconds, not minutes."""
        return cls(
            cat_bytes=1024 * 1024, rounds=1, echo_samples=50, blocks=1, warmup_keys=3, typing_samples=10, ctrlc_trials=1,
            ctrlc_quick_trials=1, flood_seconds=0.3, stall_seconds=0.5, sessions=5, idle_seconds=1.0,
            attach_trials=1, history_bytes=64 * 1024,
        )  # fmt: skip


@dataclass
class Context:
    """What the workloads share: targets, sizes, the test file and notes for later workloads."""

    targets: Sequence[Target]
    sizes: Sizes
    workdir: Path
    text_file: Path = field(init=False)
    history_file: Path = field(init=False)
    expected_sha256: str = field(init=False)
    # Recorded by the throughput workload for the screen-tracker cost (workload 6).
    webpty_chunks: list[int] = field(default_factory=list)
    webpty_mb_per_s: float = 0.0
    # What the full-screen program drew in webpty's session (workload 6, attach).
    full_screen_output: bytes = b""

    def __post_init__(self) -> None:
        self.text_file = self.workdir / "utf8.txt"
        self.history_file = self.workdir / "history.txt"
        body = make_text(self.sizes.cat_bytes)
        self.text_file.write_bytes(body)
        self.history_file.write_bytes(body[: self.sizes.history_bytes])
        # The terminal's output processing turns each newline into CR LF.
        self.expected_sha256 = hashlib.sha256(body.replace(b"\n", b"\r\n")).hexdigest()

    def rotations(self, count: int) -> list[list[Target]]:
        """``count`` orders of the targets, each rotated by one from the last."""
        targets = list(self.targets)
        return [targets[i % len(targets) :] + targets[: i % len(targets)] for i in range(count)]


def make_text(size: int) -> bytes:
    """``size`` bytes of lines mixing ASCII with 2-, 3- and 4-byte UTF-8 characters."""
    words = ["alpha", "béta", "ĝamma", "δέλτα", "эпсилон", "ζήτα", "中文字", "日本語", "한국어",
             "🙂", "🚀🌍", "naïve", "façade", "Straße", "→", "∑x²", "x", "0123456789"]  # fmt: skip
    rng = random.Random(20240607)  # noqa: S311 - reproducible text, not secrets
    lines = []
    for n in range(4096):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
        lines.append(f"{n:05d} {line}\n")
    block = "".join(lines).encode("utf-8")
    out = bytearray()
    while len(out) < size:
        out += block
    # Cut at a line end so that the file is whole lines of valid UTF-8.
    cut = out.rfind(b"\n", 0, size) + 1
    return bytes(out[:cut])


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), nearest rank."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def open_all(ctx: Context, **kwargs: Any) -> dict[str, Session]:
    """One session per target."""
    return {t.name: await t.open(**kwargs) for t in ctx.targets}


async def close_all(sessions: dict[str, Session]) -> None:
    """Close sessions, concurrently."""
    await asyncio.gather(*(s.close() for s in sessions.values()))


async def run_command(session: Session, command: str, timeout: float = 60) -> float:
    """Type ``command`` and wait for the next prompt; return the arrival time."""
    prompt = session.output.expect(PROMPT)
    await session.send(command + "\n")
    return await prompt.wait(timeout)


# -- 1. throughput ------------------------------------------------------------------------------
async def prompt_after_ctrl_c(prompt: Any, target: str) -> float:
    """When ``prompt`` (a waiter) saw the prompt; a timeout names ``target``."""
    try:
        return float(await prompt.wait(120))
    except TimeoutError:
        msg = f"{target}: no prompt 120 s after Ctrl+C"
        raise TimeoutError(msg) from None


async def throughput(ctx: Context) -> dict[str, Any]:
    """``cat`` of the UTF-8 file: MB/s from command to end marker, and a sha256 of what came."""
    sessions = await open_all(ctx)
    rates: dict[str, list[float]] = {t.name: [] for t in ctx.targets}
    exact: dict[str, list[bool]] = {t.name: [] for t in ctx.targets}
    chunks: dict[str, float] = {}
    busy: dict[str, list[tuple[float, float]]] = {t.name: [] for t in ctx.targets}
    try:
        for order in ctx.rotations(ctx.sizes.rounds):
            for target in order:
                session = sessions[target.name]
                output = session.output
                output.start_capture(chunks=True)
                end = output.expect(END_MARK)
                prompt = output.expect(PROMPT)
                cpu0 = cpu_seconds(target.pid), cpu_seconds(os.getpid())
                t0 = time.perf_counter()
                await session.send(f"echo S$((1+1))S; cat {ctx.text_file}; echo E$((2+1))E\n")
                t1 = await end.wait(600)
                cpu1 = cpu_seconds(target.pid), cpu_seconds(os.getpid())
                busy[target.name].append(
                    ((cpu1[0] - cpu0[0]) / (t1 - t0), (cpu1[1] - cpu0[1]) / (t1 - t0))
                )
                await prompt.wait(60)
                data, sizes = output.stop_capture()
                start = data.find(START_MARK) + len(START_MARK)
                body = memoryview(data)[start : data.rfind(END_MARK)]
                rates[target.name].append(len(body) / (t1 - t0) / 1e6)
                exact[target.name].append(hashlib.sha256(body).hexdigest() == ctx.expected_sha256)
                chunks[target.name] = len(data) / max(1, len(sizes))
                if target.name == "webpty":
                    ctx.webpty_chunks = sizes
    finally:
        await close_all(sessions)
    result = {}
    for name, values in rates.items():
        result[name] = {
            "mb_per_s": statistics.median(values),
            "mb_per_s_all": values,
            "sha256_ok": all(exact[name]),
            "mean_chunk_bytes": chunks[name],
            # Share of one core used during the cat (the raw loop's server is this process).
            "server_cpu_percent": statistics.median(b[0] for b in busy[name]) * 100,
            "client_cpu_percent": statistics.median(b[1] for b in busy[name]) * 100,
        }
    ctx.webpty_mb_per_s = result.get("webpty", {}).get("mb_per_s", 0.0)
    result["bytes"] = ctx.text_file.stat().st_size
    return result


# -- 2 and 3. echo latency ----------------------------------------------------------------------
async def echo_block(session: Session, count: int, pause: float = 0.0) -> list[float]:
    """Type 'x' ``count`` times, one at a time; seconds from send to echo for each.

    ``pause``: seconds of quiet before each key, as between a person's keystrokes.
    """
    samples = []
    output = session.output
    for n in range(count):
        if n % 60 == 59:  # keep the line short: no wrapping, no redisplay
            await session.send(KILL_LINE)
            # Let the redraw and its TCP acknowledgement go by, so that the shell is idle again:
            # else the next echo can wait for the client's delayed ACK (Nagle, ~40 ms) where
            # the server leaves Nagle on, which is the redraw's cost, not the keystroke's.
            await output.settle(0.05)
        if pause:
            await asyncio.sleep(pause)  # the time between two keys, not a synchronisation
        echo = output.expect_count(b"x")
        t0 = time.perf_counter()
        await session.send("x")
        samples.append(await echo.wait(30) - t0)
    await session.send(KILL_LINE)
    return samples


async def warm_up(ctx: Context, sessions: dict[str, Session]) -> None:
    """Type ``warmup_keys`` into each target's session in turn, uncounted."""
    for target in ctx.targets:
        await echo_block(sessions[target.name], ctx.sizes.warmup_keys)


def latency_summary(samples: list[float]) -> dict[str, Any]:
    """p50/p99/max in milliseconds."""
    return {
        "p50_ms": percentile(samples, 50) * 1e3,
        "p99_ms": percentile(samples, 99) * 1e3,
        "max_ms": max(samples) * 1e3,
        "samples": len(samples),
    }


async def echo_idle(ctx: Context) -> dict[str, Any]:
    """Keystroke-to-echo latency on an idle shell."""
    sessions = await open_all(ctx)
    per_block = max(1, ctx.sizes.echo_samples // ctx.sizes.blocks)
    samples: dict[str, list[float]] = {t.name: [] for t in ctx.targets}
    try:
        await warm_up(ctx, sessions)
        for order in ctx.rotations(ctx.sizes.blocks):
            for target in order:
                samples[target.name] += await echo_block(sessions[target.name], per_block)
    finally:
        await close_all(sessions)
    return {name: latency_summary(values) for name, values in samples.items()}


async def echo_typing(ctx: Context) -> dict[str, Any]:
    """Keystroke-to-echo latency as when typing: each key after ``typing_pause`` s of quiet.

    Back to back (``echo_idle``) the server, the shell and the client are still running when
    the next key comes; a person's keys come 50-300 ms apart, when all of them sleep and their
    caches went cold. Each key of ``echo_idle`` that follows its 50 ms pause (every 60th) is
    one of these, and they set its p99 (bench/README.md, "A keystroke after a pause").
    """
    sessions = await open_all(ctx)
    sizes = ctx.sizes
    per_block = max(1, sizes.typing_samples // sizes.blocks)
    samples: dict[str, list[float]] = {t.name: [] for t in ctx.targets}
    try:
        await warm_up(ctx, sessions)
        for order in ctx.rotations(sizes.blocks):
            for target in order:
                session = sessions[target.name]
                samples[target.name] += await echo_block(session, per_block, sizes.typing_pause)
    finally:
        await close_all(sessions)
    return {
        name: dict(latency_summary(values), pause_ms=sizes.typing_pause * 1e3)
        for name, values in samples.items()
    }


async def echo_flood(ctx: Context) -> dict[str, Any]:
    """Echo latency while a neighbour session of the same target runs `yes`, read by its client."""
    quiet = await open_all(ctx)
    noisy = await open_all(ctx)
    per_block = max(1, ctx.sizes.echo_samples // ctx.sizes.blocks)
    samples: dict[str, list[float]] = {t.name: [] for t in ctx.targets}
    rates: dict[str, list[float]] = {t.name: [] for t in ctx.targets}
    busy: dict[str, list[tuple[float, float]]] = {t.name: [] for t in ctx.targets}
    try:
        await warm_up(ctx, quiet)
        for order in ctx.rotations(ctx.sizes.blocks):
            for target in order:
                flood = noisy[target.name]
                started = flood.output.expect(b"y\r\ny\r\n")
                await flood.send("yes\n")
                await started.wait(30)
                await asyncio.sleep(0.2)
                before, t0 = flood.output.total, time.perf_counter()
                cpu0 = cpu_seconds(target.pid), cpu_seconds(os.getpid())
                samples[target.name] += await echo_block(quiet[target.name], per_block)
                elapsed = time.perf_counter() - t0
                cpu1 = cpu_seconds(target.pid), cpu_seconds(os.getpid())
                rates[target.name].append((flood.output.total - before) / elapsed / 1e6)
                busy[target.name].append(
                    ((cpu1[0] - cpu0[0]) / elapsed, (cpu1[1] - cpu0[1]) / elapsed)
                )
                prompt = flood.output.expect(PROMPT)
                await flood.send("\x03")
                await prompt_after_ctrl_c(prompt, target.name)
    finally:
        await close_all(quiet)
        await close_all(noisy)
    result = {}
    for name, values in samples.items():
        result[name] = latency_summary(values)
        result[name]["flood_mb_per_s"] = statistics.median(rates[name])
        result[name]["server_cpu_percent"] = statistics.median(b[0] for b in busy[name]) * 100
        result[name]["client_cpu_percent"] = statistics.median(b[1] for b in busy[name]) * 100
    return result
