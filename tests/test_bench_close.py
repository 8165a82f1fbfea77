"""A smoke run of ``bench.close`` at tiny sizes, so that it never rots (figures not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_close_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "close.json"
    argv = [sys.executable, "-m", "bench.close", "--quick", "--out", str(out)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=110, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["stop"]["leftover_pids"] == []
    assert results["stop"]["sessions"] == 40
    for key in ("status_gets", "status_plain", "status_stubborn"):
        assert results[key]["status_samples"] > 0, key
