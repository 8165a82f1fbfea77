"""``python -m bench.pooled``: Ctrl+C times pooled over recorded runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import report

ROOT = Path(__file__).resolve().parent.parent


def _run(path: Path, times: dict[str, list[float]]) -> Path:
    results = {"interrupt": {name: {"ctrl_c_ms_all": values} for name, values in times.items()}}
    path.write_text(json.dumps({"results": results}))
    return path


def test_pools_full_runs_only(tmp_path: Path) -> None:
    # Two full runs: webpty fast in 30 of 50 trials, ttyd in 20; a run of 5 trials is left out.
    first = _run(tmp_path / "a.json", {"webpty": [1.0] * 15 + [6.0] * 10, "ttyd": [0.5] * 25})
    second = _run(tmp_path / "b.json", {"webpty": [1.0] * 15 + [6.0] * 10, "ttyd": [7.0] * 25})
    short = _run(tmp_path / "c.json", {"webpty": [50.0] * 5, "ttyd": [50.0] * 5})
    argv = [sys.executable, "-m", "bench.pooled", str(first), str(second), str(short)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    rows = {line.split("|")[1].strip(): line for line in done.stdout.splitlines() if "| " in line}
    assert "pooled over 2 runs: a.json, b.json" in done.stdout
    assert "| webpty | 50 | 1.00 |" in rows["webpty"]
    assert "| 30 (60%) | 1.00 | 6.00 |" in rows["webpty"]
    assert "| ttyd | 50 | 3.75 |" in rows["ttyd"]  # the mean of the two middle values
    assert "| 25 (50%) | 0.50 | 7.00 |" in rows["ttyd"]


def test_says_when_no_run_is_full(tmp_path: Path) -> None:
    short = _run(tmp_path / "c.json", {"webpty": [1.0] * 5})
    argv = [sys.executable, "-m", "bench.pooled", str(short)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "no file with 25 Ctrl+C trials per target" in done.stderr


def test_the_table_has_the_fast_mode_median() -> None:
    # One run: webpty fast in 3 of 5 trials (median of those 1.5 ms), ttyd in 3 (median 1.0);
    # the built-in never (no figure, not a zero).
    times = {"webpty": [1.0, 6.0, 2.0, 1.5, 7.0], "ttyd": [0.5, 1.0, 1.5, 8.0, 9.0]}
    times["builtin"] = [43.0, 44.0]
    results = {"interrupt": {name: {"ctrl_c_ms_all": values} for name, values in times.items()}}
    row = next(line for line in report.table(results) if "trials under 4 ms" in line["metric"])
    assert row["webpty"] == 1.5
    assert row["ttyd"] == 1.0
    assert row["builtin"] is None
    assert row["vs_ttyd"] == 1.5
