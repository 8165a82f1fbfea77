"""The results as a table (terminal and markdown), JSON and a PNG chart."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pooled

NAMES = ("webpty", "builtin", "ttyd", "raw")
LABELS = {
    "webpty": "jupyter-webpty",
    "builtin": "built-in terminal",
    "ttyd": "ttyd",
    "raw": "raw PTY",
}
#: webpty's memory bound with one client that stopped reading (docs/protocol.md): the retained
#: output (scrollback_bytes, default 4 MiB, trimmed in steps of a quarter) plus the
#: unacknowledged output (flow_high_water, default 256 KiB).
WEBPTY_BOUND_MB = (4 * 1024 * 1024 * 1.25 + 256 * 1024) / 1e6
#: Issue 16: the first flood on a fresh server may grow RSS by the retention window (the
#: retained output at its largest) plus 1 MB, no more.
FRESH_FLOOD_MB = 4 * 1024 * 1024 * 1.25 / 1e6 + 1.0
IDLE_CPU_LIMIT = 0.5  # percent of one core: "about zero"


@dataclass(frozen=True)
class Row:
    """One figure of the table: how to read it per target and the target it has."""

    metric: str
    unit: str
    read: Callable[[dict[str, Any], str], Any]
    goal: str = ""
    check: Callable[[dict[str, Any]], bool] | None = None
    ratios: bool = True  # False where values near zero make ratios meaningless


def _get(workload: str, key: str) -> Callable[[dict[str, Any], str], Any]:
    def read(results: dict[str, Any], name: str) -> Any:
        node = results.get(workload, {}).get(name)
        return node.get(key) if isinstance(node, dict) else None

    return read


def _fast_median(results: dict[str, Any], name: str) -> float | None:
    """The median of ``name``'s Ctrl+C trials in the fast mode (``pooled.FAST_MS``): the
    median of all trials falls in either of the two modes from run to run (bench/pooled.py)."""
    node = results.get("interrupt", {}).get(name)
    values = node.get("ctrl_c_ms_all") if isinstance(node, dict) else None
    return pooled.fast_median(values) if values else None


def _ratio(read: Callable[[dict[str, Any], str], Any], results: dict[str, Any], other: str) -> Any:
    mine, theirs = read(results, "webpty"), read(results, other)
    if isinstance(mine, bool) or not isinstance(mine, (int, float)):
        return None
    if not isinstance(theirs, (int, float)) or isinstance(theirs, bool) or theirs == 0:
        return None
    return mine / theirs


def _vs(row_read: Callable[[dict[str, Any], str], Any], other: str, op: str, factor: float):
    def check(results: dict[str, Any]) -> bool:
        ratio = _ratio(row_read, results, other)
        if ratio is None:
            return False
        return ratio >= factor if op == ">=" else ratio <= factor

    return check


def _webpty(read: Callable[[dict[str, Any], str], Any], test: Callable[[Any], bool]):
    def check(results: dict[str, Any]) -> bool:
        value = read(results, "webpty")
        return value is not None and bool(test(value))

    return check


def rows() -> list[Row]:
    """Every figure in table order."""
    tput = _get("throughput", "mb_per_s")
    exact = _get("throughput", "sha256_ok")
    p50, p99 = _get("echo", "p50_ms"), _get("echo", "p99_ms")
    fp50, fp99 = _get("echo_flood", "p50_ms"), _get("echo_flood", "p99_ms")
    tp50, tp99 = _get("typing", "p50_ms"), _get("typing", "p99_ms")
    fresh = _get("interrupt", "rss_growth_first_mb")
    ctrl = _get("interrupt", "ctrl_c_ms")
    steady = _get("interrupt", "rss_growth_steady_mb")
    stall = _get("stalled", "rss_growth_mb")
    create = _get("scale", "create_p50_ms")
    per = _get("scale", "rss_per_session_kb")
    cpu = _get("scale", "idle_cpu_percent")

    def tracker(stream: str, parser: str | None = None) -> Callable[[dict[str, Any], str], Any]:
        def read(results: dict[str, Any], name: str) -> Any:
            node = results.get("tracker", {}).get(name, {})
            node = (node.get(parser, {}) if parser else node).get(stream)
            return node.get("share_of_throughput_percent") if isinstance(node, dict) else None

        return read

    marks_colour, marks_full = tracker("coloured_text", "marks"), tracker("full_screen", "marks")

    plain_share, colour_share = tracker("plain_text"), tracker("coloured_text")
    both_colour = tracker("coloured_text", "tracker_and_marks")
    both_full = tracker("full_screen", "tracker_and_marks")

    return [
        Row("1. cat 64 MiB UTF-8 throughput", "MB/s", tput, ">= 0.9 x ttyd", _vs(tput, "ttyd", ">=", 0.9)),
        Row("1. byte-exact (sha256)", "", exact, "yes", _webpty(exact, bool)),
        Row("2. echo p50, idle", "ms", p50, "<= 0.8 x built-in", _vs(p50, "builtin", "<=", 0.8)),
        Row("2. echo p99, idle", "ms", p99, "<= 0.8 x built-in", _vs(p99, "builtin", "<=", 0.8)),
        Row("2. echo p50, typing (50 ms between keys)", "ms", tp50),
        Row("2. echo p99, typing (50 ms between keys)", "ms", tp99),
        Row("3. echo p50, neighbour flooding", "ms", fp50, "<= 0.8 x built-in", _vs(fp50, "builtin", "<=", 0.8)),
        Row("3. echo p99, neighbour flooding", "ms", fp99, "<= 0.8 x built-in", _vs(fp99, "builtin", "<=", 0.8)),
        Row("3. neighbour's flood rate", "MB/s", _get("echo_flood", "flood_mb_per_s")),
        Row("4. Ctrl+C during yes -> prompt, median", "ms", ctrl, "<= ttyd", _vs(ctrl, "ttyd", "<=", 1.0)),
        Row("4. Ctrl+C, first quartile", "ms", _get("interrupt", "ctrl_c_q1_ms")),
        Row("4. Ctrl+C, third quartile", "ms", _get("interrupt", "ctrl_c_q3_ms")),
        Row(f"4. Ctrl+C, median of the trials under {pooled.FAST_MS:g} ms", "ms", _fast_median),
        Row("4. Ctrl+C, trials over 3 ms", "%", _get("interrupt", "ctrl_c_over_3ms_percent"), ratios=False),
        Row("4. RSS growth in flood, fresh session", "MB", fresh, f"<= {FRESH_FLOOD_MB:.1f} MB", _webpty(fresh, lambda v: v <= FRESH_FLOOD_MB), ratios=False),
        Row("4. RSS growth in flood, steady", "MB", steady, "<= 1 MB", _webpty(steady, lambda v: v <= 1.0), ratios=False),
        Row("4. output drained after Ctrl+C", "KB", _get("interrupt", "drained_after_ctrl_c_kb"), ratios=False),
        Row("4. RSS growth, client stopped reading", "MB", stall, f"<= {WEBPTY_BOUND_MB:.1f} MB (bound)", _webpty(stall, lambda v: v <= WEBPTY_BOUND_MB), ratios=False),
        Row("5. create p50 (request -> prompt)", "ms", create, "<= 0.3 x built-in", _vs(create, "builtin", "<=", 0.3)),
        Row("5. create p99", "ms", _get("scale", "create_p99_ms")),
        Row("5. server RSS per idle session", "KB", per, "<= built-in", _vs(per, "builtin", "<=", 1.0)),
        Row("5. server CPU, sessions idle", "%", cpu, f"<= {IDLE_CPU_LIMIT} %", _webpty(cpu, lambda v: v <= IDLE_CPU_LIMIT), ratios=False),
        Row("6. attach to full-screen program", "ms", _get("attach", "attach_ms")),
        Row("6. attach replay", "bytes", _get("attach", "replay_bytes")),
        Row("6. screen tracker cost, plain text", "% of tput", plain_share, "<= 20 %", _webpty(plain_share, lambda v: v <= 20)),
        Row("6. screen tracker cost, coloured text", "% of tput", colour_share, "<= 20 %", _webpty(colour_share, lambda v: v <= 20)),
        Row("6. screen tracker cost, full-screen repaints", "% of tput", tracker("full_screen")),
        Row("6. marks parser cost, coloured text", "% of tput", marks_colour, "< 10 %", _webpty(marks_colour, lambda v: v < 10)),
        Row("6. marks parser cost, full-screen repaints", "% of tput", marks_full, "< 10 %", _webpty(marks_full, lambda v: v < 10)),
        Row("6. marks parser cost, shell session with marks", "% of tput", tracker("shell_session", "marks")),
        Row("6. tracker + marks, coloured text", "% of tput", both_colour, "< 10 %", _webpty(both_colour, lambda v: v < 10)),
        Row("6. tracker + marks, full-screen repaints", "% of tput", both_full, "< 10 %", _webpty(both_full, lambda v: v < 10)),
    ]  # fmt: skip


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows with values, ratios and verdicts, as plain data (for JSON and printing)."""
    out = []
    for row in rows():
        present = row.read(results, "webpty") is not None
        met = row.check(results) if row.check and row.goal and present else None
        out.append(
            {
                "metric": row.metric,
                "unit": row.unit,
                **{name: row.read(results, name) for name in NAMES},
                "vs_builtin": _ratio(row.read, results, "builtin") if row.ratios else None,
                "vs_ttyd": _ratio(row.read, results, "ttyd") if row.ratios else None,
                "vs_raw": _ratio(row.read, results, "raw") if row.ratios else None,
                "target": row.goal,
                "met": met,
            }
        )
    return out


#: The A/B target (``--fast-path-ab``): webpty with ``WebPtyApp.fast_path = False``.
PLAIN = "webpty_plain"


def ab_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Fast path on vs off, for each figure both servers measured (empty without the A/B run)."""
    out = []
    for row in rows():
        on, off = row.read(results, "webpty"), row.read(results, PLAIN)
        if not isinstance(on, (int, float)) or not isinstance(off, (int, float)):
            continue
        if isinstance(on, bool) or isinstance(off, bool):
            continue
        ratio = off / on if on else None
        out.append({"metric": row.metric, "unit": row.unit, "on": on, "off": off, "off_on": ratio})
    return out


#: Column titles of the A/B table, by ``meta["ab"]``: A (webpty as configured), B, B over A.
AB_TITLES = {
    "fast_path": ("fast path on", "fast path off", "off / on"),
    "host": ("shells in the server", "shells in a PTY host", "host / server"),
    "option": ("as configured", "with the --ab-option options", "B / A"),
}


def ab_markdown(lines: list[dict[str, Any]], kind: str = "fast_path") -> str:
    """The A/B table in GitHub markdown."""
    a, b, ratio = AB_TITLES.get(kind, AB_TITLES["fast_path"])
    text = [f"| figure | {a} | {b} | {ratio} |", "|---|---:|---:|---:|"]
    for line in lines:
        unit = f" ({line['unit']})" if line["unit"] else ""
        cells = [line["metric"] + unit, _fmt(line["on"]), _fmt(line["off"])]
        text.append("| " + " | ".join([*cells, _ratio_text(line["off_on"])]) + " |")
    return "\n".join(text)


def markdown(lines: list[dict[str, Any]]) -> str:
    """The table in GitHub markdown."""
    head = "| figure | jupyter-webpty | built-in terminal | ttyd | raw PTY | x built-in | x ttyd | x raw | target | met |"
    text = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for line in lines:
        unit = f" ({line['unit']})" if line["unit"] else ""
        met = {True: "yes", False: "**no**", None: ""}[line["met"]]
        cells = [line["metric"] + unit] + [_fmt(line[n]) for n in NAMES]
        ratios = (line["vs_builtin"], line.get("vs_ttyd"), line["vs_raw"])
        cells += [*map(_ratio_text, ratios), line["target"], met]
        text.append("| " + " | ".join(cells) + " |")
    return "\n".join(text)


def _ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def plain(lines: list[dict[str, Any]]) -> str:
    """The table for a terminal."""
    header = [
        "figure",
        "webpty",
        "built-in",
        "ttyd",
        "raw",
        "x bi",
        "x ttyd",
        "x raw",
        "target",
        "met",
    ]
    body = []
    for line in lines:
        unit = f" ({line['unit']})" if line["unit"] else ""
        met = {True: "yes", False: "NO", None: ""}[line["met"]]
        body.append(
            [line["metric"] + unit, *(_fmt(line[n]) for n in NAMES),
             _ratio_text(line["vs_builtin"]), _ratio_text(line.get("vs_ttyd")), _ratio_text(line["vs_raw"]),
             line["target"], met]
        )  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i in (0, 8) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *body]
    )  # fmt: skip


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def chart(results: dict[str, Any], path: Path, info: dict[str, Any] | None = None) -> None:
    """A grid of bar charts, one per headline figure, the targets side by side.

    ``info`` is the run's ``machine()`` record (its date and CPU go in the title); a chart
    redrawn later from a saved latest.json passes the one saved there, not today's.
    """
    import matplotlib  # noqa: PLC0415 - heavy, only here

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    panels = [
        ("throughput", "mb_per_s", "cat throughput, MB/s (higher is better)", False),
        ("echo", "p99_ms", "echo p99 idle, ms", True),
        ("echo_flood", "p99_ms", "echo p99 beside a flood, ms", True),
        ("interrupt", "ctrl_c_ms", "Ctrl+C to prompt, ms", True),
        ("interrupt", "rss_growth_steady_mb", "RSS growth in flood (steady), MB", True),
        ("stalled", "rss_growth_mb", "RSS growth, client not reading, MB", True),
        ("scale", "create_p50_ms", "create p50, ms", True),
        ("scale", "rss_per_session_kb", "server RSS per idle session, KB", False),
    ]
    colours = {"webpty": "#2a7ab9", "builtin": "#e08a2c", "ttyd": "#4a9a4a", "raw": "#8a8a8a"}
    fig, axes = plt.subplots(2, 4, figsize=(12, 5.6), dpi=80)
    for ax, (workload, key, title, log) in zip(axes.flat, panels, strict=True):
        names = [
            n
            for n in NAMES
            if isinstance(results.get(workload, {}).get(n, {}).get(key), (int, float))
        ]
        values = [results[workload][n][key] for n in names]
        bars = ax.bar([LABELS[n].replace(" ", "\n", 1) for n in names], values,
                      color=[colours[n] for n in names])  # fmt: skip
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(_fmt(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)  # fmt: skip
        if log and values and min(values) > 0 and max(values) / min(values) > 30:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.margins(y=0.15)
    info = info or machine()
    fig.suptitle(
        f"jupyter-webpty vs Jupyter's built-in terminal vs ttyd vs a raw PTY loop - {info['date']}, "
        f"{info['nproc']} x {info['cpu']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


#: The README's block that ``python -m bench.run --readme`` rewrites with the run's latest.md.
README_BEGIN = "<!-- bench.run --readme: begin -->"
README_END = "<!-- bench.run --readme: end -->"


def update_readme(readme: Path, md: str) -> None:
    """Replace what stands between the README's bench markers with ``md``."""
    text = readme.read_text()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        msg = f"{readme} has no {README_BEGIN} ... {README_END} block"
        raise SystemExit(msg)
    head, tail = text[: begin + len(README_BEGIN)], text[end:]
    readme.write_text(
        f"{head}\n{md.strip()}\n\n![Benchmark chart](bench/results/latest.png)\n{tail}"
    )


def write(results: dict[str, Any], meta: dict[str, Any], out: Path, *, png: bool = True) -> str:
    """Write latest.json, latest.md and latest.png to ``out``; return the plain table."""
    out.mkdir(parents=True, exist_ok=True)
    lines = table(results)
    ab = ab_table(results)
    info = machine()
    document = {"machine": info, "meta": meta, "table": lines, "ab": ab, "results": results}
    (out / "latest.json").write_text(json.dumps(document, indent=1, default=str) + "\n")
    md = (
        f"Measured {info['date']} on {info['nproc']} x {info['cpu']}, {info['ram_gb']} GB RAM, "
        f"Python {info['python']}, Linux {info['kernel']}, load average "
        f"{meta.get('loadavg_before', [0])[0]:.1f} before and {meta.get('loadavg_after', [0])[0]:.1f} "
        f"after (`python -m bench.run`, {meta.get('mode', 'full')} sizes, "
        f"{meta.get('seconds', 0):.0f} s; medians of interleaved rounds; ratios are "
        "jupyter-webpty's figure over the other's).\n\n" + markdown(lines) + "\n"
    )
    if meta.get("fresh_servers_for"):
        md += (
            "\nRow 5 (" + ", ".join(meta["fresh_servers_for"]) + ") ran on servers of its own, "
            "started after the other workloads' servers stopped (bench/README.md, Caveats).\n"
        )
    per_session = _get("scale", "rss_per_session_kb")
    if any(isinstance(v, (int, float)) and v < 0 for v in (per_session(results, n) for n in NAMES)):
        md += (
            "\nRow 5's RSS per idle session is below zero where a server's RSS fell while its 200 "
            "sessions were created: memory that the earlier workloads' sessions held was still "
            "being returned while they were created, and new sessions reuse what was freed. "
            "`python -m bench.memory` measures a session on a fresh server (bench/README.md).\n"
        )
    if "browser" in results:
        from .browser import markdown as browser_markdown  # noqa: PLC0415

        versions = ", ".join(f"{k} {v}" for k, v in meta.get("browser", {}).items())
        md += (
            f"\nKeystroke to paint in Chromium (`--browser`; {versions}):\n\n"
            f"{browser_markdown(results['browser'])}\n"
        )
    kind = meta.get("ab") or "fast_path"
    if ab:
        ab_text = {
            "fast_path": "jupyter-webpty with `WebPtyApp.fast_path` on and off (`--fast-path-ab`):",
            "host": "jupyter-webpty without and with the PTY host (`persist_sessions`, `--host-ab`):",
            "option": "jupyter-webpty as configured (A) and with "
            + " ".join(f"`{option}`" for option in meta.get("ab_options", []))
            + " (B, `--ab-option`):",
        }.get(kind, "")
        md += f"\n{ab_text}\n\n{ab_markdown(ab, kind)}\n"
    (out / "latest.md").write_text(md)
    if png:
        chart(results, out / "latest.png", info)
    if ab:
        return plain(lines) + f"\n\nA/B ({kind}):\n" + ab_markdown(ab, kind)
    return plain(lines)
