"""Ctrl+C to prompt pooled over several recorded runs (``python -m bench.pooled FILE...``).

A full run measures 25 interrupts per target. Their times have two modes (bench/README.md,
workload 4): about 1 ms, or 5-9 ms when the kernel worker that turns the ``^C`` into a signal
waits for a CPU. Each target lands in the fast mode about half the time, so the median of 25
can fall in either mode, and one run's comparison flips from run to run. Pooling the runs'
raw times (``ctrl_c_ms_all`` in each JSON) gives medians that do not. The figures are printed
per target with how many trials were fast, and the median of each mode.

Only runs with the full 25 trials are pooled (earlier files recorded 5). The files of
``python -m bench.floor --json`` pool the same way, with the protocol relay among the targets.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

#: Where the two modes part: in the nine full runs of 2026-12-02/03 only 18 of the 675 times of
#: webpty, ttyd and the raw PTY fell between 3.5 and 4.5 ms, the valley of their histogram.
FAST_MS = 4.0
FULL_TRIALS = 25


def pool(files: list[Path]) -> tuple[dict[str, list[float]], list[Path]]:
    """Every target's Ctrl+C times from ``files``, and the files they came from."""
    times: dict[str, list[float]] = {}
    used = []
    for path in files:
        interrupt = json.loads(path.read_text()).get("results", {}).get("interrupt") or {}
        runs = {name: entry.get("ctrl_c_ms_all") or [] for name, entry in interrupt.items()}
        if not runs or min(len(values) for values in runs.values()) < FULL_TRIALS:
            continue
        used.append(path)
        for name, values in runs.items():
            times.setdefault(name, []).extend(values)
    return times, used


def fast_median(values: list[float]) -> float | None:
    """The median of the trials in the fast mode (under ``FAST_MS``), None if there is none."""
    fast = [value for value in values if value < FAST_MS]
    return statistics.median(fast) if fast else None


def summary(values: list[float]) -> dict[str, Any]:
    """Median and quartiles of ``values``, and how many fell in the fast mode."""
    quartiles = statistics.quantiles(values, n=4)
    fast = [value for value in values if value < FAST_MS]
    slow = [value for value in values if value >= FAST_MS]
    return {
        "trials": len(values),
        "median_ms": statistics.median(values),
        "q1_ms": quartiles[0],
        "q3_ms": quartiles[2],
        "fast": len(fast),
        "fast_median_ms": fast_median(values),
        "slow_median_ms": statistics.median(slow) if slow else None,
    }


def ms(value: float | None) -> str:
    """``value`` in ms to two places, or "-" when there is none."""
    return "-" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        help="result JSONs of python -m bench.run or bench.floor --json",
    )
    args = parser.parse_args(argv)
    times, used = pool(args.files)
    if not used:
        print(f"no file with {FULL_TRIALS} Ctrl+C trials per target", file=sys.stderr)
        return 1
    print(f"Ctrl+C to prompt, pooled over {len(used)} runs: " + ", ".join(p.name for p in used))
    print()
    print("| target | trials | median | q1 | q3 | fast (< 4 ms) | fast median | slow median |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, values in times.items():
        s = summary(values)
        print(
            f"| {name} | {s['trials']} | {ms(s['median_ms'])} | {ms(s['q1_ms'])} | "
            f"{ms(s['q3_ms'])} | {s['fast']} ({s['fast'] / s['trials']:.0%}) | "
            f"{ms(s['fast_median_ms'])} | {ms(s['slow_median_ms'])} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
