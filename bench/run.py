"""Run the benchmark suite: ``python -m bench.run [--quick] [--size MiB] [--out DIR]``.

Starts two identical jupyter-servers (jupyter-webpty and jupyter-server-terminals both enabled;
webpty is measured on one, the built-in terminal on the other, so that each server's RSS and CPU
are its own), ttyd when bench/setup-ttyd has built it (else it says so and goes on without), and
a raw PTY loop in this process, runs the workloads with the targets taking
turns, prints the table and writes latest.json, latest.md and latest.png.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench import pressure, report, snapshot, ttyd, workloads
from bench.harness import SHELL, Harness

# "stalled" last: the built-in server's buffering for the non-reading client (tens of MB) would
# otherwise be freed memory that later RSS readings reuse.
WORKLOADS = (
    "throughput",
    "echo",
    "typing",
    "echo_flood",
    "interrupt",
    "attach",
    "tracker",
    "scale",
    "stalled",
)
STEPS = {
    "throughput": workloads.throughput,
    "echo": workloads.echo_idle,
    "typing": workloads.echo_typing,
    "echo_flood": workloads.echo_flood,
    "interrupt": pressure.interrupt,
    "stalled": pressure.stalled,
    "attach": snapshot.attach,
    "scale": pressure.scale,
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of seconds")
    parser.add_argument("--size", type=float, help="size of the cat file (MiB; default 64)")
    parser.add_argument("--echo-samples", type=int, help="echo samples per target (default 2000)")
    parser.add_argument("--sessions", type=int, help="concurrent sessions (default 200)")
    parser.add_argument("--rounds", type=int, help="throughput rounds per target (default 5)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(WORKLOADS)}")
    parser.add_argument("--no-ttyd", action="store_true", help="leave ttyd out even if it is built")
    parser.add_argument("--no-png", action="store_true", help="skip the chart (no matplotlib)")
    parser.add_argument(
        "--browser",
        type=int,
        metavar="KEYS",
        help="also keystroke to paint in Chromium (bench/browser.py), KEYS per target and condition",
    )
    parser.add_argument(
        "--fast-path-ab",
        action="store_true",
        help="also measure webpty with WebPtyApp.fast_path=False (a third server): the A/B table",
    )
    parser.add_argument(
        "--host-ab",
        action="store_true",
        help="instead, measure webpty with WebPtyApp.persist_sessions=True (the PTY host) as B",
    )
    parser.add_argument(
        "--ab-option",
        action="append",
        default=[],
        metavar="ARG",
        help="instead, measure as B a webpty server with this extra option too (repeatable)",
    )
    parser.add_argument(
        "--webpty-option",
        action="append",
        default=[],
        metavar="ARG",
        help="extra option for webpty's server, e.g. --webpty-option=--WebPtyApp.flow_high_water=65536",
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="also put the table into README.md's benchmark block (needs --out bench/results)",
    )
    parser.add_argument(
        "--profile",
        choices=["webpty", "builtin"],
        help="sample that target's server with py-spy; writes profile-<target>.txt (collapsed)",
    )
    return parser.parse_args(argv)


def sizes_of(args: argparse.Namespace) -> workloads.Sizes:
    """The sizes the options ask for."""
    sizes = workloads.Sizes.quick() if args.quick else workloads.Sizes()
    if args.size is not None:
        sizes.cat_bytes = int(args.size * 1024 * 1024)
    if args.echo_samples is not None:
        sizes.echo_samples = args.echo_samples
    if args.sessions is not None:
        sizes.sessions = args.sessions
    if args.rounds is not None:
        sizes.rounds = args.rounds
    return sizes


def start_profiler(pid: int, out: Path, label: str) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` into collapsed stacks (flamegraph input)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    path = out / f"profile-{label}.txt"
    argv = [exe, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "-o", str(path)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start everything, run the chosen workloads, stop everything; return the results.

    ``scale`` runs on servers of its own, started after the others stopped, whenever other
    workloads ran: on the servers they had used, the floods' freed buffers went back to the
    system while the 200 sessions were created, and the per-session RSS came out below zero
    (bench/results/2026-12-03-amd-n-run1.md). Run first instead, its 200 sessions would have
    stayed open under every later workload.
    """
    chosen = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = set(chosen) - set(WORKLOADS)
    if unknown:
        msg = f"unknown workloads: {sorted(unknown)}"
        raise SystemExit(msg)
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    sizes = sizes_of(args)
    own = ["scale"] if "scale" in chosen and len(chosen) > 1 else []
    first = [name for name in WORKLOADS if name in chosen and name not in own]
    harness = _harness(args)
    leftovers = await _run_on(harness, first, sizes, args, results, profile=args.profile)
    if own:
        print("[bench] fresh servers for scale", flush=True)
        fresh = _harness(args)
        leftovers += await _run_on(fresh, own, sizes, args, results, profile=None)
    results["_meta"] = {
        "mode": "quick" if args.quick else "full",
        "sizes": vars(sizes),
        "seconds": time.perf_counter() - started,
        "leftover_pids": leftovers,
        "shell": SHELL,
        # Other work on the machine skews everything; interleaving spreads it, this shows it.
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "webpty_options": args.webpty_option,
        "ab": _ab_kind(args),
        "ab_options": args.ab_option,
        "fresh_servers_for": own,
        "ttyd": _ttyd_version() if harness.ttyd is not None else harness.skipped.get("ttyd"),
    }
    return results


def _harness(args: argparse.Namespace) -> Harness:
    """The servers and peers the options ask for (not started)."""
    return Harness(
        "webpty-bench-",
        args.webpty_option,
        with_ttyd=not args.no_ttyd,
        fast_path_ab=args.fast_path_ab,
        host_ab=args.host_ab and not args.fast_path_ab,
        ab_options=args.ab_option,
    )


async def _run_on(
    harness: Harness,
    names: list[str],
    sizes: workloads.Sizes,
    args: argparse.Namespace,
    results: dict[str, Any],
    *,
    profile: str | None,
) -> list[int]:
    """Start ``harness``, run ``names`` in order into ``results``, stop it; return leftovers."""
    profiler = None
    try:
        await harness.start()
        ctx = workloads.Context(harness.targets, sizes, harness.workdir)
        if profile:
            server = harness.servers[0 if profile == "webpty" else 1]
            args.out.mkdir(parents=True, exist_ok=True)
            profiler = start_profiler(server.pid, args.out, profile)
        for name in names:
            t0 = time.perf_counter()
            print(f"[bench] {name} ...", end=" ", flush=True)
            if name == "tracker":
                results[name] = {"webpty": snapshot.tracker_cost(ctx)}
            else:
                results[name] = await STEPS[name](ctx)
            print(f"{time.perf_counter() - t0:.1f} s", flush=True)
            harness.remember_family()
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            await asyncio.to_thread(profiler.wait, 30)
        leftovers = await harness.stop()
    return leftovers


def _ab_kind(args: argparse.Namespace) -> str | None:
    """Which A/B the run made (report.AB_TITLES), if any."""
    if args.fast_path_ab:
        return "fast_path"
    if args.host_ab:
        return "host"
    return "option" if args.ab_option else None


def _ttyd_version() -> str:
    """``ttyd --version``'s answer, for the record."""
    argv = [str(ttyd.binary()), "--version"]
    version = subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    commit = Path(f"{ttyd.binary()}.commit")  # written by bench/setup-ttyd
    if commit.is_file() and commit.read_text().strip():
        version += f" (commit {commit.read_text().strip()[:12]})"
    return version


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse(argv)
    # A handler (not SIG_IGN) for SIGINT, so that the shells this process starts get the
    # default disposition even when the bench itself was started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    results = asyncio.run(run(args))
    meta = results.pop("_meta")
    if args.browser:
        from bench import browser  # noqa: PLC0415 (Playwright only when asked)

        print("[bench] browser ...", flush=True)
        measured = asyncio.run(browser.run(args.browser, blocks=10, warmup=20))
        meta["browser"] = {"chromium": measured.pop("chromium"), **browser.versions()}
        results["browser"] = measured
    print(report.write(results, meta, args.out, png=not args.no_png))
    if args.readme:
        report.update_readme(
            Path(__file__).resolve().parent.parent / "README.md",
            (args.out / "latest.md").read_text(),
        )
    print(f"[bench] {meta['seconds']:.0f} s; results in {args.out}")
    if meta["leftover_pids"]:
        print(f"[bench] leftover processes killed: {meta['leftover_pids']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
