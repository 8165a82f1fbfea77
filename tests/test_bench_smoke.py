"""A smoke run of the benchmark harness at tiny sizes, so that it never rots.

The figures are not checked (benchmarks are not pass/fail); that every workload ran, that each
target delivered ``cat`` byte-exact, that ttyd ran or was skipped with a message, and that no
process was left behind are.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = (
    "throughput",
    "echo",
    "typing",
    "echo_flood",
    "interrupt",
    "stalled",
    "attach",
    "tracker",
    "scale",
)


def test_bench_readerproc_reads_the_whole_file_both_ways(tmp_path: Path) -> None:
    text = tmp_path / "lines"
    data = b"".join(b"%06d the reader process smoke run\n" % line for line in range(8000))
    text.write_bytes(data)
    argv = [sys.executable, "-m", "bench.readerproc", str(text), "--rounds", "2", "--busy", "0.25"]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rounds = [line for line in proc.stdout.splitlines() if line.startswith("round ")]
    assert len(rounds) == 4
    assert {line.split()[2] for line in rounds} == {"thread", "process"}
    # Each way read all of it, the PTY's CRLF for each newline included.
    whole = len(data) + data.count(b"\n")
    assert all(line.endswith(f", {whole} bytes") for line in rounds), rounds


@pytest.mark.slow
def test_bench_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "results"
    argv = [sys.executable, "-m", "bench.run", "--quick", "--no-png", "--out", str(out)]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=110, check=False)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    document = json.loads((out / "latest.json").read_text())
    results = document["results"]
    assert set(WORKLOADS) <= set(results)
    for target in ("webpty", "builtin", "raw"):
        assert results["throughput"][target]["sha256_ok"], target
        assert results["echo"][target]["samples"] >= 50
        assert results["scale"][target]["sessions"] == 5
    # ttyd runs where bench/setup-ttyd built it, and is skipped with a message elsewhere (CI).
    if "ttyd" in results["throughput"]:
        assert results["throughput"]["ttyd"]["sha256_ok"]
        assert results["scale"]["ttyd"]["sessions"] == 5
    else:
        assert "ttyd skipped: no executable at" in proc.stdout, proc.stdout[-3000:]
    assert document["meta"]["leftover_pids"] == []
    # scale on fresh servers, after the others stopped (its per-session RSS was negative on
    # the servers the floods had used): the run says so, and so does the table's note.
    assert document["meta"]["fresh_servers_for"] == ["scale"]
    assert "fresh servers for scale" in proc.stdout
    assert "Row 5 (scale) ran on servers of its own" in (out / "latest.md").read_text()
    assert len(document["table"]) > 10
    assert (out / "latest.md").read_text().count("|") > 50
    assert elapsed < 90, f"the smoke run took {elapsed:.0f} s"


@pytest.mark.slow
def test_bench_fast_path_ab(tmp_path: Path) -> None:
    # A third server with WebPtyApp.fast_path off, measured beside the default one.
    out = tmp_path / "results"
    argv = [sys.executable, "-m", "bench.run", "--quick", "--no-png", "--no-ttyd",
            "--fast-path-ab", "--only", "throughput,echo", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=110, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    document = json.loads((out / "latest.json").read_text())
    assert document["results"]["throughput"]["webpty_plain"]["sha256_ok"]
    assert document["results"]["echo"]["webpty_plain"]["samples"] >= 50
    assert {line["metric"] for line in document["ab"]} >= {"2. echo p50, idle"}
    assert "fast path on" in (out / "latest.md").read_text()
    assert document["meta"]["leftover_pids"] == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_bench_floor_quick_run(tmp_path: Path) -> None:
    """Every floor workload for every target (about 110 s here with ttyd built: the Ctrl+C
    workload floods each target for 2 s, five times), its JSON, and that JSON pooled."""
    out = tmp_path / "floor.json"
    argv = [sys.executable, "-m", "bench.floor", "--samples", "40", "--typing", "8", "--size", "1"]
    argv += ["--rounds", "1", "--ctrlc-trials", "20", "--json", str(out)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=270, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for target in ("webpty", "builtin", "sio-relay", "raw"):
        # echo idle, typing, echo beside a flood, cat throughput, Ctrl+C
        assert proc.stdout.count(f"  {target} ") == 5, proc.stdout
    # No flow control: left out of the two workloads whose flood ends with a Ctrl+C.
    assert proc.stdout.count("  relay ") == 3, proc.stdout
    assert proc.stdout.count(" True ") >= 4, proc.stdout  # every cat arrived byte-exact
    # Each Ctrl+C line says how many of its 25 trials were in the fast mode.
    assert proc.stdout.count("/25 at ") == 4 + ("  ttyd " in proc.stdout), proc.stdout
    interrupt = json.loads(out.read_text())["results"]["interrupt"]
    assert len(interrupt["sio-relay"]["ctrl_c_ms_all"]) == 25
    pooled = subprocess.run(
        [sys.executable, "-m", "bench.pooled", str(out), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert pooled.returncode == 0, pooled.stderr
    assert "| sio-relay | 50 |" in pooled.stdout, pooled.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_bench_browser_quick_run(tmp_path: Path) -> None:
    """Keystroke to paint in Chromium, idle only, a few keys: both tabs type and paint.

    About 40 s on a quiet 2-core machine (two JupyterLab start-ups are most of it); under a load
    average of 9 it took over 110 s, hence the generous bounds.
    """
    out = tmp_path / "browser.json"
    argv = [sys.executable, "-m", "bench.browser", "--quick", "--no-flood", "--keys", "40"]
    started = time.monotonic()
    proc = subprocess.run(
        [*argv, "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240,
        check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    for target in ("webpty", "builtin"):
        assert results["idle"][target]["samples"] == 40
        assert 0 < results["idle"][target]["p50_ms"] < 1000
    assert "chromium" in results["meta"]["versions"]
    assert elapsed < 200, f"the browser smoke run took {elapsed:.0f} s"
