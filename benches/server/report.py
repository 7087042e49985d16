"""Markdown tables of the server benchmarks: stdio footprint side by side, HTTP load, targets.

Only measured numbers are printed; a server or level that could not be measured shows why.
"""

from __future__ import annotations

import math

from peers import Server
from stats import LevelResult
from stdio_probe import ProbeSeries

# Issue 2 §7 targets, reported against and never asserted.
TARGET_INIT_MS = 20.0
TARGET_RSS_MIB = 20.0
TARGET_P99_MS = 5.0
TARGET_P99_SESSIONS = 16


def mib(kb: float) -> float:
    return kb / 1024.0


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def ratio(peer: float, ours: float | None) -> str:
    if ours is None or not ours or math.isnan(ours) or math.isnan(peer):
        return ""
    return f" ({peer / ours:.1f}×)"


def stdio_table(results: list[tuple[Server, ProbeSeries | None]]) -> str:
    """One row per server; peers carry their ratio to ours (peer ÷ ours) in parentheses."""
    head = (
        "| server | version | runs | initialize median ms | p90 ms | VmRSS MiB | VmHWM MiB "
        "| initialize bytes | tools | tools/list bytes | bytes/tool |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    base = _baseline(results)
    rows = [
        _stdio_row(server, series, base if i else None)
        for i, (server, series) in enumerate(results)
    ]
    return head + "\n".join(rows) + "\n"


def _baseline(results) -> dict | None:
    server, series = results[0]
    if series is None or not series.runs:
        return None
    last = series.runs[-1]
    return {
        "init": series.median_init(),
        "rss": series.median_rss(),
        "hwm": series.median_hwm(),
        "init_bytes": last.init_bytes,
        "bytes": last.list_bytes,
        "per_tool": last.list_bytes / last.tools if last.tools else None,
    }


def _stdio_row(server: Server, series: ProbeSeries | None, base: dict | None) -> str:
    name = server.name
    if server.argv is None:
        return f"| {name} | {server.version} | – | not measured: {server.reason} ||||||||"
    if series is None or not series.runs:
        why = series.failures[-1] if series and series.failures else "not run"
        return f"| {name} | {server.version} | 0 | did not start: {why[:240]} ||||||||"
    b = base or {}
    last = series.runs[-1]
    per_tool = last.list_bytes / last.tools if last.tools else float("nan")
    cells = [
        name,
        server.version,
        f"{len(series.runs)}" + (f" (+{len(series.failures)} failed)" if series.failures else ""),
        fmt(series.median_init()) + ratio(series.median_init(), b.get("init")),
        fmt(series.p90_init()),
        fmt(mib(series.median_rss())) + ratio(series.median_rss(), b.get("rss")),
        fmt(mib(series.median_hwm())) + ratio(series.median_hwm(), b.get("hwm")),
        f"{last.init_bytes:,}" + ratio(last.init_bytes, b.get("init_bytes")),
        str(last.tools),
        f"{last.list_bytes:,}" + ratio(last.list_bytes, b.get("bytes")),
        fmt(per_tool, 0) + ratio(per_tool, b.get("per_tool")),
    ]
    return "| " + " | ".join(cells) + " |"


def http_table(levels: list[tuple[str, LevelResult]]) -> str:
    head = (
        "| mode | sessions | calls ok | errors | p50 ms | p99 ms | max ms | calls/s "
        "| server CPU µs/call | client CPU % of wall | server VmRSS MiB after |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    return head + "\n".join(_http_row(mode, r) for mode, r in levels) + "\n"


def _http_row(mode: str, r: LevelResult) -> str:
    ok = len(r.latencies)
    if not ok:
        why = r.errors[0] if r.errors else "no calls"
        return f"| {mode} | {r.sessions} | 0 | {len(r.errors)} | not measured: {why[:200]} |||||||"
    cpu_per_call = r.server_cpu_s / ok * 1e6
    client_pct = 100.0 * r.client_cpu_s / r.wall_s if r.wall_s else float("nan")
    capped = f" of {r.planned:,} (time cap)" if r.capped else ""
    cells = [
        mode,
        str(r.sessions),
        f"{ok:,}{capped}",
        str(len(r.errors)),
        fmt(r.p(50), 2),
        fmt(r.p(99), 2),
        fmt(max(r.latencies) * 1000.0, 2),
        fmt(r.throughput(), 0),
        fmt(cpu_per_call, 0),
        fmt(client_pct, 0),
        fmt(mib(r.server_rss_kb)) if r.server_rss_kb else "n/a",
    ]
    return "| " + " | ".join(cells) + " |"


def targets_table(ours: ProbeSeries | None, levels: list[tuple[str, LevelResult]]) -> str:
    rows = []
    have = ours is not None and bool(ours.runs)
    init = ours.median_init() if have else float("nan")
    rss = mib(ours.median_rss()) if have else float("nan")
    init_goal, rss_goal = f"≤ {TARGET_INIT_MS:g} ms", f"≤ {TARGET_RSS_MIB:g} MiB"
    rows.append(
        _target("initialize over stdio, median from spawn", init_goal, init, TARGET_INIT_MS, "ms")
    )
    rows.append(_target("VmRSS after tools/list, median", rss_goal, rss, TARGET_RSS_MIB, "MiB"))
    at_target = [
        r for mode, r in levels if mode == "stateful" and r.sessions == TARGET_P99_SESSIONS
    ]
    p99 = at_target[0].p(99) if at_target and at_target[0].latencies else float("nan")
    label = f"HTTP tools/call p99 at {TARGET_P99_SESSIONS} sessions"
    rows.append(_target(label, f"≤ {TARGET_P99_MS:g} ms", p99, TARGET_P99_MS, "ms", 2))
    head = "| target | goal | measured | met |\n|---|---|---:|---|\n"
    return head + "\n".join(rows) + "\n"


def _target(label: str, goal: str, value: float, limit: float, unit: str, digits: int = 1) -> str:
    if math.isnan(value):
        return f"| {label} | {goal} | not measured | – |"
    met = "yes" if value <= limit else "no"
    return f"| {label} | {goal} | {fmt(value, digits)} {unit} | {met} |"
