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
    base = metrics(results[0][1]) or {}
    rows = [
        _stdio_row(server, series, base if i else {}) for i, (server, series) in enumerate(results)
    ]
    return head + "\n".join(rows) + "\n"


def metrics(series: ProbeSeries | None) -> dict[str, float] | None:
    """Medians of a server's probes; catalog sizes from its last probe (they do not vary)."""
    if series is None or not series.runs:
        return None
    last = series.runs[-1]
    return {
        "init": series.median_init(),
        "p90": series.p90_init(),
        "rss": series.median_rss(),
        "hwm": series.median_hwm(),
        "init_bytes": last.init_bytes,
        "tools": last.tools,
        "bytes": last.list_bytes,
        "per_tool": last.list_bytes / last.tools if last.tools else float("nan"),
    }


def why_not(server: Server, series: ProbeSeries | None) -> str | None:
    """Why a server has no numbers, or None when it has some."""
    if server.argv is None:
        return f"not measured: {server.reason}"
    if series is None or not series.runs:
        why = series.failures[-1] if series and series.failures else "not run"
        return f"did not start: {why[:240]}"
    return None


def _stdio_row(server: Server, series: ProbeSeries | None, b: dict) -> str:
    reason = why_not(server, series)
    if reason:
        return f"| {server.name} | {server.version} | 0 | {reason} ||||||||"
    m = metrics(series)
    runs = f"{len(series.runs)}" + (f" (+{len(series.failures)} failed)" if series.failures else "")
    cells = [
        server.name,
        server.version,
        runs,
        fmt(m["init"]) + ratio(m["init"], b.get("init")),
        fmt(m["p90"]),
        fmt(mib(m["rss"])) + ratio(m["rss"], b.get("rss")),
        fmt(mib(m["hwm"])) + ratio(m["hwm"], b.get("hwm")),
        f"{m['init_bytes']:,}" + ratio(m["init_bytes"], b.get("init_bytes")),
        str(m["tools"]),
        f"{m['bytes']:,}" + ratio(m["bytes"], b.get("bytes")),
        fmt(m["per_tool"], 0) + ratio(m["per_tool"], b.get("per_tool")),
    ]
    return "| " + " | ".join(cells) + " |"


def summary_table(results, levels: list[tuple[str, LevelResult]]) -> str:
    """The side-by-side table for the README: one column per server, ratios to ours."""
    names = [f"{server.name} {server.version}" for server, _ in results]
    head = "| | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names) + "\n"
    base = metrics(results[0][1]) or {}
    rows = [
        ("initialize after spawn, median (stdio)", "init", lambda v: f"{fmt(v)} ms"),
        ("VmRSS after tools/list, median", "rss", lambda v: f"{fmt(mib(v))} MiB"),
        ("tools", "tools", lambda v: f"{v}"),
        ("tools/list bytes", "bytes", lambda v: f"{v:,}"),
        ("tools/list bytes per tool", "per_tool", lambda v: fmt(v, 0)),
    ]
    lines = [_summary_row(label, key, show, results, base) for label, key, show in rows]
    lines.append(_summary_http(results, levels))
    return head + "\n".join(lines) + "\n"


def _summary_row(label: str, key: str, show, results, base: dict) -> str:
    cells = []
    for i, (server, series) in enumerate(results):
        m = metrics(series)
        if m is None:
            cells.append(why_not(server, series) or "n/a")
        elif i == 0 or key == "tools":
            cells.append(show(m[key]))
        else:
            cells.append(show(m[key]) + ratio(m[key], base.get(key)))
    return f"| {label} | " + " | ".join(cells) + " |"


def _summary_http(results, levels) -> str:
    at = [r for mode, r in levels if mode == "stateful" and r.sessions == TARGET_P99_SESSIONS]
    ours = "n/a"
    if at and at[0].latencies:
        ours = f"{fmt(at[0].p(50), 1)} / {fmt(at[0].p(99), 1)} ms, {fmt(at[0].throughput(), 0)}/s"
    peers = ["– (only stdio is compared)"] * (len(results) - 1)
    label = f"HTTP tools/call p50 / p99, calls/s at {TARGET_P99_SESSIONS} sessions"
    return f"| {label} | " + " | ".join([ours, *peers]) + " |"


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
